"""Tests for fakewechat: the API stand-in driven by real wechatpy 1.8.18, the pusher and the chat client."""

from __future__ import annotations

import io
import json
import threading
import time

import pytest
import requests
from flask import Flask, Response, request
from wechatpy import WeChatClient, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import APILimitedException, InvalidSignatureException, WeChatClientException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature
from werkzeug.serving import make_server

from fakewechat import start_fake_wechat
from fakewechat.chat import describe_push, run_chat
from fakewechat.user import ReplyFormatError, ReplySignatureError, WeChatPusher

APP_ID, SECRET = "wxTESTAPP0001", "TESTSECRET"
TOKEN, AES_KEY = "villagetoken", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def make_client(base: str, timeout: float = 5) -> WeChatClient:
    """A real wechatpy client routed to the stand-in."""

    class LocalClient(WeChatClient):
        API_BASE_URL = base + "/cgi-bin/"

        def fetch_access_token(self):
            params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
            return self._fetch_access_token(url=base + "/cgi-bin/token", params=params)

    return LocalClient(APP_ID, SECRET, timeout=timeout, auto_retry=False)


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    running = start_fake_wechat(APP_ID, SECRET, record_path=str(tmp_path_factory.mktemp("fw") / "calls.jsonl"))
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _clean(fake):
    fake.state.reset()
    yield
    fake.state.clear_faults()


@pytest.fixture
def client(fake):
    return make_client(fake.base_url)


