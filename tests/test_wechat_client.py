"""bot.wechat.WeChatAPI against the WeChat stand-in: shared token, bounded refresh, errors as our own types."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from bot.services import make_redis
from bot.wechat import REAL_WECHAT_API, WeChatAPI, WeChatBadResponse, WeChatError, WeChatUnavailable

STABLE = "/cgi-bin/stable_token"
PLAIN_TOKEN = "/cgi-bin/token"
CUSTOM_SEND = "/cgi-bin/message/custom/send"


def _api(services, **wechat) -> WeChatAPI:
    """A client as one worker builds it (settings from the run, optionally overridden)."""
    settings = services.settings.with_overrides(wechat=wechat) if wechat else services.settings
    return WeChatAPI(settings.wechat, services.redis, settings.redis.key_prefix)


def _token_calls(fake) -> list[dict]:
    return fake.calls(path=STABLE) + fake.calls(path=PLAIN_TOKEN)


def _token_key(api: WeChatAPI) -> str:
    return api.session.key_name(api.access_token_key)


@pytest.fixture
def services(session_services):
    """The run's services with an empty token cache (these tests need no emptied tables)."""
    prefix = session_services.settings.redis.key_prefix
    for pattern in ("wechatpy:*", "wx:*"):
        for key in session_services.redis.scan_iter(match=prefix + pattern):
            session_services.redis.delete(key)
    return session_services


@pytest.fixture
def wechat(services, fake_wechat):
    """A fresh client over an empty token cache and a reset stand-in."""
    return _api(services)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- the access token ------------------------------------------------------------------------------

def test_token_comes_from_stable_token_and_is_shared_in_redis(wechat, services, fake_wechat):
    token = wechat.access_token
    calls = _token_calls(fake_wechat)
    assert [c["path"] for c in calls] == [STABLE]
    assert calls[0]["method"] == "POST" and calls[0]["body"]["appid"] == "wxshangliangtest"
    stored = services.redis.get(_token_key(wechat))
    assert stored is not None and json.loads(stored) == token
    assert 0 < services.redis.ttl(_token_key(wechat)) <= 7200  # never a key without expiry


def test_second_worker_reuses_the_token_without_fetching(wechat, services, fake_wechat):
    wechat.message.send_text("u-1", "第一位工作进程")
    other = _api(services)
    other.message.send_text("u-1", "第二位工作进程")
    assert len(_token_calls(fake_wechat)) == 1
    assert [m["text"]["content"] for m in fake_wechat.messages_to("u-1")] == ["第一位工作进程", "第二位工作进程"]


def test_plain_token_endpoint_when_stable_token_is_off(services, fake_wechat):
    api = _api(services, use_stable_token=False)
    api.message.send_text("u-1", "你好")
    calls = _token_calls(fake_wechat)
    assert [(c["path"], c["method"]) for c in calls] == [(PLAIN_TOKEN, "GET")]
    assert calls[0]["query"]["secret"] == "***"  # the stand-in saw a secret (and masks it)
    assert len(fake_wechat.messages_to("u-1")) == 1


def test_five_workers_with_an_empty_cache_fetch_one_token(services, fake_wechat):
    workers = [_api(services) for _ in range(5)]
    barrier = threading.Barrier(5)
    tokens: list[str] = []
    errors: list[BaseException] = []

    def need_token(api: WeChatAPI) -> None:
        barrier.wait()
        try:
            tokens.append(api.access_token)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=need_token, args=(api,)) for api in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert len(tokens) == 5 and len(set(tokens)) == 1
    assert len(_token_calls(fake_wechat)) == 1


def test_wrong_secret_is_a_wechat_error_not_a_crash(services, fake_wechat):
    api = _api(services, app_secret="wrong")
    with pytest.raises(WeChatError) as info:
        api.message.send_text("u-1", "你好")
    assert info.value.errcode == 40001
    assert len(_token_calls(fake_wechat)) == 1
    assert fake_wechat.calls(path=CUSTOM_SEND) == []


# ---- token errors: one refresh, one retry (wechatpy 1.8.18 would recurse without bound) ----------------

