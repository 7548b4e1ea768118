"""In-memory state of the fake WeChat API: tokens, users, tags, recorded calls, faults."""

from __future__ import annotations

import copy
import itertools
import json
import logging
import secrets
import threading
import time
from collections import Counter, deque
from typing import Any

from fakewechat.directory import Directory
from fakewechat.faults import Fault, fault_from_spec

logger = logging.getLogger(__name__)

SEND_PATHS = (
    "/cgi-bin/message/custom/send",
    "/cgi-bin/message/template/send",
    "/cgi-bin/message/subscribe/bizsend",
    "/cgi-bin/message/subscribe/send",
)
MASS_PATHS = ("/cgi-bin/message/mass/sendall", "/cgi-bin/message/mass/send")
TOKEN_DAILY_QUOTA = 2000


class FakeWeChatState:
    """Everything the fake remembers; every public method is thread-safe."""

    def __init__(self, app_id: str, app_secret: str, *, token_ttl: int = 7200,
                 record_path: str | None = None) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.token_ttl = token_ttl
        self.record_path = record_path
        self.lock = threading.RLock()
        self._wake = threading.Event()
        self._seq = 0
        self._calls: list[dict[str, Any]] = []
        self._faults: list[Fault] = []
        self._fault_ids = itertools.count(1)
        self._tokens: dict[str, float] = {}
        self._recent_tokens: deque[str] = deque(maxlen=2)
        self._stable_tokens: deque[str] = deque(maxlen=2)
        self.token_fetches = 0
        self.boot = secrets.token_hex(6)  # tells a client that the stand-in restarted (its seq started over)
        self._ids = itertools.count(int(time.time()) * 1000)
        self._reset_data()

    def _reset_data(self) -> None:
        self.directory = Directory()
        self.menu: dict[str, Any] | None = None
        self.conditional_menus: list[dict[str, Any]] = []  # oldest first, each with its menuid
        self.media: dict[str, dict[str, Any]] = {}
        self.qrcodes: dict[str, dict[str, Any]] = {}
        self.template_client_ids: dict[str, int] = {}
        self.mass_client_ids: dict[str, int] = {}

    def reset(self) -> None:
        """Forget calls, faults, users, tags, menu, media; issued tokens stay valid, seq keeps counting."""
        with self.lock:
            self._calls.clear()
            self._clear_faults_locked()
            self._reset_data()

    def next_id(self) -> int:
        """A fresh, unique, ever-increasing integer id (msgid, msg_id, ...)."""
        with self.lock:
            return next(self._ids)

    # ---- access tokens -------------------------------------------------------------------------

    def _new_token(self) -> str:
        token = secrets.token_urlsafe(102)
        self._tokens[token] = time.time() + self.token_ttl
        return token

    def issue_token(self) -> dict[str, Any]:
        """`/cgi-bin/token`: a new token each call; the previous one stays valid too."""
        with self.lock:
            self.token_fetches += 1
            if self.token_fetches > TOKEN_DAILY_QUOTA:
                return {"errcode": 45009, "errmsg": "reach max api daily quota limit"}
            token = self._new_token()
            self._recent_tokens.append(token)
            return {"access_token": token, "expires_in": self.token_ttl}

    def stable_token(self, force_refresh: bool) -> dict[str, Any]:
        """`/cgi-bin/stable_token`: the same token while valid, renewed near expiry or when forced."""
        with self.lock:
            early = min(300.0, self.token_ttl / 24)
            now = time.time()
            current = self._stable_tokens[-1] if self._stable_tokens else None
            if current is None or force_refresh or self._tokens[current] - now <= early:
                current = self._new_token()
                self._stable_tokens.append(current)
            return {"access_token": current, "expires_in": max(1, int(self._tokens[current] - now))}

    def check_token(self, token: str | None) -> int:
        """0 if `token` is usable, else WeChat's errcode (41001 missing, 42001 expired, 40001 otherwise)."""
        if not token:
            return 41001
        with self.lock:
            expires_at = self._tokens.get(token)
            if expires_at is None:
                return 40001
            if expires_at <= time.time():
                return 42001
            if token not in self._recent_tokens and token not in self._stable_tokens:
                return 40001
            return 0

    def expire_tokens(self) -> None:
        """Make every issued token expired (next use answers 42001)."""
        with self.lock:
            past = time.time() - 1
            for token in self._tokens:
                self._tokens[token] = past

    # ---- recording ----------------------------------------------------------------------------

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Store one call (adds `seq` and `time`), and append it to the record file if any."""
        with self.lock:
            self._seq += 1
            entry = {"seq": self._seq, "time": time.time(), **entry}
            self._calls.append(entry)
            if self.record_path:
                try:
                    with open(self.record_path, "a", encoding="utf-8") as handle:
                        handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
                except OSError:
                    logger.exception("cannot append to record file %s", self.record_path)
            return copy.deepcopy(entry)

    @property
    def last_seq(self) -> int:
        """The seq of the most recent call (0 if none yet)."""
        with self.lock:
            return self._seq

    def calls(self, path: str | None = None, openid: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        """Recorded calls, optionally only to `path`, targeting `openid`, or with seq > `since`."""
        with self.lock:
            found = [
                c for c in self._calls
                if c["seq"] > since and (path is None or c["path"] == path)
                and (openid is None or c.get("openid") == openid or openid in c.get("openids", ()))
            ]
            return copy.deepcopy(found)

    def messages_to(self, openid: str, *, include_mass: bool = False) -> list[dict[str, Any]]:
        """Bodies of successful custom/template/subscribe sends to `openid`, in order (duplicates skipped)."""
        paths = SEND_PATHS + MASS_PATHS if include_mass else SEND_PATHS
        return [
            c["body"] for c in self.calls(openid=openid)
            if c["path"] in paths and c.get("errcode") == 0 and not c.get("duplicate")
        ]

    def stats(self) -> dict[str, Any]:
        """Counts per path, errors per path, token fetches and the last seq."""
        with self.lock:
            per_path = Counter(c["path"] for c in self._calls)
            errors = Counter(c["path"] for c in self._calls if c.get("errcode") not in (0, None))
            return {
                "total": len(self._calls), "last_seq": self._seq, "token_fetches": self.token_fetches,
                "paths": dict(per_path), "errors": dict(errors), "boot": self.boot,
            }

    # ---- faults -------------------------------------------------------------------------------

    def add_fault(self, path: str = "*", errcode: int | None = None, *, times: int | None = None,
                  ratio: float | None = None, seed: int | None = None, delay_ms: int = 0,
                  timeout: bool = False, errmsg: str | None = None,
                  http_status: int | None = None) -> Fault:
        """Inject a fault (same fields as `POST /_fake/faults`); returns it."""
        spec = {
            "path": path, "errcode": errcode, "times": times, "ratio": ratio, "seed": seed,
            "delay_ms": delay_ms, "timeout": timeout, "errmsg": errmsg, "http_status": http_status,
        }
        return self.add_fault_spec(spec)

    def add_fault_spec(self, spec: dict[str, Any]) -> Fault:
        """Inject a fault from its JSON description; raises FaultSpecError if malformed."""
        with self.lock:
            fault = fault_from_spec(next(self._fault_ids), spec)
            self._faults.append(fault)
            logger.info("fake WeChat fault added: %s", fault.describe())
            return fault

    def pick_fault(self, path: str) -> Fault | None:
        """The first fault that fires for a call to `path` (consuming one of its uses), or None."""
        with self.lock:
            picked = next((f for f in self._faults if f.matches(path) and f.fire()), None)
            self._faults = [f for f in self._faults if not f.exhausted()]
            return picked

    def faults(self) -> list[dict[str, Any]]:
        """Descriptions of the active faults."""
        with self.lock:
            return [f.describe() for f in self._faults if not f.exhausted()]

    def _clear_faults_locked(self) -> None:
        self._faults.clear()
        self._wake.set()
        self._wake = threading.Event()

    def clear_faults(self) -> None:
        """Remove every fault and wake calls currently sleeping in a delay."""
        with self.lock:
            self._clear_faults_locked()

    def sleep(self, delay_ms: int) -> None:
        """Sleep for a fault delay; cut short by clear_faults() or reset()."""
        with self.lock:
            wake = self._wake
        wake.wait(delay_ms / 1000)

    # ---- users and media ----------------------------------------------------------------------

    def unfollow(self, openid: str) -> None:
        """Mark `openid` as having unfollowed: sends to it then answer 43004."""
        with self.lock:
            self.directory.set_following(openid, False)

    def follow(self, openid: str) -> None:
        """Mark `openid` as following again."""
        with self.lock:
            self.directory.set_following(openid, True)

    def media_bytes(self, media_id: str) -> bytes | None:
        """The bytes uploaded under `media_id`, or None."""
        with self.lock:
            item = self.media.get(media_id)
            return None if item is None else item["data"]
