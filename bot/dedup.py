"""Exactly-once handling of WeChat's retries.

Redis is the fast path (claim a key, publish the reply, let retries wait for it); the unique
``inbound_messages.dedup_key`` in the database is the guarantee when Redis is down.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.replies import PRIVATE_PLACEHOLDER
from bot.security import Refused, ReplayGuard
from models import InboundMessage

logger = logging.getLogger(__name__)

PROCESSING = b"\x00processing"
NO_REPLY = ""
PRIVATE_CACHE_SECONDS = 60  # WeChat retries within ~15 s
MEMORY_SECONDS = 60  # a Redis that lost its data (restart, flush) less than this ago may have lost a claim


def dedup_key(message: Any) -> str:
    """MsgId for messages; FromUserName + CreateTime + Event (+ key) for events."""
    source = message.source
    raw = getattr(message, "_data", {}) or {}
    if message.type == "event" or str(raw.get("MsgType", "")).lower() == "event":  # unknown events too
        event = (raw.get("Event") or getattr(message, "event", "") or "").lower()
        extra = raw.get("MsgID") or raw.get("EventKey") or ""
        return f"e:{source}:{message.time}:{event}:{extra}"[:200]
    return f"m:{source}:{message.time}:{message.id}"[:200]


@dataclass(frozen=True)
class Admission:
    """What admission decided for one message."""

    go: bool  # handle it now
    earlier: str | None = None  # when not: the reply of the attempt that did
    by_redis: bool = False  # Redis holds the claim (else the database's unique key is the only guard)
    peeked: bytes | None = None  # the value of the key asked to peek at, read in the same round trip
    redis_remembers: bool = False  # Redis has kept its data for longer than WeChat retries a message


class Deduplicator:
    """Claims message keys and stores their replies for retries."""

    def __init__(self, redis: Redis, sessions: sessionmaker[Session], key_prefix: str,
                 wait_seconds: float, cache_seconds: int) -> None:
        self.redis = redis
        self.sessions = sessions
        self.prefix = key_prefix + "dedup:"
        self.epoch_key = key_prefix + "dedup-epoch"  # when this Redis started remembering claims
        self.wait_seconds = wait_seconds
        self.cache_seconds = cache_seconds

    def admit(self, key: str, replay: ReplayGuard, timestamp: str, nonce: str, digest: str,
              peek: str | None = None) -> Admission:
        """Replay check, claim and a peek at one more key (the sender's dialog), in one Redis round trip.

        Raises Refused for a replay Redis knows of. The database checks every pair again in the handler's
        transaction, so with Redis down, or emptied by a restart, both checks still hold.
        """
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.set(replay.key(timestamp, nonce), digest, nx=True, ex=replay.window)
            pipe.set(self.prefix + key, PROCESSING, nx=True, ex=30)
            pipe.set(self.epoch_key, int(time.time()), nx=True)
            pipe.get(self.epoch_key)
            if peek is not None:
                pipe.get(peek)
            fresh_pair, claimed, _, epoch, *peeked = pipe.execute()
            if not fresh_pair:
                try:
                    replay.compare(timestamp, nonce, digest)
                except Refused:
                    if claimed:
                        self.release(key)
                    raise
            if claimed:
                remembers = epoch is not None and time.time() - int(epoch) >= MEMORY_SECONDS
                return Admission(True, by_redis=True, peeked=peeked[0] if peeked else None, redis_remembers=remembers)
            value = self.redis.get(self.prefix + key)
        except RedisError:
            logger.warning("redis unreachable: relying on the database for replay and dedup")
            return Admission(True)  # the handler's transaction records the pair (ReplayGuard.record)
        if value is not None and value != PROCESSING:
            return Admission(False, value.decode("utf-8"))
        return Admission(False, self._wait(key))

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
        """Make the reply available to retries; a private one (a receipt) only as a placeholder.

        Redis writes every value to its append-only file, next to the key that names the openid: a
        ballot's choice or receipt stored here would link the voter to their ballot on disk.
        """
        try:
            ttl = PRIVATE_CACHE_SECONDS if private else self.cache_seconds
            stored = PRIVATE_PLACEHOLDER if private else reply
            self.redis.set(self.prefix + key, stored.encode("utf-8"), ex=ttl)
        except RedisError:
            logger.warning("redis unreachable: retries will read the reply from the database")

    def release(self, key: str) -> None:
        """Forget a claim whose handling failed, so nothing waits on it."""
        try:
            self.redis.delete(self.prefix + key)
        except RedisError:
            logger.warning("redis unreachable: claim left to expire")
