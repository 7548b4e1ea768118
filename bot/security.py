"""Checks done before a message is believed: signatures, timestamps, replays, hostile XML."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from models import SeenNonce
from models.db import WROTE

logger = logging.getLogger(__name__)


@dataclass
class Refused(Exception):
    """The request is refused with an HTTP status before any handling."""

    status: int
    reason: str


def sha1_signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 over the sorted parts joined."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


# The shape of every query value WeChat sends; anything else is refused before it is used.
_QUERY_SHAPES = {
    "signature": re.compile(r"[0-9a-fA-F]{40}"),
    "msg_signature": re.compile(r"[0-9a-fA-F]{40}"),
    "timestamp": re.compile(r"[1-9][0-9]{0,19}"),
    "nonce": re.compile(r"[0-9A-Za-z_-]{1,64}"),
    "echostr": re.compile(r"[0-9A-Za-z+/=_-]{1,512}"),
    "openid": re.compile(r"[0-9A-Za-z_-]{1,64}"),
    "encrypt_type": re.compile(r"aes|raw", re.IGNORECASE),
}
_REFUSAL = {"signature": 403, "msg_signature": 403, "timestamp": 403, "nonce": 403}


def check_query(args: Mapping[str, str]) -> None:
    """Refuse any known query value that is not shaped as WeChat sends it (403 for signed parts, else 400)."""
    for name, shape in _QUERY_SHAPES.items():
        value = args.get(name)
        if value is None or (value == "" and name in ("echostr", "openid", "encrypt_type")):
            continue
        if not shape.fullmatch(value):
            raise Refused(_REFUSAL.get(name, 400), f"malformed {name}")


def _same(expected: str, given: str) -> bool:
    """Constant-time comparison that never raises, whatever the given text holds."""
    return hmac.compare_digest(expected.encode("ascii"), given.lower().encode("utf-8", "replace"))


def check_signature(token: str, signature: str, timestamp: str, nonce: str) -> None:
    """Verify ``signature`` over token, timestamp and nonce in constant time."""
    expected = sha1_signature(token, timestamp, nonce)
    if not signature or not _same(expected, signature):
        raise Refused(403, "bad signature")


def check_msg_signature(token: str, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
    """Verify the safe-mode ``msg_signature`` (which also covers the ciphertext)."""
    expected = sha1_signature(token, timestamp, nonce, encrypt)
    if not msg_signature or not _same(expected, msg_signature):
        raise Refused(403, "bad msg_signature")


def check_timestamp(timestamp: str, tolerance: int, now: float | None = None) -> None:
    """Refuse a timestamp that is not a plain number or lies too far from now."""
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 20):
        raise Refused(403, "bad timestamp")
    if abs((now or time.time()) - int(timestamp)) > tolerance:
        raise Refused(403, "timestamp out of range")


def parse_safely(body: bytes) -> Element:
    """Parse XML with DTDs and entities forbidden; the root must be <xml>."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "body is not UTF-8") from None
    if not text.strip():
        raise Refused(400, "empty body")
    try:
        root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise Refused(400, "XML with DTD or entities") from None
    except (ParseError, ValueError):
        raise Refused(400, "not well-formed XML") from None
    if root.tag != "xml":
        raise Refused(400, "root element is not <xml>")
    return root


# Built once: building a statement costs more than running it.
_RECORD = (insert(SeenNonce)
           .values(timestamp=bindparam("ts"), nonce=bindparam("nonce"), body_hash=bindparam("digest"),
                   seen_at=bindparam("at"))
           .on_conflict_do_nothing()
           .returning(SeenNonce.timestamp))
_SEEN = select(SeenNonce.body_hash).where(SeenNonce.timestamp == bindparam("ts"), SeenNonce.nonce == bindparam("nonce"))


class ReplayGuard:
    """Remembers (timestamp, nonce) pairs: the same pair with another body is a replay.

    Redis answers first (a fast refusal); the table ``seen_nonces`` is the guarantee. Every pair is recorded
    there in the transaction of its message, so a Redis that restarts empty, or was down when the pair
    first came, forgets nothing. Rows older than the window are pruned now and then.
    """

    PRUNE_EVERY_SECONDS = 60.0

    def __init__(self, redis: Redis, sessions: sessionmaker[Session], key_prefix: str, window: int) -> None:
        self.redis = redis
        self.sessions = sessions
        self.key_prefix = key_prefix
        self.window = window * 2 + 60
        self._pruned_at = 0.0

    def key(self, timestamp: str, nonce: str) -> str:
        """The Redis key remembering a pair."""
        return f"{self.key_prefix}nonce:{timestamp}:{nonce}"

    def compare(self, timestamp: str, nonce: str, digest: str) -> None:
        """The pair is known to Redis: refuse unless it came with the same body."""
        seen = self.redis.get(self.key(timestamp, nonce))
        if seen is not None and not hmac.compare_digest(seen, digest.encode("ascii")):
            raise Refused(403, "replayed timestamp and nonce")

    def record(self, db: Session, timestamp: str, nonce: str, digest: str) -> None:
        """Record the pair in the caller's transaction; Refused(403) when it came before with another body.

        Must be the transaction's first statement: the row is bookkeeping, not an effect of the message,
        so it does not count as a write (a question like 我的议题 still needs no inbound row).
        """
        conn = db.connection()
        wrote = conn.info.get(WROTE, False)
        pair = {"ts": timestamp, "nonce": nonce}
        added = db.execute(_RECORD, {**pair, "digest": digest, "at": datetime.now(UTC)}).first()
        conn.info[WROTE] = wrote
        if added is not None:
            return
        seen = db.scalar(_SEEN, pair)
        if seen is not None and not hmac.compare_digest(seen.encode("ascii"), digest.encode("ascii")):
            try:  # Redis (emptied) took the replay's digest for this pair: give it the first one back
                self.redis.set(self.key(timestamp, nonce), seen, ex=self.window)
            except RedisError:
                pass
            raise Refused(403, "replayed timestamp and nonce")

    def prune(self, now: float | None = None) -> None:
        """Delete pairs older than the window, at most once a minute per process."""
        now = now or time.time()
        if now - self._pruned_at < self.PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = now
        cutoff = str(int(now) - self.window)  # WeChat's timestamps are 10 digits: text order is number order
        try:
            with self.sessions.begin() as db:
                db.execute(delete(SeenNonce).where(SeenNonce.timestamp < cutoff))
        except SQLAlchemyError:  # pruning is housekeeping; the next minute tries again
            logger.warning("could not prune seen_nonces", exc_info=True)


def body_digest(body: bytes) -> str:
    """The digest a (timestamp, nonce) pair is remembered with."""
    return hashlib.sha256(body).hexdigest()
