"""Hostile input at /wechat: forged signatures, replays, oversized and malicious XML never reach a 500."""

from __future__ import annotations

import logging
import time

import pytest
import requests
import xmltodict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wechatpy import parse_message

from bot import replies
from bot.security import sha1_signature
from domain.orgs import tree as orgs
from fakewechat.messages import cdata
from models import OrgKind
from tests.driver import live_bot

TOKEN_FIELDS = ("signature", "timestamp", "nonce")


@pytest.fixture(scope="module")
def bot(session_services):
    """One plain-mode bot for the module (a bot per test costs half a second). Hostile input needs
    no particular data, so tests share the tables; those that arrange data ask for ``db``."""
    with live_bot(session_services) as running:
        yield running


@pytest.fixture(scope="module")
def sbot(session_services):
    """One safe-mode bot for the module."""
    with live_bot(session_services, mode="safe") as running:
        yield running


def _post(bot, params: dict, body: bytes | str) -> requests.Response:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return requests.post(bot.url, params=params, data=data, headers={"Content-Type": "text/xml"}, timeout=10)


def _signed(bot, body: bytes | str, *, timestamp: str | None = None, nonce: str | None = None) -> requests.Response:
    """Post any body with a correct plain-mode signature (the attacker knows nothing else)."""
    params, _ = bot.pusher.build_request("<xml/>", timestamp=timestamp, nonce=nonce, openid="u-evil")
    params = {k: params[k] for k in TOKEN_FIELDS + ("openid",)}
    return _post(bot, params, body)


def _still_serving(bot, openid: str = "u-after") -> None:
    result = bot.pusher.post(bot.pusher.text(openid, "帮助"))
    assert result.status == 200 and "绑定 邀请码" in (result.text or "")


# ---- URL verification (GET) ----------------------------------------------------------------------

def test_get_verification_echoes_echostr(bot):
    response = bot.pusher.verify_url(echostr="4375120948345356249")
    assert response.status_code == 200
    assert response.text == "4375120948345356249"


def test_get_verification_with_bad_signature_is_403(bot):
    ts, nonce = str(int(time.time())), "123"
    response = requests.get(bot.url, params={"signature": "0" * 40, "timestamp": ts, "nonce": nonce,
                                             "echostr": "x"}, timeout=5)
    assert response.status_code == 403
    assert "x" not in response.text
    response = requests.get(bot.url, params={"echostr": "x"}, timeout=5)
    assert response.status_code == 403


# ---- signatures and timestamps -------------------------------------------------------------------

def test_post_without_signature_is_403(bot):
    xml = bot.pusher.text("u-evil", "帮助")
    assert _post(bot, {}, xml).status_code == 403
    ts = str(int(time.time()))
    assert _post(bot, {"timestamp": ts, "nonce": "1"}, xml).status_code == 403


def test_post_with_forged_signature_is_403(bot):
    xml = bot.pusher.text("u-evil", "帮助")
    ts, nonce = str(int(time.time())), "98765"
    forged = {"signature": sha1_signature("not-the-token", ts, nonce), "timestamp": ts, "nonce": nonce}
    assert _post(bot, forged, xml).status_code == 403
    params, body = bot.pusher.build_request(xml)
    params["nonce"] = params["nonce"] + "1"  # signature no longer covers the nonce
    assert _post(bot, params, body).status_code == 403


@pytest.mark.parametrize("offset", [-600, +600])
def test_timestamp_ten_minutes_off_is_403(bot, offset):
    xml = bot.pusher.text("u-late", "帮助")
    params, body = bot.pusher.build_request(xml, timestamp=str(int(time.time()) + offset))
    assert _post(bot, params, body).status_code == 403


def test_timestamp_not_a_number_is_403(bot):
    params, body = bot.pusher.build_request(bot.pusher.text("u-late", "帮助"), timestamp="soon")
    assert _post(bot, params, body).status_code == 403


def test_replayed_timestamp_and_nonce_with_another_body_is_403(bot):
    first = bot.pusher.text("u-replay", "帮助")
    params, body = bot.pusher.build_request(first)
    answer = _post(bot, params, body)
    assert answer.status_code == 200
    # same signed (timestamp, nonce) but a message of the attacker's choosing
    other = bot.pusher.text("u-victim", "绑定 AAAAAAAAAA")
    assert _post(bot, params, other).status_code == 403
    # WeChat's own retry (same body) is fine and gets the same reply
    again = _post(bot, params, body)
    assert again.status_code == 200
    first_text = xmltodict.parse(answer.text)["xml"]["Content"]
    assert xmltodict.parse(again.text)["xml"]["Content"] == first_text


