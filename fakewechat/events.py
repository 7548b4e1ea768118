"""What WeChat posts back on its own: TEMPLATESENDJOBFINISH after it accepted a template message.

WeChat answers ``/cgi-bin/message/template/send`` with a msgid and, a moment later, posts to the
account's server URL (signed, and in safe mode encrypted) an event with the same ``MsgID`` and a
``Status``: ``success``, ``failed:user block`` or ``failed: system failed``. The stand-in does the
same once it knows the webhook (``attach_webhook`` or ``POST /_fake/webhook``), from one background
thread, after ``delay`` seconds, so the API call has long returned and its msgid is recorded.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask, Response, jsonify, request

from fakewechat.user import MODES, PushError, WeChatPusher

logger = logging.getLogger(__name__)

SUCCESS = "success"
USER_BLOCK = "failed:user block"
SYSTEM_FAILED = "failed: system failed"
STATUSES = (SUCCESS, USER_BLOCK, SYSTEM_FAILED)
DEFAULT_DELAY = 2.0  # seconds from the accepted send to its event: WeChat says "later"; the msgid is recorded first
ATTR = "event_poster"  # where the poster hangs on the stand-in's state


@dataclass(frozen=True)
class WebhookTarget:
    """The official account's server URL and what WeChat signs and encrypts with."""

    url: str
    token: str
    app_id: str
    encoding_aes_key: str = ""
    mode: str = "plain"
    account_id: str = "gh_shangliang"


class EventPoster:
    """One daemon thread posting queued events to the webhook after a delay, in order."""

    def __init__(self, target: WebhookTarget, delay: float = DEFAULT_DELAY) -> None:
        if target.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.target = target
        self.delay = delay
        self.pusher = WeChatPusher(target.url, target.token, target.app_id, target.encoding_aes_key,
                                   mode=target.mode, account_id=target.account_id)  # type: ignore[arg-type]
        self.statuses: dict[str, str] = {}  # openid → the Status its next events carry (default success)
        self.posted: list[dict[str, Any]] = []  # what was posted, for tests and /_fake/webhook
        self._queue: queue.Queue[tuple[float, str, int] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="fakewechat-events", daemon=True)
        self._thread.start()

    def template_accepted(self, openid: str, msgid: int) -> None:
        """Queue the TEMPLATESENDJOBFINISH of a template message WeChat just accepted."""
        self._queue.put((time.monotonic() + self.delay, openid, msgid))

    def stop(self) -> None:
        """Let the thread end after what is queued."""
        self._queue.put(None)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far was posted (tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.02)
        return False

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                due, openid, msgid = item
                time.sleep(max(0.0, due - time.monotonic()))
                self._post(openid, msgid)
            finally:
                self._queue.task_done()

    def _post(self, openid: str, msgid: int) -> None:
        status = self.statuses.get(openid, SUCCESS)
        xml = self.pusher.template_send_job_finish(openid, msgid, status)
        try:
            result = self.pusher.post(xml, openid=openid)
            http = result.status
        except (requests.RequestException, PushError) as exc:
            logger.warning("TEMPLATESENDJOBFINISH to %s not delivered: %s", self.target.url, exc)
            http = None
        self.posted.append({"openid": openid, "msgid": msgid, "status": status, "http_status": http})


def attach_webhook(state: Any, target: WebhookTarget | None, *, delay: float = DEFAULT_DELAY) -> EventPoster | None:
    """Point the stand-in's events at a webhook (None: post no events); returns the poster."""
    with state.lock:
        old = getattr(state, ATTR, None)
        poster = EventPoster(target, delay) if target is not None else None
        setattr(state, ATTR, poster)
    if old is not None:
        old.stop()
    return poster


def template_accepted(state: Any, openid: str, msgid: int) -> None:
    """Called by the template-send handler when it hands out a new msgid."""
    poster = getattr(state, ATTR, None)
    if poster is not None:
        poster.template_accepted(openid, msgid)


def register_event_control(app: Flask, state: Any) -> None:
    """``/_fake/webhook`` (GET: where events go and what was posted; POST: set it) and ``/_fake/job_status``."""

    @app.route("/_fake/webhook", methods=["GET", "POST", "DELETE"])
    def fake_webhook() -> Response:
        if request.method == "DELETE":
            attach_webhook(state, None)
            return jsonify({"ok": True})
        if request.method == "GET":
            poster = getattr(state, ATTR, None)
            if poster is None:
                return jsonify({"url": None, "posted": []})
            return jsonify({"url": poster.target.url, "mode": poster.target.mode, "posted": poster.posted[-100:]})
        data = request.get_json(silent=True, force=True)
        if not isinstance(data, dict) or not isinstance(data.get("url"), str) or not data["url"]:
            return jsonify({"error": "url, token and app_id required"}), 400  # type: ignore[return-value]
        try:
            target = WebhookTarget(url=data["url"], token=str(data.get("token") or ""),
                                   app_id=str(data.get("app_id") or state.app_id),
                                   encoding_aes_key=str(data.get("encoding_aes_key") or ""),
                                   mode=str(data.get("mode") or "plain"))
            attach_webhook(state, target, delay=float(data.get("delay", DEFAULT_DELAY)))
        except (ValueError, TypeError) as exc:
            return jsonify({"error": str(exc)}), 400  # type: ignore[return-value]
        return jsonify({"ok": True})

    @app.post("/_fake/job_status")
    def fake_job_status() -> Response:
        data = request.get_json(silent=True, force=True) or {}
        openid, status = data.get("openid"), data.get("status", SUCCESS)
        poster = getattr(state, ATTR, None)
        if not isinstance(openid, str) or not openid or status not in STATUSES:
            return jsonify({"error": f"openid and status ({', '.join(STATUSES)}) required"}), 400  # type: ignore[return-value]
        if poster is None:
            return jsonify({"error": "no webhook set (POST /_fake/webhook first)"}), 409  # type: ignore[return-value]
        poster.statuses[openid] = status
        return jsonify({"ok": True})
