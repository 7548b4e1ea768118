"""The app-wide send rate: one token bucket in Redis (a Lua script), shared by every sender on every host."""

from __future__ import annotations

import logging
import threading
import time

from redis import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

MAX_CHUNK = 20  # tokens a process takes from Redis at once (at high rates)
HOLD_SECONDS = 1.0  # tokens taken but unused are dropped after this

# Refill by Redis's own clock (TIME), take ``want`` tokens if there are enough, else say how long to wait.
TOKEN_BUCKET_LUA = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) / 1000000 * rate)
local wait_us = 0
if tokens >= want then
  tokens = tokens - want
else
  wait_us = math.ceil((want - tokens) / rate * 1000000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return wait_us
"""


class LocalBucket:
    """The same bucket in this process only (used while Redis is unreachable)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens, self.stamp = float(burst), time.monotonic()
        self.lock = threading.Lock()

    def take(self, want: int = 1) -> float:
        """Take tokens now (returns 0) or return the seconds to wait."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= want:
                self.tokens -= want
                return 0.0
            return (want - self.tokens) / self.rate


class TokenBucket:
    """``acquire()`` blocks until the app may make one more WeChat call.

    At high rates a process takes a few tokens per Redis call and hands them out locally for up to a
    second, so the bucket costs one round trip per several sends rather than one per send.
    """

    def __init__(self, redis: Redis, key: str, rate: float, burst: int) -> None:
        self.redis = redis
        self.key = key
        self.rate = rate
        self.burst = max(1, burst)
        self.chunk = max(1, min(self.burst // 4 or 1, int(rate // 50) or 1, MAX_CHUNK))
        self.script = redis.register_script(TOKEN_BUCKET_LUA)
        self.local = LocalBucket(rate, self.burst)
        self._held = 0
        self._held_until = 0.0
        self._lock = threading.Lock()
        self._warned = False

    def _take_held(self) -> bool:
        with self._lock:
            if self._held > 0 and time.monotonic() < self._held_until:
                self._held -= 1
                return True
            self._held = 0
            return False

    def take(self, want: int = 1) -> float:
        """Try to take tokens: 0 when granted, else the seconds to wait before trying again."""
        if want == 1 and self._take_held():
            return 0.0
        ask = self.chunk if want == 1 else want
        try:
            wait_us = int(self.script(keys=[self.key], args=[self.rate, self.burst, ask]))
            if wait_us and ask > want:  # not enough for a chunk: ask for just what is needed
                ask = want
                wait_us = int(self.script(keys=[self.key], args=[self.rate, self.burst, ask]))
        except RedisError as exc:
            if not self._warned:
                logger.warning("rate limiter: Redis unreachable (%s); limiting this process only", exc)
                self._warned = True
            return self.local.take(want)
        self._warned = False
        if wait_us == 0 and ask > want:
            with self._lock:
                self._held += ask - want
                self._held_until = time.monotonic() + HOLD_SECONDS
        return wait_us / 1_000_000

    def acquire(self, want: int = 1, stop: threading.Event | None = None) -> bool:
        """Wait for tokens; False if ``stop`` was set while waiting."""
        while True:
            wait = self.take(want)
            if wait <= 0:
                return True
            if stop is not None:
                if stop.wait(min(wait, 0.5)):
                    return False
            else:
                time.sleep(min(wait, 0.5))
