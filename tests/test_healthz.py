"""/healthz: 200 with both servers reachable, 503 naming the one that is not."""

from __future__ import annotations

import dataclasses

import requests

from bot.app import create_app
from bot.services import make_redis
from tests.driver import live_bot

DEAD_REDIS_URL = "redis://127.0.0.1:1/0"


def _healthz(bot) -> requests.Response:
    return requests.get(bot.url.rsplit("/wechat", 1)[0] + "/healthz", timeout=5)


def test_healthz_ok_with_real_servers(services):
    with live_bot(services) as bot:
        response = _healthz(bot)
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "ok", "ok": True}


def test_healthz_503_when_redis_is_down(services):
    settings = services.settings.with_overrides(redis={"url": DEAD_REDIS_URL})
    broken = dataclasses.replace(services, settings=settings, redis=make_redis(settings.redis), _wechat=None)
    with live_bot(broken) as bot:
        response = _healthz(bot)
        assert response.status_code == 503
        body = response.json()
        assert body["ok"] is False and body["database"] == "ok"
        assert body["redis"].startswith("error: ")
        # the webhook still serves while the health check reports the outage
        assert "绑定 邀请码" in bot.send("u-health", "帮助")


def test_healthz_503_when_the_database_is_down(services):
    from models.db import make_engine, make_sessionmaker

    engine = make_engine("postgresql://nobody:nothing@127.0.0.1:1/none")
    broken = dataclasses.replace(services, engine=engine, sessions=make_sessionmaker(engine), _wechat=None)
    app = create_app(services=broken)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["ok"] is False and body["redis"] == "ok"
    assert body["database"].startswith("error: ")
    assert "nothing" not in body["database"]  # no credentials in the answer
    engine.dispose()
