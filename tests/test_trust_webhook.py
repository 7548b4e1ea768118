"""Issue 12 at the webhook: replays after a Redis restart, garbage query values, stale URL verification,
slow long messages, apologies to system events, the static route and the stand-in's safe-mode retries."""

from __future__ import annotations

import dataclasses
import time
from types import SimpleNamespace

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app import create_app
from bot.embedded import EmbeddedRedis
from bot.services import make_redis
from domain.orgs import tree as orgs
from fakewechat.user import sha1_signature
from handlers import load_routes, router
from handlers.normalize import normalise
from handlers.topic_input import as_typed
from models import InboundMessage, OrgKind, Person, SeenNonce, Topic
from tests.driver import live_bot

QUERY_KEYS = ("signature", "msg_signature", "timestamp", "nonce", "echostr", "openid", "encrypt_type")
GARBAGE = ["é", "签名", "\x00", "a" * 5000, "\ufffd", "１７１４０３６５０４", " ", "../../etc", "<xml>"]


@pytest.fixture
def village(db):
    orgs.create_org(db, code="t1", name="幸福镇", kind=OrgKind.TOWNSHIP)
    created = orgs.create_org(db, code="v1", name="东风村", kind=OrgKind.VILLAGE, parent_code="t1")
    db.commit()
    return created


@pytest.fixture(scope="module")
def sbot(session_services):
    """One safe-mode bot for the module."""
    with live_bot(session_services, mode="safe") as running:
        yield running


def _topics(services, openid: str) -> int:
    with services.sessions() as session:
        return int(session.scalar(select(func.count(Topic.id)).join(Person, Person.id == Topic.proposer_id)
                                  .where(Person.openid == openid)) or 0)


def _post(url: str, params: dict, body: str) -> requests.Response:
    return requests.post(url, params=params, data=body.encode("utf-8"), headers={"Content-Type": "text/xml"},
                         timeout=15)


# ---- item 4: the replay guard survives a Redis restart ---------------------------------------------------

@pytest.fixture
def private_redis(tmp_path):
    """A Redis of this test's own (never the machine's shared one), so the test may stop and restart it."""
    servers = [EmbeddedRedis(tmp_path / "redis").start()]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def private_redis_bot(services, private_redis):
    """A plain-mode bot using the private Redis."""
    settings = services.settings.with_overrides(redis={"url": private_redis[0].url})
    scoped = dataclasses.replace(services, settings=settings, redis=make_redis(settings.redis), _wechat=None)
    with live_bot(scoped) as running:
        yield running


def _bind(bot, openid: str, village) -> None:
    assert "绑定成功" in (bot.send(openid, f"绑定 {village.invite_code}") or "")


def _replay_with_another_body(bot, params: dict) -> requests.Response:
    forged = bot.pusher.text("u-victim", "提议 村里的钱都给我家修路")
    return _post(bot.url, params, forged)


def test_replay_after_redis_restart_is_refused(services, village, private_redis, private_redis_bot):
    bot = private_redis_bot
    _bind(bot, "u-victim", village)
    params, body = bot.pusher.build_request(bot.pusher.text("u-sender", "帮助"))
    assert _post(bot.url, params, body).status_code == 200
    old = private_redis[0]
    old.stop()  # Redis restarts without its data (no persistence, a new machine, a FLUSHALL)
    private_redis.append(EmbeddedRedis(old.data_dir.parent / "redis-fresh", port=old.port).start())
    assert "绑定 邀请码" in (bot.send("u-other", "帮助") or "")  # Redis is back and in use
    assert _replay_with_another_body(bot, params).status_code == 403
    assert _topics(services, "u-victim") == 0
    assert _post(bot.url, params, body).status_code == 200  # WeChat's own retry (the same body) still answers