def test_token_rejected_once_refreshes_once_and_delivers(wechat, fake_wechat):
    first = wechat.access_token
    fake_wechat.add_fault(CUSTOM_SEND, 40001, times=1)
    result = wechat.message.send_text("u-1", "重试一次就到")
    assert result["errcode"] == 0
    assert len(fake_wechat.calls(path=CUSTOM_SEND)) == 2
    token_calls = _token_calls(fake_wechat)
    assert len(token_calls) == 2 and token_calls[1]["body"]["force_refresh"] is True
    assert wechat.access_token != first
    assert [m["text"]["content"] for m in fake_wechat.messages_to("u-1")] == ["重试一次就到"]


@pytest.mark.parametrize("errcode", [42001, 40014])
def test_expired_or_invalid_token_also_refreshes_once(wechat, fake_wechat, errcode):
    fake_wechat.add_fault(CUSTOM_SEND, errcode, times=1)
    assert wechat.message.send_text("u-1", "到了")["errcode"] == 0
    assert len(fake_wechat.calls(path=CUSTOM_SEND)) == 2


def test_expired_tokens_in_the_stand_in_are_replaced(wechat, fake_wechat):
    wechat.message.send_text("u-1", "一")
    fake_wechat.expire_tokens()
    wechat.message.send_text("u-1", "二")
    assert [m["text"]["content"] for m in fake_wechat.messages_to("u-1")] == ["一", "二"]


def test_persistent_token_error_gives_up_after_two_attempts(wechat, fake_wechat):
    fake_wechat.add_fault(CUSTOM_SEND, 40001)
    with pytest.raises(WeChatError) as info:
        wechat.message.send_text("u-1", "永远被拒")
    assert info.value.errcode == 40001
    assert len(fake_wechat.calls(path=CUSTOM_SEND)) == 2
    assert 1 <= len(_token_calls(fake_wechat)) <= 2  # not the ~487 of wechatpy's own auto-retry
    assert fake_wechat.messages_to("u-1") == []


# ---- other errors ------------------------------------------------------------------------------------

def test_system_busy_is_retryable(wechat, fake_wechat):
    fake_wechat.add_fault(CUSTOM_SEND, -1, times=1)
    with pytest.raises(WeChatError) as info:
        wechat.message.send_text("u-1", "忙")
    assert info.value.errcode == -1 and info.value.retryable
    assert not isinstance(info.value, WeChatUnavailable)
    assert len(fake_wechat.calls(path=CUSTOM_SEND)) == 1  # no blind retry inside the call


def test_unfollowed_user_is_final(wechat, fake_wechat):
    fake_wechat.unfollow("u-gone")
    with pytest.raises(WeChatError) as info:
        wechat.message.send_text("u-gone", "你还在吗")
    assert info.value.errcode == 43004
    assert info.value.retryable is False


def test_http_error_status_is_unavailable(wechat, fake_wechat):
    fake_wechat.add_fault(CUSTOM_SEND, http_status=502, times=1)
    with pytest.raises(WeChatUnavailable) as info:
        wechat.message.send_text("u-1", "网关坏了")
    assert info.value.errcode is None and info.value.retryable


def test_slow_answer_beyond_timeout_is_unavailable(services, fake_wechat):
    api = _api(services, timeout_seconds=0.3)
    api.access_token  # noqa: B018 - fetch the token before the stand-in turns slow
    fake_wechat.add_fault(CUSTOM_SEND, delay_ms=5000)
    started = time.monotonic()
    try:
        with pytest.raises(WeChatUnavailable):
            api.message.send_text("u-1", "慢")
    finally:
        fake_wechat.clear_faults()  # wakes the sleeping stand-in thread
    assert time.monotonic() - started < 2


def test_slow_token_endpoint_is_unavailable(services, fake_wechat):
    api = _api(services, timeout_seconds=0.3)
    fake_wechat.add_fault(STABLE, delay_ms=5000)
    try:
        with pytest.raises(WeChatUnavailable):
            api.message.send_text("u-1", "慢")
    finally:
        fake_wechat.clear_faults()


