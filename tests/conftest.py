"""Test harness: real PostgreSQL and Redis (the machine's when URLs are given, else embedded).

SHANGLIANG_TEST_DATABASE_URL names a PostgreSQL server database to connect to (a fresh
database is created on that server for the run); SHANGLIANG_TEST_REDIS_URL names a Redis
database (keys get a prefix of their own for the run and are deleted afterwards).
"""

from __future__ import annotations

import os
import secrets
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis as redis_lib
from sqlalchemy import text
from werkzeug.serving import make_server

from bot.services import Services
from domain.settings import Settings, parse_settings
from models.base import Base
from models.migrate import upgrade


def _server_urls() -> tuple[str, str]:
    db_url = os.environ.get("SHANGLIANG_TEST_DATABASE_URL", "")
    redis_url = os.environ.get("SHANGLIANG_TEST_REDIS_URL", "")
    if db_url and redis_url:
        return db_url, redis_url
    from bot.embedded import start_embedded

    # A folder of this run's own: servers started here stop when this run ends, so two runs
    # (or two developers' runs) never stop each other's servers.
    data = Path(os.environ.get("SHANGLIANG_TEST_DATA") or tempfile.mkdtemp(prefix="shangliang-test-"))
    emb_db, emb_redis = start_embedded(data, need_postgres=not db_url, need_redis=not redis_url)
    return db_url or str(emb_db), redis_url or str(emb_redis)


@pytest.fixture(scope="session")
def server_urls() -> tuple[str, str]:
    """(PostgreSQL server URL, Redis URL), failing loudly when unreachable."""
    db_url, redis_url = _server_urls()
    try:
        with psycopg.connect(db_url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        pytest.exit(f"PostgreSQL unreachable at {db_url}: {exc}", returncode=3)
    try:
        redis_lib.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis_lib.RedisError as exc:
        pytest.exit(f"Redis unreachable at {redis_url}: {exc}", returncode=3)
    return db_url, redis_url


@pytest.fixture(scope="session")
def database_url(server_urls: tuple[str, str]) -> Iterator[str]:
    """A fresh database for this run, migrated to head, dropped afterwards."""
    server = server_urls[0]
    name = f"sl_test_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    # Tables added since the last migration exist too; tests/test_migrations.py catches the gap.
    from sqlalchemy import create_engine

    from models.db import normalise_url

    engine = create_engine(normalise_url(url))
    Base.metadata.create_all(engine)
    engine.dispose()
    yield url
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def fake_wechat_server() -> Iterator[tuple[str, object]]:
    """The local WeChat stand-in on a free port: (base URL, its state)."""
    from fakewechat.server import create_fake_app

    app = create_fake_app("wxshangliangtest", "test-secret")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app.extensions["fake_wechat"]
    server.shutdown()


@pytest.fixture
def fake_wechat(fake_wechat_server: tuple[str, object]) -> object:
    """The stand-in's state, reset for this test."""
    state = fake_wechat_server[1]
    state.reset()  # type: ignore[attr-defined]
    return state


@pytest.fixture(scope="session")
def base_settings(database_url: str, server_urls: tuple[str, str], fake_wechat_server: tuple[str, object]) -> Settings:
    """Settings for the run: real servers, a Redis prefix of our own, the stand-in as WeChat."""
    return parse_settings({
        "database": {"url": database_url},
        "redis": {"url": server_urls[1], "key_prefix": f"t{secrets.token_hex(3)}:"},
        "wechat": {
            "token": "testtoken",
            "app_id": "wxshangliangtest",
            "app_secret": "test-secret",
            "api_base_url": fake_wechat_server[0],
            "timeout_seconds": 3,
        },
    })


@pytest.fixture(scope="session")
def session_services(base_settings: Settings) -> Iterator[Services]:
    """Services shared by the run."""
    services = Services.from_settings(base_settings)
    yield services
    _flush_prefix(services)
    services.close()


def _flush_prefix(services: Services) -> None:
    prefix = services.settings.redis.key_prefix
    keys = list(services.redis.scan_iter(match=prefix + "*", count=1000))
    if keys:
        services.redis.delete(*keys)


@pytest.fixture
def services(session_services: Services) -> Services:
    """Services with every table emptied and this run's Redis keys deleted."""
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with session_services.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    _flush_prefix(session_services)
    session_services._wechat = None
    return session_services


@pytest.fixture
def db(services: Services) -> Iterator[object]:
    """A session for arranging and checking data directly."""
    with services.sessions() as session:
        yield session


@pytest.fixture(scope="module")
def module_bot(session_services: Services) -> Iterator[object]:
    """A live bot in plain mode, started once per test module."""
    from tests.driver import live_bot

    with live_bot(session_services) as running:
        yield running


@pytest.fixture
def bot(module_bot: object, services: Services) -> object:
    """The module's live bot, with every table emptied for this test."""
    return module_bot