def test_replay_of_a_pair_first_seen_while_redis_was_down_is_refused(services, village, private_redis,
                                                                     private_redis_bot):
    bot = private_redis_bot
    _bind(bot, "u-victim", village)
    old = private_redis[0]
    old.stop()
    params, body = bot.pusher.build_request(bot.pusher.text("u-sender", "帮助"))
    assert _post(bot.url, params, body).status_code == 200  # the database remembers the pair
    private_redis.append(EmbeddedRedis(old.data_dir, port=old.port).start())  # back, with its data
    assert "绑定 邀请码" in (bot.send("u-other", "帮助") or "")
    assert _replay_with_another_body(bot, params).status_code == 403
    assert _topics(services, "u-victim") == 0


# ---- item 5: garbage in any query value is a clean 4xx, never a 500 --------------------------------------

def _signed_get(bot, **changes: str) -> requests.Response:
    ts, nonce = str(int(time.time())), "1514711492"
    params = {"signature": sha1_signature(bot.pusher.token, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "4375120948"}
    params.update(changes)
    return requests.get(bot.url, params=params, timeout=10)


def _signed_post(bot, sender: str, **changes: str) -> requests.Response:
    params, body = bot.pusher.build_request(bot.pusher.text(sender, "帮助"))
    params.update(changes)
    return _post(bot.url, params, body)


@pytest.mark.parametrize("key", QUERY_KEYS)
@pytest.mark.parametrize("value", GARBAGE)
def test_garbage_query_values_get_a_clean_4xx(bot, sbot, key, value):
    assert _signed_get(bot, **{key: value}).status_code in (400, 403)
    assert _signed_post(bot, "u-garbage", **{key: value}).status_code in (400, 403)
    assert _signed_post(sbot, "u-garbage", **{key: value}).status_code in (400, 403)


def test_non_ascii_signature_is_403_not_500(bot, sbot):
    assert _signed_get(bot, signature="é").status_code == 403
    assert _signed_post(bot, "u-x", signature="é").status_code == 403
    assert _signed_post(sbot, "u-x", msg_signature="é" * 40).status_code == 403


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(QUERY_KEYS), value=st.text(max_size=80))
def test_any_query_value_never_gives_a_500(bot, key, value):
    get, post = _signed_get(bot, **{key: value}), _signed_post(bot, "u-fuzz", **{key: value})
    assert get.status_code in (200, 400, 403) and post.status_code in (200, 400, 403)
    if not value.isascii() or "\x00" in value:
        assert get.status_code in (400, 403) and post.status_code in (400, 403)


# ---- item 6: URL verification checks the timestamp window --------------------------------------------

def test_url_verification_with_a_month_old_signature_is_refused(bot):
    old = str(int(time.time()) - 30 * 86400)
    response = _signed_get(bot, timestamp=old, signature=sha1_signature(bot.pusher.token, old, "1514711492"))
    assert response.status_code == 403
    assert "4375120948" not in response.text
    assert _signed_get(bot).text == "4375120948"  # a fresh one still echoes


# ---- item 7: a long message costs about what a short one does ------------------------------------------

def _cpu_of(bot, openid: str, text: str) -> tuple[float, str]:
    started = time.process_time()
    reply = bot.send(openid, text) or ""
    return time.process_time() - started, reply


def test_a_30kb_message_is_answered_about_as_fast_as_a_short_one(bot, village):
    _bind(bot, "u-long", village)
    short = min(_cpu_of(bot, "u-long", f"提议 修一下村东头第{i}条路")[0] for i in range(3))
    costs = []
    for i in range(2):
        spent, reply = _cpu_of(bot, "u-long", f"提议 {i}" + "修路" * 5000)  # 10,000 characters, 30 KB
        assert "太长" in reply
        costs.append(spent)
    assert min(costs) < 5 * short, (costs, short)


