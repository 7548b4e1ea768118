"""Exactly-once handling of WeChat's retries.

Redis is the fast path (claim a key, publish the reply, let retries wait for it); the unique
``inbound_messages.dedup_key`` in the database is the guarantee when Redis is down.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.security import Refused, ReplayGuard
from models import InboundMessage

logger = logging.getLogger(__name__)

PROCESSING = b"\x00processing"
NO_REPLY = ""
PRIVATE_CACHE_SECONDS = 60  # WeChat retries within ~15 s


def dedup_key(message: Any) -> str:
    """MsgId for messages; FromUserName + CreateTime + Event (+ key) for events."""
    source = message.source
    raw = getattr(message, "_data", {}) or {}
    if message.type == "event" or str(raw.get("MsgType", "")).lower() == "event":  # unknown events too
        event = (raw.get("Event") or getattr(message, "event", "") or "").lower()
        extra = raw.get("MsgID") or raw.get("EventKey") or ""
        return f"e:{source}:{message.time}:{event}:{extra}"[:200]
    return f"m:{source}:{message.time}:{message.id}"[:200]


class Deduplicator:
    """Claims message keys and stores their replies for retries."""

    def __init__(self, redis: Redis, sessions: sessionmaker[Session], key_prefix: str,
                 wait_seconds: float, cache_seconds: int) -> None:
        self.redis = redis
        self.sessions = sessions
        self.prefix = key_prefix + "dedup:"
        self.wait_seconds = wait_seconds
        self.cache_seconds = cache_seconds

    def admit(self, key: str, replay: ReplayGuard, timestamp: str, nonce: str, digest: str) -> tuple[bool, str | None]:
        """Replay check and claim in one Redis round trip.

        (True, None): go ahead; (False, reply): an earlier attempt answered (or still runs).
        Raises Refused for a replay. With Redis down, both fall back to the database.
        """
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.set(replay.key(timestamp, nonce), digest, nx=True, ex=replay.window)
            pipe.set(self.prefix + key, PROCESSING, nx=True, ex=30)
            fresh_pair, claimed = pipe.execute()
            if not fresh_pair:
                try:
                    replay.compare(timestamp, nonce, digest)
                except Refused:
                    if claimed:
                        self.release(key)
                    raise
            if claimed:
                return True, None
            value = self.redis.get(self.prefix + key)
        except RedisError:
            logger.warning("redis unreachable: relying on the database for replay and dedup")
            replay.check_in_database(timestamp, nonce, digest)
            return True, None
        if value is not None and value != PROCESSING:
            return False, value.decode("utf-8")
        return False, self._wait(key)

    def _wait(self, key: str) -> str:
        """A retry while the first attempt runs: wait briefly for its reply."""
        deadline = time.monotonic() + self.wait_seconds
        while time.monotonic() < deadline:
            time.sleep(0.05)
            try:
                value = self.redis.get(self.prefix + key)
            except RedisError:
                break
            if value is None:
                break  # the first attempt failed and released the key
            if value != PROCESSING:
                return value.decode("utf-8")
        stored = self.stored_reply(key)
        return stored if stored is not None else NO_REPLY

    def stored_reply(self, key: str) -> str | None:
        """The reply recorded in the database for a handled key, if any."""
        with self.sessions() as db:
            return db.scalar(select(InboundMessage.reply).where(InboundMessage.dedup_key == key))

    def publish(self, key: str, reply: str, *, private: bool = False) -> None:
        """Make the reply available to retries (a private one only for WeChat's retry window)."""
        try:
            ttl = PRIVATE_CACHE_SECONDS if private else self.cache_seconds
            self.redis.set(self.prefix + key, reply.encode("utf-8"), ex=ttl)
        except RedisError:
            logger.warning("redis unreachable: retries will read the reply from the database")

    def release(self, key: str) -> None:
        """Forget a claim whose handling failed, so nothing waits on it."""
        try:
            self.redis.delete(self.prefix + key)
        except RedisError:
            logger.warning("redis unreachable: claim left to expire")
