"""Checks done before a message is believed: signatures, timestamps, replays, hostile XML."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from models import SeenNonce

logger = logging.getLogger(__name__)


@dataclass
class Refused(Exception):
    """The request is refused with an HTTP status before any handling."""

    status: int
    reason: str


def sha1_signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 over the sorted parts joined."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def check_signature(token: str, signature: str, timestamp: str, nonce: str) -> None:
    """Verify ``signature`` over token, timestamp and nonce in constant time."""
    expected = sha1_signature(token, timestamp, nonce)
    if not signature or not hmac.compare_digest(expected, signature.lower()):
        raise Refused(403, "bad signature")


def check_msg_signature(token: str, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
    """Verify the safe-mode ``msg_signature`` (which also covers the ciphertext)."""
    expected = sha1_signature(token, timestamp, nonce, encrypt)
    if not msg_signature or not hmac.compare_digest(expected, msg_signature.lower()):
        raise Refused(403, "bad msg_signature")


def check_timestamp(timestamp: str, tolerance: int, now: float | None = None) -> None:
    """Refuse a timestamp that is not a number or lies too far from now."""
    try:
        value = int(timestamp)
    except ValueError:
        raise Refused(403, "bad timestamp") from None
    if abs((now or time.time()) - value) > tolerance:
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


class ReplayGuard:
    """Remembers (timestamp, nonce) pairs: the same pair with another body is a replay."""

    def __init__(self, redis: Redis, sessions: sessionmaker[Session], key_prefix: str, window: int) -> None:
        self.redis = redis
        self.sessions = sessions
        self.key_prefix = key_prefix
        self.window = window * 2 + 60

    def key(self, timestamp: str, nonce: str) -> str:
        """The Redis key remembering a pair."""
        return f"{self.key_prefix}nonce:{timestamp}:{nonce}"

    def check(self, timestamp: str, nonce: str, digest: str) -> None:
        """Raise Refused(403) when the pair was seen with a different body digest."""
        try:
            if self.redis.set(self.key(timestamp, nonce), digest, nx=True, ex=self.window):
                return
            self.compare(timestamp, nonce, digest)
        except RedisError:
            self.check_in_database(timestamp, nonce, digest)

    def compare(self, timestamp: str, nonce: str, digest: str) -> None:
        """The pair is known: refuse unless it came with the same body."""
        seen = self.redis.get(self.key(timestamp, nonce))
        if seen is not None and not hmac.compare_digest(seen.decode(), digest):
            raise Refused(403, "replayed timestamp and nonce")

    def check_in_database(self, timestamp: str, nonce: str, digest: str) -> None:
        """The same check on a table, for when Redis is down."""
        with self.sessions.begin() as db:
            db.execute(
                insert(SeenNonce)
                .values(timestamp=timestamp, nonce=nonce[:64], body_hash=digest, seen_at=datetime.now(UTC))
                .on_conflict_do_nothing()
            )
            row = db.get(SeenNonce, (timestamp, nonce[:64]))
        if row is not None and not hmac.compare_digest(row.body_hash, digest):
            raise Refused(403, "replayed timestamp and nonce")


def body_digest(body: bytes) -> str:
    """The digest a (timestamp, nonce) pair is remembered with."""
    return hashlib.sha256(body).hexdigest()