def api(fake, path, token=None, **body):
    """POST raw UTF-8 JSON the way wechatpy does (no Content-Type)."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return requests.post(f"{fake.base_url}{path}", params={"access_token": token}, data=data, timeout=5).json()


def test_token_fetch_keeps_previous_valid(fake):
    url, good = f"{fake.base_url}/cgi-bin/token", {"grant_type": "client_credential", "appid": APP_ID}
    tokens = [requests.get(url, params={**good, "secret": SECRET}, timeout=5).json() for _ in range(3)]
    assert tokens[0]["expires_in"] == 7200 and len({t["access_token"] for t in tokens}) == 3
    send = {"touser": "oA", "msgtype": "text", "text": {"content": "hi"}}
    assert api(fake, "/cgi-bin/message/custom/send", tokens[1]["access_token"], **send)["errcode"] == 0
    assert api(fake, "/cgi-bin/message/custom/send", tokens[0]["access_token"], **send)["errcode"] == 40001
    assert api(fake, "/cgi-bin/message/custom/send", None, **send)["errcode"] == 41001
    assert requests.get(url, params={**good, "secret": "bad"}, timeout=5).json()["errcode"] == 40001
    assert requests.get(url, params={**good, "appid": "wxother", "secret": SECRET}, timeout=5).json()["errcode"] == 40013
    fake.state.expire_tokens()
    assert api(fake, "/cgi-bin/message/custom/send", tokens[2]["access_token"], **send)["errcode"] == 42001


def test_stable_token_same_until_forced(fake):
    body = {"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET, "force_refresh": False}
    first, second = (requests.post(f"{fake.base_url}/cgi-bin/stable_token", data=json.dumps(body), timeout=5).json()
                     for _ in range(2))
    assert first["access_token"] == second["access_token"]
    forced = requests.post(f"{fake.base_url}/cgi-bin/stable_token", json={**body, "force_refresh": True}, timeout=5)
    assert forced.json()["access_token"] != first["access_token"]
    assert fake.state.check_token(first["access_token"]) == 0


def test_custom_send_keeps_chinese(fake, client):
    assert client.message.send_text("oVillager", "会议提醒：明天9点 😀")["errcode"] == 0
    (call,) = fake.state.calls(path="/cgi-bin/message/custom/send")
    assert call["body"]["text"]["content"] == "会议提醒：明天9点 😀" and call["openid"] == "oVillager"
    assert "access_token" not in call["query"]
    assert fake.state.messages_to("oVillager")[0]["text"]["content"] == "会议提醒：明天9点 😀"


def test_template_send_and_client_msg_id_idempotency(fake, client):
    first = client.message.send_template("oA", "TPL", {"thing1": {"value": "村道修缮"}})
    assert isinstance(first["msgid"], int)
    body = {"touser": "oA", "template_id": "TPL", "client_msg_id": "notice-1", "data": {"thing1": {"value": "议事"}}}
    one, two = (client.post("message/template/send", data=body) for _ in range(2))
    assert one["msgid"] == two["msgid"] != first["msgid"]
    assert [c["duplicate"] for c in fake.state.calls(path="/cgi-bin/message/template/send")] == [False, False, True]
    assert len(fake.state.messages_to("oA")) == 2


def test_mass_send_tag_id_ok_group_id_refused(fake, client):
    tag = client.tag.create("三组")
    client.tag.tag_user(tag["id"], ["oA", "oB"])
    body = {"filter": {"is_to_all": False, "tag_id": tag["id"]}, "text": {"content": "通知：周六开会"},
            "msgtype": "text", "clientmsgid": "notice-42"}
    result = client.post("message/mass/sendall", data=body)
    assert result["errmsg"] == "send job submission success" and result["msg_id"] and result["msg_data_id"]
    assert fake.state.calls(path="/cgi-bin/message/mass/sendall")[0]["openids"] == ["oA", "oB"]
    with pytest.raises(WeChatClientException) as exc:
        client.post("message/mass/sendall", data=body)
    assert exc.value.errcode == 45065
    with pytest.raises(WeChatClientException) as exc:
        client.message.send_mass_text(tag["id"], "通知")
    assert exc.value.errcode == 40035
    assert client.message.send_mass_text(["oA", "oB"], "名单群发")["errcode"] == 0
    with pytest.raises(WeChatClientException) as exc:
        client.message.send_mass_text(["oA"], "只有一个人")
    assert exc.value.errcode == 40130


def test_tags_lifecycle(fake, client):
    tag = client.tag.create("二组")
    assert tag == {"id": 100, "name": "二组"}
    with pytest.raises(WeChatClientException) as exc:
        client.tag.create("二组")
    assert exc.value.errcode == 45157
    client.tag.tag_user(100, ["oA", "oB", "oC"])
    client.tag.untag_user(100, "oB")
    assert client.tag.get_user_tag("oA") == [100] and client.tag.get_user_tag("oB") == []
    assert client.tag.get_tag_users(100) == {"count": 2, "data": {"openid": ["oA", "oC"]}, "next_openid": "oC"}
    assert list(client.tag.iter_tag_users(100)) == ["oA", "oC"]
    assert {"id": 100, "name": "二组", "count": 2} in client.tag.get()
    with pytest.raises(WeChatClientException) as exc:
        client.tag.tag_user(100, [f"o{i}" for i in range(51)])
    assert exc.value.errcode == 40032


def test_user_info_menu_media_qrcode(fake, client):
    info = client.user.get("oA")
    assert info["subscribe"] == 1 and info["language"] == "zh_CN" and "nickname" not in info
    assert "tagid_list" in info and info["subscribe_time"] > 0
    menu = {"button": [{"type": "click", "name": "议题", "key": "TOPIC"},
                       {"name": "更多", "sub_button": [{"type": "view", "name": "投票", "url": "https://x.cn"}]}]}
    assert client.menu.create(menu)["errcode"] == 0 and client.menu.get()["menu"] == menu
    uploaded = client.media.upload("image", ("p.png", io.BytesIO(b"\x89PNG fake"), "image/png"))
    assert uploaded["type"] == "image" and uploaded["created_at"] > 0
    assert requests.get(f"{fake.base_url}/_fake/media/{uploaded['media_id']}", timeout=5).content == b"\x89PNG fake"
    qr = client.qrcode.create({"expire_seconds": 1800, "action_name": "QR_SCENE",
                               "action_info": {"scene": {"scene_id": 123}}})
    assert qr["expire_seconds"] == 1800 and qr["url"].startswith("http://weixin.qq.com/q/")
    assert fake.state.qrcodes[qr["ticket"]]["scene"] == {"scene_id": 123}


def test_ascii_escaped_json_is_refused(fake, client):
    token = client.access_token
    body = {"touser": "oA", "msgtype": "text", "text": {"content": "会议"}}
    answer = requests.post(f"{fake.base_url}/cgi-bin/message/custom/send", params={"access_token": token},
                           json=body, timeout=5).json()
    assert answer["errcode"] == 40033 and fake.state.messages_to("oA") == []


def test_fault_times_then_success(fake, client):
    spec = {"path": "/cgi-bin/message/template/send", "errcode": -1, "times": 2}
    assert requests.post(f"{fake.base_url}/_fake/faults", json=spec, timeout=5).status_code == 200
    for _ in range(2):
        with pytest.raises(WeChatClientException) as exc:
            client.message.send_template("oA", "TPL", {"a": {"value": "1"}})
        assert exc.value.errcode == -1
    assert client.message.send_template("oA", "TPL", {"a": {"value": "1"}})["errcode"] == 0
    assert client.message.send_text("oA", "other paths unaffected")["errcode"] == 0
    requests.post(f"{fake.base_url}/_fake/faults", json={"path": "*", "errcode": 45011}, timeout=5)
    assert len(requests.get(f"{fake.base_url}/_fake/faults", timeout=5).json()) == 1
    assert requests.delete(f"{fake.base_url}/_fake/faults", timeout=5).json() == {"ok": True}
    assert client.message.send_text("oA", "faults cleared")["errcode"] == 0
    assert requests.post(f"{fake.base_url}/_fake/faults", json={"path": "*"}, timeout=5).status_code == 400


def test_fault_45009_and_40001_on_valid_token(fake, client):
    fake.state.add_fault("/cgi-bin/message/custom/send", 45009, times=1)
    with pytest.raises(APILimitedException):
        client.message.send_text("oA", "x")
    fake.state.add_fault("*", 40001, times=1)
    with pytest.raises(WeChatClientException) as exc:
        client.message.send_text("oA", "x")
    assert exc.value.errcode == 40001 and client.message.send_text("oA", "x")["errcode"] == 0


def test_fault_ratio_is_seeded(fake, client):
    def pattern():
        fake.state.clear_faults()
        requests.post(f"{fake.base_url}/_fake/faults", timeout=5,
                      json={"path": "/cgi-bin/tags/get", "errcode": -1, "ratio": 0.3, "seed": 7})
        return [requests.get(f"{fake.base_url}/cgi-bin/tags/get", params={"access_token": client.access_token},
                             timeout=5).json().get("errcode", 0) for _ in range(30)]

    first = pattern()
    assert first == pattern() and 3 <= first.count(-1) <= 18 and first.count(0) > 0


def test_fault_delay_makes_client_time_out(fake):
    slow = make_client(fake.base_url, timeout=0.3)
    slow.fetch_access_token()
    fake.state.add_fault("/cgi-bin/message/custom/send", delay_ms=1500)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        slow.message.send_text("oA", "慢")
    assert time.monotonic() - started < 1.0
    fake.state.clear_faults()
    fake.state.add_fault("/cgi-bin/message/custom/send", delay_ms=150, times=1)
    started = time.monotonic()
    assert make_client(fake.base_url).message.send_text("oA", "稍慢")["errcode"] == 0
    assert time.monotonic() - started >= 0.15


def test_unfollowed_user_gets_43004(fake, client):
    requests.post(f"{fake.base_url}/_fake/unfollow", json={"openid": "oGone"}, timeout=5)
    with pytest.raises(WeChatClientException) as exc:
        client.message.send_template("oGone", "TPL", {"a": {"value": "1"}})
    assert exc.value.errcode == 43004 and client.user.get("oGone")["subscribe"] == 0
    fake.state.follow("oGone")
    assert client.message.send_text("oGone", "欢迎回来")["errcode"] == 0


def test_calls_endpoint_filters_and_record_file(fake, client):
    client.message.send_text("oA", "one")
    client.message.send_text("oB", "two")
    client.message.send_text("oA", "three")
    calls = requests.get(f"{fake.base_url}/_fake/calls", params={"openid": "oA"}, timeout=5).json()
    assert [c["body"]["text"]["content"] for c in calls] == ["one", "three"]
    later = requests.get(f"{fake.base_url}/_fake/calls", params={"openid": "oA", "since": calls[0]["seq"]},
                         timeout=5).json()
    assert [c["body"]["text"]["content"] for c in later] == ["three"]
    stats = requests.get(f"{fake.base_url}/_fake/stats", timeout=5).json()
    assert stats["paths"]["/cgi-bin/message/custom/send"] == 3 and stats["last_seq"] == calls[-1]["seq"]
    with open(fake.state.record_path, encoding="utf-8") as handle:
        lines = [json.loads(line) for line in handle]
    assert lines[-1]["body"]["text"]["content"] == "three"
    requests.post(f"{fake.base_url}/_fake/reset", timeout=5)
    assert requests.get(f"{fake.base_url}/_fake/calls", timeout=5).json() == []


# ---- user-side pusher and chat client ----------------------------------------------------------

def make_webhook(fake_base: str) -> Flask:
    """A tiny official-account endpoint: verifies like a real bot, replies (encrypted when asked)."""
    app = Flask("webhook")
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    app.config.update(received=[], tamper=False, raw_cdata=False)

    @app.route("/wechat", methods=["GET", "POST"])
    def wechat() -> Response:
        args = request.args
        try:
            check_signature(TOKEN, args["signature"], args["timestamp"], args["nonce"])
        except InvalidSignatureException:
            return Response("bad signature", 403)
        if request.method == "GET":
            return Response(args["echostr"])
        xml = request.data
        if args.get("encrypt_type") == "aes":
            xml = crypto.decrypt_message(request.data, args["msg_signature"], args["timestamp"], args["nonce"])
        msg = parse_message(xml)
        app.config["received"].append((msg, request.data.decode("utf-8"), args.get("openid")))
        if msg.type == "text" and msg.content == "开会":
            make_client(fake_base).message.send_text(msg.source, "周六上午九点开会")
        said = getattr(msg, "content", None) or getattr(msg, "recognition", None) or getattr(msg, "event", msg.type)
        content = f"收到：{said}"
        if not app.config["raw_cdata"]:  # wechatpy does not escape CDATA: a bot must sanitise
            content = content.replace("]]>", "]]]]><![CDATA[>")
        reply = TextReply(content=content, message=msg).render()
        if args.get("encrypt_type") != "aes":
            return Response(reply, mimetype="text/xml")
        envelope = crypto.encrypt_message(reply, args["nonce"], args["timestamp"])
        if app.config["tamper"]:
            envelope = envelope.replace("<MsgSignature><![CDATA[", "<MsgSignature><![CDATA[0")
        return Response(envelope, mimetype="text/xml")

    return app


@pytest.fixture(scope="module")
def webhook(fake):
    app = make_webhook(fake.base_url)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield app, f"http://127.0.0.1:{server.server_port}/wechat"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
def test_pusher_round_trip(webhook, mode):
    app, url = webhook
    app.config["received"].clear()
    pusher = WeChatPusher(url, TOKEN, APP_ID, AES_KEY if mode != "plain" else "", mode)
    result = pusher.post(pusher.text("oVillager", "你好 ]]> 村委"))
    assert result.status == 200 and result.text == "收到：你好 ]]> 村委"
    assert result.encrypted == (mode != "plain") and result.reply["ToUserName"] == "oVillager"
    msg, raw, openid = app.config["received"][-1]
    assert msg.source == "oVillager" and msg.target == "gh_shangliang" and openid == "oVillager"
    assert ("<Encrypt>" in raw) == (mode != "plain") and ("<Content>" in raw) == (mode != "safe")


def test_pusher_detects_tampered_signature_and_broken_xml(webhook):
    app, url = webhook
    pusher = WeChatPusher(url, TOKEN, APP_ID, AES_KEY, "safe")
    app.config["tamper"] = True
    try:
        with pytest.raises(ReplySignatureError):
            pusher.post(pusher.text("oA", "x"))
    finally:
        app.config["tamper"] = False
    app.config["raw_cdata"] = True
    try:
        with pytest.raises(ReplyFormatError):
            WeChatPusher(url, TOKEN, APP_ID).post(pusher.text("oA", "a ]]> b"))
    finally:
        app.config["raw_cdata"] = False


def test_pusher_events_parse_and_concurrent_retries(webhook):
    app, url = webhook
    pusher = WeChatPusher(url, TOKEN, APP_ID)
    scan = parse_message(pusher.subscribe("oA", scene=123))
    assert scan.event == "subscribe_scan" and scan.scene_id == "123" and scan.ticket
    assert parse_message(pusher.voice("oA", recognition="我要报名")).recognition == "我要报名"
    assert parse_message(pusher.click("oA", "TOPIC")).key == "TOPIC"
    finish = parse_message(pusher.template_send_job_finish("oA", 200163836))
    assert finish.id == 200163836 and finish.status == "success"
    mass = parse_message(pusher.mass_send_job_finish("oSys", 1000001, total_count=5, error_count=1))
    assert mass.sent_count == 4 and mass.total_count == 5
    location = parse_message(pusher.location("oA"))
    assert location.label == "位置信息" and location.location == ("23.134521", "113.358803")
    xml = pusher.text("oA", "重复")
    app.config["received"].clear()
    results = pusher.post_concurrently(xml, 3)
    assert [r.text for r in results] == ["收到：重复"] * 3
    assert len({m.id for m, _, _ in app.config["received"]}) == 1
    assert pusher.verify_url("12345").text == "12345"


def test_run_chat_prints_reply_and_push(fake, webhook):
    _, url = webhook
    script = iter(["你好", "开会", "/voice 我要报名", "/subscribe 42", "/quit"])
    out: list[str] = []
    run_chat(url, "oChat", TOKEN, APP_ID, AES_KEY, "safe", fake.base_url, input_fn=lambda _: next(script),
             output_fn=out.append, push_wait=0)
    assert "已连接" in out[0] and "/quit" in out[1]
    assert "公众号：收到：你好" in out and "公众号：收到：开会" in out
    assert "[推送] 周六上午九点开会" in out and out.count("[推送] 周六上午九点开会") == 1
    assert "公众号：收到：我要报名" in out and "公众号：收到：subscribe_scan" in out


def test_describe_push_formats_templates_and_skips_failures():
    body = {"touser": "oA", "template_id": "T", "data": {"k1": {"value": "巧克力"}, "k2": {"value": "39.8元"}}}
    call = {"path": "/cgi-bin/message/template/send", "errcode": 0, "body": body}
    assert describe_push(call) == "巧克力；39.8元"
    assert describe_push({**call, "errcode": 43004}) is None and describe_push({**call, "duplicate": True}) is None
    assert describe_push({"path": "/cgi-bin/tags/get", "errcode": 0, "body": None}) is None


def test_run_chat_network_error_is_one_line():
    out: list[str] = []
    script = iter(["你好"])

    def read(_prompt: str) -> str:
        try:
            return next(script)
        except StopIteration:
            raise EOFError from None

    run_chat("http://127.0.0.1:9/wechat", "oA", TOKEN, APP_ID, "", "plain", None, input_fn=read,
             output_fn=out.append)
    assert any(line.startswith("网络错误") for line in out) and not any("Traceback" in line for line in out)
