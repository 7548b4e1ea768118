"""The sender worker (``shangliang sender``): claims due copies, sends them concurrently, records each result.

Run as many as you like on any hosts: rows are claimed with SKIP LOCKED and a lease and marked SENDING with
their attempt number before WeChat is called; template sends carry client_msg_id = d<id> so a copy re-sent
after a crash is not delivered twice; one token bucket in Redis keeps the whole app under the send rate.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from bot.push_payloads import custom_text, template_data
from bot.ratelimit import TokenBucket
from bot.sender_mass import MassSender
from bot.services import Services
from bot.wechat import WeChatError
from domain import delivery, delivery_results
from domain.delivery import ACCOUNT_CHANNELS, Attempt
from domain.delivery_results import Outcome
from domain.push_content import PushContent, notice_content
from models.db import transaction

logger = logging.getLogger(__name__)

CUSTOM_FALLBACK_ERRORS = {45015, 45047}  # outside the 48-hour window, or its quota used: try a template
CONTENT_CACHE_SECONDS = 30.0
CONTENT_CACHE_SIZE = 256
FLUSH_SECONDS = 0.2  # results are recorded in batches at least this often
MAX_OUTAGE_WAIT = 30.0  # longest pause while the database or Redis is unreachable


def default_worker_id() -> str:
    """host-pid-random: unique per process, readable in the claimed_by column."""
    return f"{socket.gethostname()[:30]}-{os.getpid()}-{secrets.token_hex(2)}"


def _now() -> datetime:
    return datetime.now(UTC)


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
        self.stop_event = threading.Event()
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._contents: dict[int, tuple[float, PushContent]] = {}

    # ---- the loop -------------------------------------------------------------------------------
    def run(self, *, once: bool = False, max_wait: float = 60.0) -> Counter[str]:
        """Send until stopped; with ``once``, until nothing is left that falls due within ``max_wait`` seconds."""
        logger.info("sender %s started (%d threads)", self.worker_id, self.concurrency)
        in_flight: set[Future[Outcome | None]] = set()
        results: list[Outcome] = []
        last_flush = time.monotonic()
        outage = 0.0
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="send") as pool:
            while True:
                try:
                    if not self.stop_event.is_set():
                        self.mass.run_due(_now())
                        if len(in_flight) < self.concurrency:  # refill in batches, not one row at a time
                            for attempt in self._begin(self.concurrency * 2 - len(in_flight)):
                                in_flight.add(pool.submit(self.send, attempt))
                    if in_flight:
                        done, in_flight = wait(in_flight, timeout=FLUSH_SECONDS, return_when=FIRST_COMPLETED)
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
        now = time.monotonic()
        with self._lock:
            cached = self._contents.get(notice_id)
            if cached is not None and cached[0] > now:
                return cached[1]
        with self.services.sessions() as db:
            made = notice_content(db, notice_id, self.settings.tz)
        with self._lock:
            if len(self._contents) > CONTENT_CACHE_SIZE:
                self._contents.clear()
            self._contents[notice_id] = (now + CONTENT_CACHE_SECONDS, made)
        return made

    def _call(self, attempt: Attempt) -> dict[str, Any]:
        wechat = self.services.wechat
        content = self.content(attempt.notice_id)
        if attempt.channel == "custom":
            return wechat.post("message/custom/send", data={
                "touser": attempt.openid, "msgtype": "text", "text": {"content": custom_text(content)}})
        templates = self.settings.delivery.template_ids
        return wechat.send_template_message(
            attempt.openid, templates.get(attempt.kind) or templates["general"],
            template_data(content, self.settings.tz), client_msg_id=attempt.client_msg_id)