def test_keeping_the_typed_wording_is_linear_in_the_length():
    def cost(n: int) -> float:
        raw = "提议 " + "村东头的路，　坑坑洼洼。" * (n // 12)
        ctx = SimpleNamespace(message=SimpleNamespace(content=raw))
        rest = normalise(raw)[len("提议"):].strip()
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            as_typed(ctx, rest)  # type: ignore[arg-type]
            best = min(best, time.process_time() - started)
        return best

    small, large = cost(1500), cost(6000)
    assert large < 8 * max(small, 1e-4), (small, large)  # quadratic would be 16x


def test_max_text_chars_setting_is_followed(services, village):
    with live_bot(services, webhook={"max_text_chars": 100}) as strict:
        _bind(strict, "u-strict", village)
        refused = strict.send("u-strict", "提议 " + "村口的路灯坏了" * 15)
        assert "太长" in refused and "100" in refused
        assert "已登记" in (strict.send("u-strict", "提议 村口的路灯坏了") or "")
    with live_bot(services) as default:
        assert "已登记" in (default.send("u-strict", "提议 " + "村口的路灯坏了" * 15) or "")


# ---- also: system events, the static route, the stand-in's safe-mode retries ---------------------------

def test_mass_send_finish_with_a_malformed_count_gets_no_apology(bot):
    xml = bot.pusher.mass_send_job_finish("oSys", 1000001, total_count="很多", sent_count="x", error_count="")
    result = bot.post(xml)
    assert result.status == 200
    assert result.text is None and "抱歉" not in result.body


def test_a_system_event_whose_handler_fails_gets_an_empty_answer(bot, monkeypatch):
    load_routes()
    route = next(r for r in router.routes if r.kind == "event" and "masssendjobfinish" in r.patterns)
    monkeypatch.setattr(route, "func", lambda ctx: 1 / 0)
    result = bot.post(bot.pusher.mass_send_job_finish("oSys", 1000002, total_count=5))
    assert result.status == 200 and result.text is None and "抱歉" not in result.body


def test_flask_static_route_is_off(services, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "secret.txt").write_text("token = 'x'", encoding="utf-8")
    app = create_app(services=services)
    assert "static" not in {rule.endpoint for rule in app.url_map.iter_rules()}
    assert app.test_client().get("/static/secret.txt").status_code == 404


def test_standin_safe_mode_retries_resend_the_same_request_and_are_answered(sbot, services):
    xml = sbot.pusher.text("u-safe-retry", "帮助")
    results = sbot.pusher.post_concurrently(xml, 3)
    assert [r.status for r in results] == [200, 200, 200]
    assert len({r.text for r in results}) == 1 and "绑定 邀请码" in (results[0].text or "")
    params, body = sbot.pusher.build_request(xml, timestamp=str(int(time.time())), nonce="777")
    again = sbot.pusher.build_request(xml, timestamp=params["timestamp"], nonce="777")
    assert again == (params, body)  # a retry is the same request, byte for byte
    with services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(InboundMessage)
                         .where(InboundMessage.openid == "u-safe-retry")) == 1


def test_recorded_pairs_are_pruned_after_the_window(bot, services):
    params, body = bot.pusher.build_request(bot.pusher.text("u-prune", "帮助"))
    assert _post(bot.url, params, body).status_code == 200
    guard = create_app(services=services).extensions["shangliang.webhook"].replay
    with services.sessions() as db:
        assert db.get(SeenNonce, (params["timestamp"], params["nonce"])) is not None
    guard.prune(now=int(params["timestamp"]) + guard.window - 5)
    with services.sessions() as db:
        assert db.get(SeenNonce, (params["timestamp"], params["nonce"])) is not None  # still inside the window
    guard._pruned_at = 0.0
    guard.prune(now=int(params["timestamp"]) + guard.window + 5)
    with services.sessions() as db:
        assert db.get(SeenNonce, (params["timestamp"], params["nonce"])) is None


def test_a_refused_message_still_leaves_its_pair_recorded(bot, services):
    params, body = bot.pusher.build_request(bot.pusher.text("u-refused", "提议"))  # not bound: a DomainError
    assert _post(bot.url, params, body).status_code == 200
    with services.sessions() as db:
        assert db.get(SeenNonce, (params["timestamp"], params["nonce"])) is not None