# ---- size ------------------------------------------------------------------------------------------

def test_body_over_max_body_bytes_is_413(bot):
    limit = bot.services.settings.webhook.max_body_bytes
    xml = bot.pusher.text("u-big", "帮" * (limit // 3 + 10))
    assert len(xml.encode()) > limit
    params, body = bot.pusher.build_request(xml)
    assert _post(bot, params, body).status_code == 413
    _still_serving(bot)


def test_body_at_the_limit_is_not_413(services):
    with live_bot(services, webhook={"max_body_bytes": 4096}) as bot:
        xml = bot.pusher.text("u-edge", "帮助")
        padding = 4096 - len(xml.encode())
        xml = xml.replace("<xml>", "<xml>" + " " * padding, 1)
        assert len(xml.encode()) == 4096
        params, body = bot.pusher.build_request(xml)
        assert _post(bot, params, body).status_code == 200
        params, body = bot.pusher.build_request(xml.replace("<xml>", "<xml> ", 1))
        assert _post(bot, params, body).status_code == 413


# ---- malicious or broken XML ---------------------------------------------------------------------

HEAD = ("<ToUserName><![CDATA[gh_shangliang]]></ToUserName><FromUserName><![CDATA[u-evil]]></FromUserName>"
        "<CreateTime>{ts}</CreateTime>")

HOSTILE_BODIES = {
    "xxe-file": (
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<xml>" + HEAD + "<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"
    ),
    "xxe-parameter": (
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:1/evil.dtd"> %p;]>'
        "<xml>" + HEAD + "<MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId></xml>"
    ),
    "billion-laughs": (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
        + "]><xml>" + HEAD + "<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>"
    ),
    "doctype-only": "<!DOCTYPE xml><xml>" + HEAD + "<MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId></xml>",
    "not-xml": "hello, this is not xml",
    "json": '{"MsgType": "text", "Content": "帮助"}',
    "truncated": "<xml>" + HEAD + "<MsgType>text</MsgType><Content>帮助",
    "wrong-root": "<message>" + HEAD + "<MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId></message>",
    "namespaced-root": '<xml xmlns="urn:x">' + HEAD + "<MsgType>text</MsgType></xml>",
    "no-msgtype": "<xml>" + HEAD + "<Content>x</Content><MsgId>1</MsgId></xml>",
    "empty-msgtype": "<xml>" + HEAD + "<MsgType></MsgType></xml>",
    "two-msgtypes": "<xml>" + HEAD + "<MsgType>text</MsgType><MsgType>image</MsgType><MsgId>1</MsgId></xml>",
    "nested-msgtype": "<xml>" + HEAD + "<MsgType><a>text</a></MsgType><MsgId>1</MsgId></xml>",
    "nested-event": "<xml>" + HEAD + "<MsgType>event</MsgType><Event><a/></Event></xml>",
    "nested-eventkey": "<xml>" + HEAD + "<MsgType>event</MsgType><Event>subscribe</Event><EventKey><a/></EventKey></xml>",
    "no-sender": "<xml><CreateTime>{ts}</CreateTime><MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId></xml>",
    "two-senders": ("<xml><FromUserName>a</FromUserName><FromUserName>b</FromUserName><CreateTime>{ts}</CreateTime>"
                    "<MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId></xml>"),
    "nested-sender": ("<xml><FromUserName><a>u</a></FromUserName><CreateTime>{ts}</CreateTime>"
                      "<MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId></xml>"),
    "nested-content": "<xml>" + HEAD + "<MsgType>text</MsgType><Content><b>帮助</b></Content><MsgId>7</MsgId></xml>",
    "bad-createtime": ("<xml><FromUserName>u-evil</FromUserName><CreateTime>yesterday</CreateTime>"
                       "<MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId></xml>"),
    "bad-msgid": "<xml>" + HEAD + "<MsgType>text</MsgType><Content>x</Content><MsgId>one</MsgId></xml>",
    "deep-nesting": "<xml>" + "<a>" * 3000 + "</a>" * 3000 + "</xml>",
    "empty": "",
    "whitespace": "   \n  ",
    "processing-instruction": '<?xml-stylesheet href="http://127.0.0.1:1/x.xsl"?><xml>' + HEAD + "</xml>",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_hostile_body_is_refused_4xx_never_500(bot, name, caplog):
    body = HOSTILE_BODIES[name].replace("{ts}", str(int(time.time())))
    with caplog.at_level(logging.WARNING):
        response = _signed(bot, body)
    assert response.status_code < 500, (name, response.status_code, response.text)
    if response.status_code == 200:  # only a harmless reading is allowed to pass
        assert "passwd" not in response.text and "root:" not in response.text
        assert response.text == "success" or xmltodict.parse(response.text)["xml"]["MsgType"] == "text"
    else:
        assert 400 <= response.status_code < 500
    # one short warning, no traceback in the logs for hostile input
    ours = [r for r in caplog.records if r.name.startswith(("bot", "handlers"))]
    assert len(ours) <= 2
    assert all(r.exc_info is None for r in ours)
    _still_serving(bot)


def test_entity_content_is_never_expanded(bot):
    body = HOSTILE_BODIES["xxe-file"].replace("{ts}", str(int(time.time())))
    response = _signed(bot, body)
    assert response.status_code == 400
    assert "root" not in response.text


def test_latin1_bytes_are_refused_400(bot):
    body = ("<xml>" + HEAD.replace("{ts}", str(int(time.time())))
            + "<MsgType>text</MsgType><Content>café über</Content><MsgId>1</MsgId></xml>").encode("latin-1")
    response = _signed(bot, body)
    assert response.status_code == 400
    _still_serving(bot)


def test_gbk_bytes_are_refused_400(bot):
    body = ("<xml>" + HEAD.replace("{ts}", str(int(time.time())))
            + "<MsgType>text</MsgType><Content>帮助</Content><MsgId>1</MsgId></xml>").encode("gbk")
    assert _signed(bot, body).status_code == 400


def test_xml_declaring_another_encoding_does_not_break_the_server(bot):
    xml = bot.pusher.text("u-decl", "帮助")
    response = _signed(bot, '<?xml version="1.0" encoding="GBK"?>' + xml)
    assert response.status_code < 500
    _still_serving(bot)


# ---- safe mode: garbage ciphertext ---------------------------------------------------------------

GARBAGE_ENCRYPT = {
    "bad-base64": "!!!not base64!!!",
    "not-block-multiple": "QUJDREVGRw==",
    "sixteen-zero-bytes": "AAAAAAAAAAAAAAAAAAAAAA==",
    "thirty-two-bytes": "A" * 43 + "=",
    "long-random": "ZmFrZQ" * 40 + "==",
}


@pytest.mark.parametrize("name", sorted(GARBAGE_ENCRYPT))
def test_garbage_encrypt_in_safe_mode_is_4xx(sbot, name):
    encrypt = GARBAGE_ENCRYPT[name]
    ts, nonce = str(int(time.time())), "5551212"
    token = sbot.services.settings.wechat.token
    params = {"signature": sha1_signature(token, ts, nonce), "timestamp": ts, "nonce": nonce,
              "encrypt_type": "aes", "msg_signature": sha1_signature(token, ts, nonce, encrypt)}
    body = f"<xml><ToUserName><![CDATA[gh_shangliang]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    response = _post(sbot, params, body)
    assert 400 <= response.status_code < 500, response.text
    _still_serving(sbot)


@pytest.mark.parametrize("plaintext", [
    "not xml at all",
    '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><MsgType>text</MsgType><Content>&e;</Content></xml>',
    "<message><MsgType>text</MsgType></message>",
    "<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime></xml>",
], ids=["not-xml", "xxe", "wrong-root", "no-msgtype"])
def test_hostile_plaintext_inside_valid_encryption_is_4xx(sbot, plaintext):
    """Someone holding the AES key still cannot smuggle hostile XML past the parser."""
    params, body = sbot.pusher.build_request(plaintext, openid="u-evil")
    response = _post(sbot, params, body)
    assert 400 <= response.status_code < 500, response.text
    _still_serving(sbot)


def test_safe_mode_missing_encrypt_element_is_400(sbot):
    params, _ = sbot.pusher.build_request(sbot.pusher.text("u-x", "帮助"))
    body = "<xml><ToUserName><![CDATA[gh_shangliang]]></ToUserName></xml>"
    assert _post(sbot, params, body).status_code == 400


# ---- ']]>' in a reply keeps the XML well-formed ----------------------------------------------------

def test_render_escapes_cdata_terminator():
    message = parse_message(
        "<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[u1]]></FromUserName>"
        "<CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[x]]></Content>"
        "<MsgId>1</MsgId></xml>"
    )
    text = "a]]>b<xml>c]]>]]>d</Content>&amp;"
    out = replies.render(replies.encode(text, 2000), message)
    doc = xmltodict.parse(out)["xml"]
    assert doc["Content"] == text
    assert doc["ToUserName"] == "u1" and doc["FromUserName"] == "gh"
    hostile = parse_message(
        "<xml><ToUserName><![CDATA[gh]]]]><![CDATA[>]]></ToUserName><FromUserName><![CDATA[u]]]]><![CDATA[>1]]>"
        "</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></xml>"
    )
    for stored in ("T:" + text, "I:media]]>1"):
        doc = xmltodict.parse(replies.render(stored, hostile))["xml"]
        assert doc["ToUserName"] == "u]]>1" and doc["FromUserName"] == "gh]]>"


def test_reply_echoing_cdata_terminator_is_well_formed_through_the_webhook(bot, db):
    orgs.create_org(db, code="t1", name="幸福镇", kind=OrgKind.TOWNSHIP)
    village = orgs.create_org(db, code="v1", name="东风]]><b>村", kind=OrgKind.VILLAGE, parent_code="t1")
    db.commit()
    result = bot.pusher.post(bot.pusher.text("u-cdata", f"绑定 {village.invite_code}"))
    assert result.status == 200
    assert "东风]]><b>村" in result.text  # the pusher parsed the reply as XML: it is well-formed
    assert "东风]]><b>村" in bot.send("u-cdata", "我的")


def test_sender_id_with_cdata_terminator_gets_a_well_formed_reply(bot):
    # the query's openid is shape-checked (tests/test_trust_webhook.py); the body's sender is the hostile part
    result = bot.pusher.post(bot.pusher.text("u]]><x>", "帮助"), openid="u-cdata")
    assert result.status == 200
    assert result.reply["ToUserName"] == "u]]><x>" and "绑定 邀请码" in result.text


def test_user_text_with_cdata_terminator_gets_a_well_formed_reply(bot):
    result = bot.pusher.post(bot.pusher.text("u-cdata2", "绑定 ]]><x>AB]]>"))
    assert result.status == 200 and result.text


# ---- fuzz ------------------------------------------------------------------------------------------

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_fuzz_random_bodies_never_5xx(bot):
    @FUZZ
    @given(st.one_of(st.binary(max_size=600), st.text(max_size=300).map(lambda s: s.encode("utf-8"))))
    def post(body: bytes) -> None:
        response = _signed(bot, body)
        assert response.status_code < 500, (body, response.status_code, response.text)

    post()
    _still_serving(bot)


XML_NAMES = st.sampled_from(["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "Event",
                             "EventKey", "Recognition", "MsgID", "Status", "Ticket", "Label", "Location_X"])
XML_VALUES = st.one_of(
    st.sampled_from(["text", "event", "voice", "image", "subscribe", "SCAN", "CLICK", "qrscene_b_X", "u-fz",
                     "1", "0", "-1", "99999999999999999999", "", "帮助", "绑定 ABC"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20),
    st.just("<a>nested</a>"),
    st.just("a]]>b"),
)


def test_fuzz_message_shaped_bodies_never_5xx(bot):
    @FUZZ
    @given(st.lists(st.tuples(XML_NAMES, XML_VALUES), max_size=8))
    def post(fields: list[tuple[str, str]]) -> None:
        inner = "".join(
            f"<{name}>{value}</{name}>" if value.startswith("<a>") else f"<{name}>{cdata(value)}</{name}>"
            for name, value in fields
        )
        response = _signed(bot, f"<xml>{inner}</xml>")
        assert response.status_code < 500, (fields, response.status_code, response.text)
        if response.status_code == 200 and response.text != "success":
            xmltodict.parse(response.text)  # whatever we answer is well-formed

    post()
    _still_serving(bot)


def test_fuzz_text_content_always_gets_a_well_formed_reply(bot):
    @FUZZ
    @given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=80))
    def post(content: str) -> None:
        result = bot.pusher.post(bot.pusher.text("u-fuzz", content))  # the pusher parses (and would reject) the reply
        assert result.status == 200
        assert result.text

    post()