def test_connection_refused_is_unavailable(services):
    api = _api(services, api_base_url=f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(WeChatUnavailable):
        api.message.send_text("u-1", "没人听")


def test_token_cache_without_redis_is_unavailable(services):
    dead = make_redis(services.settings.with_overrides(redis={"url": "redis://127.0.0.1:1/0"}).redis)
    api = WeChatAPI(services.settings.wechat, dead, services.settings.redis.key_prefix)
    with pytest.raises(WeChatUnavailable) as info:  # not a raw redis error escaping to the caller
        api.message.send_text("u-1", "没有 Redis")
    assert info.value.retryable


@pytest.fixture
def html_server():
    """A tiny server answering WeChat paths with an HTML page (a captive portal, a proxy error page)."""
    state = {"token_as_html": False}

    @Request.application
    def app(request: Request) -> Response:
        if request.path == STABLE and not state["token_as_html"]:
            return Response(json.dumps({"access_token": "html-test-token", "expires_in": 7200}),
                            mimetype="application/json")
        return Response("<html><body>502 Bad Gateway</body></html>", mimetype="text/html")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", state
    server.shutdown()
    thread.join(5)


def test_non_json_answer_is_a_bad_response(services, html_server):
    url, _ = html_server
    api = _api(services, api_base_url=url)
    with pytest.raises(WeChatBadResponse):
        api.message.send_text("u-1", "收到网页")


def test_non_json_token_answer_is_a_bad_response(services, html_server):
    url, state = html_server
    state["token_as_html"] = True
    api = _api(services, api_base_url=url)
    with pytest.raises(WeChatBadResponse):
        api.message.send_text("u-1", "收到网页")


# ---- every call goes to api_base_url -------------------------------------------------------------------

def test_every_call_including_the_token_reaches_the_stand_in(wechat, fake_wechat):
    wechat.message.send_text("u-1", "你好")
    wechat.menu.create({"button": [{"type": "click", "name": "帮助", "key": "HELP"}]})
    # wechatpy builds some URLs absolutely on api.weixin.qq.com: they are redirected too
    token = wechat.access_token
    answer = wechat._http.get(REAL_WECHAT_API + "/cgi-bin/tags/get", params={"access_token": token}, timeout=3)
    assert answer.status_code == 200 and "tags" in answer.json()
    paths = [c["path"] for c in fake_wechat.calls()]
    assert paths == [STABLE, CUSTOM_SEND, "/cgi-bin/menu/create", "/cgi-bin/tags/get"]
    assert wechat.wxa.API_BASE_URL.startswith(wechat.base_url)


# ---- mass send by tag ------------------------------------------------------------------------------------

def test_mass_send_to_tag_uses_tag_id(wechat, fake_wechat):
    tag = wechat.tag.create("东风村")
    wechat.tag.tag_user(tag["id"], ["u-a", "u-b"])
    result = wechat.send_mass_text_to_tag(tag["id"], "周六开会", "notice-1-v1")
    assert result["errcode"] == 0 and result["msg_id"]
    body = fake_wechat.calls(path="/cgi-bin/message/mass/sendall")[-1]["body"]
    assert body["filter"] == {"is_to_all": False, "tag_id": tag["id"]}
    assert body["clientmsgid"] == "notice-1-v1"
    assert [m["text"]["content"] for m in fake_wechat.messages_to("u-a", include_mass=True)] == ["周六开会"]
    # the same clientmsgid again is refused by WeChat: no double mass send
    with pytest.raises(WeChatError) as info:
        wechat.send_mass_text_to_tag(tag["id"], "周六开会", "notice-1-v1")
    assert info.value.errcode == 45065


def test_wechatpy_own_mass_send_uses_group_id_and_is_refused(wechat, fake_wechat):
    tag = wechat.tag.create("红旗村")
    with pytest.raises(WeChatError) as info:
        wechat.message.send_mass_text(tag["id"], "周六开会")
    assert info.value.errcode == 40035
    assert "group_id" in fake_wechat.calls(path="/cgi-bin/message/mass/sendall")[-1]["body"]["filter"]


def test_template_message_carries_client_msg_id(wechat, fake_wechat):
    data = {"thing1": {"value": "修路议题"}}
    first = wechat.send_template_message("u-1", "tmpl-1", data, client_msg_id="topic-7-notice")
    again = wechat.send_template_message("u-1", "tmpl-1", data, client_msg_id="topic-7-notice")
    assert first["msgid"] == again["msgid"]
    assert len(fake_wechat.messages_to("u-1")) == 1
