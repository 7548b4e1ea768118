"""The sender worker (``shangliang sender``): claims due copies, sends them concurrently, records each result.

Run as many as you like on any hosts: rows are claimed with SKIP LOCKED and a lease and marked SENDING with
their attempt number before WeChat is called; template sends carry client_msg_id = d<id> so a copy re-sent
after a crash is not delivered twice; one token bucket in Redis keeps the whole app under the send rate.
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import socket
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from requests.adapters import DEFAULT_POOLSIZE, HTTPAdapter
from sqlalchemy.exc import SQLAlchemyError

from bot.push_payloads import custom_text, template_data, template_message
from bot.ratelimit import TokenBucket
from bot.sender_mass import MassSender
from bot.services import Services
from bot.wechat import WeChatError
from domain.notices import delivery, delivery_results
from domain.notices.content import PushContent, notice_content
from domain.notices.delivery import ACCOUNT_CHANNELS, Attempt
from domain.notices.delivery_results import Outcome
from models.db import transaction

logger = logging.getLogger(__name__)

CUSTOM_FALLBACK_ERRORS = {45015, 45047}  # outside the 48-hour window, or its quota used: try a template
CONTENT_CACHE_SECONDS = 30.0
CONTENT_CACHE_SIZE = 256
FLUSH_SECONDS = 0.2  # results are recorded in batches at least this often
MAX_OUTAGE_WAIT = 30.0  # longest pause while the database or Redis is unreachable
TOKEN_REUSE_SECONDS = 1.0  # the access token is read from Redis at most this often per process


def default_worker_id() -> str:
    """host-pid-random: unique per process, readable in the claimed_by column."""
    return f"{socket.gethostname()[:30]}-{os.getpid()}-{secrets.token_hex(2)}"


def _now() -> datetime:
    return datetime.now(UTC)


def _take_finished(finished: queue.SimpleQueue[Future[Outcome | None]], timeout: float) -> list[Future[Outcome | None]]:
    """The sends finished so far, waiting up to ``timeout`` for the first one (O(1) per send, unlike wait())."""
    try:
        done = [finished.get(timeout=timeout)]
    except queue.Empty:
        return []
    while True:
        try:
            done.append(finished.get_nowait())
        except queue.Empty:
            return done


def keep_connections(services: Services, threads: int) -> None:
    """One kept-alive HTTP connection per sending thread (requests keeps 10: the rest reconnected every call)."""
    http = services.wechat._http  # wechatpy's requests.Session (shared with the web threads under `serve`)
    for scheme in ("http://", "https://"):
        http.mount(scheme, HTTPAdapter(pool_connections=4, pool_maxsize=max(threads + 1, DEFAULT_POOLSIZE)))


@dataclass(frozen=True)
class NoticePayloads:
    """What every recipient of a notice is sent, composed once: the words, the template data, the full text."""

    content: PushContent
    template: dict[str, dict[str, Any]]
    custom: str


class Sender:
    """One sender process: a claiming loop feeding a pool of sending threads, recording results in batches."""

    def __init__(self, services: Services, *, worker_id: str | None = None, concurrency: int | None = None) -> None:
        self.services = services
        self.settings = services.settings
        self.worker_id = (worker_id or default_worker_id())[:64]
        self.concurrency = concurrency or self.settings.delivery.concurrency
        d = self.settings.delivery
        self.bucket = TokenBucket(services.redis, services.rkey("ratelimit", "wechat-send"), d.rate_per_second,
                                  d.rate_burst)
        self.mass = MassSender(services, self.bucket, self.worker_id)
        keep_connections(services, self.concurrency)
        self.stop_event = threading.Event()
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._composing = threading.Lock()
        self._contents: dict[int, tuple[float, NoticePayloads]] = {}
        self._access: tuple[str, float] = ("", 0.0)

    # ---- the loop -------------------------------------------------------------------------------
    def run(self, *, once: bool = False, max_wait: float = 60.0) -> Counter[str]:
        """Send until stopped; with ``once``, until nothing is left that falls due within ``max_wait`` seconds."""
        logger.info("sender %s started (%d threads)", self.worker_id, self.concurrency)
        finished: queue.SimpleQueue[Future[Outcome | None]] = queue.SimpleQueue()  # sends done, in order
        in_flight = 0
        results: list[Outcome] = []
        last_flush = time.monotonic()
        outage = 0.0
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="send") as pool:
            while True:
                try:
                    if not self.stop_event.is_set():
                        self.mass.run_due(_now())
                        if in_flight < self.concurrency:  # refill in batches, not one row at a time
                            for attempt in self._begin(self.concurrency * 2 - in_flight):
                                pool.submit(self.send, attempt).add_done_callback(finished.put)
                                in_flight += 1
                    if in_flight:
                        done = _take_finished(finished, FLUSH_SECONDS)
                        in_flight -= len(done)
                        results += [o for o in (self._result(f) for f in done) if o is not None]
                    if results and (not in_flight or time.monotonic() - last_flush >= FLUSH_SECONDS):
                        self._record(results)
                        results, last_flush = [], time.monotonic()
                    if in_flight:
                        continue
                    if self.stop_event.is_set() or (once and self._drained(max_wait)):
                        break
                    outage = 0.0
                except (SQLAlchemyError, RedisError) as exc:
                    # Database or Redis away: keep unrecorded results (their rows stay SENDING under lease) and retry.
                    outage = min(max(outage * 2, self.settings.delivery.poll_seconds), MAX_OUTAGE_WAIT)
                    logger.warning("sender %s: %s; trying again in %.1fs", self.worker_id, type(exc).__name__, outage)
                    if self.stop_event.wait(outage) and not in_flight and not results:
                        break
                    continue
                self.stop_event.wait(self.settings.delivery.poll_seconds)
        logger.info("sender %s stopped: %s", self.worker_id, dict(self.counts))
        return self.counts

    def stop(self) -> None:
        """Stop claiming; sends under way finish and are recorded."""
        self.stop_event.set()

    def _begin(self, room: int) -> list[Attempt]:
        batch = min(room, self.settings.delivery.batch_size)
        with transaction(self.services.sessions) as db:
            return delivery.claim_and_begin(db, worker=self.worker_id, now=_now(), settings=self.settings,
                                            batch=batch)

    def _result(self, future: Future[Outcome | None]) -> Outcome | None:
        try:
            return future.result()
        except Exception:  # noqa: BLE001 - a bug in one send must not stop the others; its lease will run out
            logger.exception("a send failed unexpectedly")
            return None

    def _record(self, results: list[Outcome]) -> None:
        with transaction(self.services.sessions) as db:
            counts = delivery_results.record_outcomes(db, results, worker=self.worker_id, now=_now(),
                                                      settings=self.settings)
        with self._lock:
            self.counts.update(counts)

    def _drained(self, max_wait: float) -> bool:
        with self.services.sessions() as db:
            left, earliest = delivery_results.outstanding(db, _now())
        if left == 0:
            return True
        return earliest is not None and (earliest - _now()).total_seconds() > max_wait

    # ---- one copy -------------------------------------------------------------------------------
    def send(self, attempt: Attempt) -> Outcome:
        """Call WeChat for one attempt (falling back from customer-service to template when WeChat says so)."""
        self.bucket.acquire()
        try:
            answer = self._call(attempt)
        except WeChatError as exc:
            if attempt.channel == "custom" and exc.errcode in CUSTOM_FALLBACK_ERRORS \
                    and "template" in ACCOUNT_CHANNELS.get(self.settings.wechat.account_type, ()):
                with transaction(self.services.sessions) as db:
                    fallback = delivery_results.switch_channel(db, attempt, worker=self.worker_id, channel="template")
                if fallback is not None:
                    return self.send(fallback)
            logger.info("delivery %s attempt %s via %s: %s", attempt.delivery_id, attempt.attempt, attempt.channel, exc)
            return Outcome(attempt, ok=False, errcode=exc.errcode, errmsg=exc.errmsg, retryable=exc.retryable)
        msgid = answer.get("msgid")
        return Outcome(attempt, ok=True, msgid=str(msgid) if msgid is not None else None)

    def content(self, notice_id: int) -> PushContent:
        """A notice's words, composed once per notice for a while (every recipient gets the same)."""
        return self._payloads(notice_id).content

    def _payloads(self, notice_id: int) -> NoticePayloads:
        cached = self._cached(notice_id)
        if cached is not None:
            return cached
        with self._composing:  # one thread composes, the others wait: not one database connection per thread
            cached = self._cached(notice_id)
            if cached is not None:
                return cached
            with self.services.sessions() as db:
                made = notice_content(db, notice_id, self.settings.tz)
            payloads = NoticePayloads(made, template_data(made, self.settings.tz), custom_text(made))
            with self._lock:
                if len(self._contents) > CONTENT_CACHE_SIZE:
                    self._contents.clear()
                self._contents[notice_id] = (time.monotonic() + CONTENT_CACHE_SECONDS, payloads)
            return payloads

    def _cached(self, notice_id: int) -> NoticePayloads | None:
        with self._lock:
            cached = self._contents.get(notice_id)
        return cached[1] if cached is not None and cached[0] > time.monotonic() else None

    def _token(self) -> str:
        """The shared access token, read from Redis at most once a second (a rejected one is refreshed by
        bot/wechat.py and the call retried once)."""
        token, until = self._access
        if token and time.monotonic() < until:
            return token
        token = self.services.wechat.access_token
        self._access = (token, time.monotonic() + TOKEN_REUSE_SECONDS)
        return token

    def _call(self, attempt: Attempt) -> dict[str, Any]:
        wechat = self.services.wechat
        payloads = self._payloads(attempt.notice_id)
        params = {"access_token": self._token()}
        if attempt.channel == "custom":
            return wechat.post("message/custom/send", params=params, data={
                "touser": attempt.openid, "msgtype": "text", "text": {"content": payloads.custom}})
        templates = self.settings.delivery.template_ids
        body = template_message(attempt.openid, templates.get(attempt.kind) or templates["general"], payloads.template,
                                client_msg_id=attempt.client_msg_id)
        return wechat.post("message/template/send", params=params, data=body)
