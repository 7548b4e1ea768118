"""The shared resources of one process: database engine, Redis client, WeChat client."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import redis as redis_lib
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.wechat import WeChatAPI
from domain.settings import RedisSettings, Settings, require_production_secrets
from domain.votes import ballot_box
from models.db import make_engine, make_sessionmaker

logger = logging.getLogger(__name__)

EMBEDDED_DB_NAME = "shangliang"


def _ensure_database(server_url: str, name: str) -> str:
    """Create a database on the embedded server if missing; return its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def resolve_embedded(settings: Settings) -> Settings:
    """Fill empty database/Redis URLs by starting the embedded servers."""
    need_pg, need_redis = not settings.database.url, not settings.redis.url
    if not (need_pg or need_redis):
        return settings
    from bot.embedded import start_embedded

    data_dir = Path(settings.server.data_dir)
    db_url, redis_url = start_embedded(data_dir, need_postgres=need_pg, need_redis=need_redis)
    overrides: dict[str, dict[str, str]] = {}
    if db_url:
        overrides["database"] = {"url": _ensure_database(db_url, EMBEDDED_DB_NAME)}
    if redis_url:
        overrides["redis"] = {"url": redis_url}
    return settings.with_overrides(**overrides)


def make_redis(settings: RedisSettings) -> redis_lib.Redis:
    """A Redis client that fails fast: no retries with backoff (redis-py's default turns one call
    to a dead Redis into ~4 s, past WeChat's 5-second deadline); callers fall back to the database."""
    return redis_lib.Redis.from_url(
        settings.url,
        socket_timeout=settings.socket_timeout_seconds,
        socket_connect_timeout=settings.socket_timeout_seconds,
        health_check_interval=30,
        retry=Retry(NoBackoff(), 0),
    )


@dataclass
class Services:
    """Everything a request, a job or a CLI command needs, built once per process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis: redis_lib.Redis
    development: bool = False
    _wechat: WeChatAPI | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, pre_ping: bool = True, development: bool = False) -> Services:
        """Connect to the configured (or embedded) PostgreSQL and Redis.

        ``pre_ping`` tests each pooled connection before use (one round trip). Web processes turn it off:
        a connection lost to a database restart then fails one message (the apology, WeChat retries)
        and SQLAlchemy discards the whole pool at once. ``development`` (only `serve` with the stand-in)
        lets the WeChat client use the public development secrets.
        """
        settings = resolve_embedded(settings)
        engine = make_engine(
            settings.database.url,
            pool_size=settings.database.pool_size,
            max_overflow=settings.database.max_overflow,
            echo=settings.database.echo,
            pre_ping=pre_ping,
        )
        client = make_redis(settings.redis)
        ballot_box.use(settings)  # every path of this process seals and opens anonymous ballots with one key
        return cls(settings=settings, engine=engine, sessions=make_sessionmaker(engine), redis=client,
                   development=development)

    @property
    def wechat(self) -> WeChatAPI:
        """The process's one WeChat client (created on first use)."""
        if self._wechat is None:
            if not self.development:
                require_production_secrets(self.settings)
            self._wechat = WeChatAPI(self.settings.wechat, self.redis, self.settings.redis.key_prefix)
        return self._wechat

    def rkey(self, *parts: object) -> str:
        """A Redis key under this deployment's prefix."""
        return self.settings.redis.key_prefix + ":".join(str(p) for p in parts)

    def health(self) -> dict[str, object]:
        """Reachability of the database and Redis."""
        status: dict[str, object] = {}
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            status["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            status["database"] = f"error: {type(exc).__name__}"
        try:
            self.redis.ping()
            status["redis"] = "ok"
        except redis_lib.RedisError as exc:
            status["redis"] = f"error: {type(exc).__name__}"
        status["ok"] = status["database"] == "ok" and status["redis"] == "ok"
        return status

    def close(self) -> None:
        """Release connections."""
        self.engine.dispose()
        self.redis.close()
