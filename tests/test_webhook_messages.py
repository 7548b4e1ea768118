"""Every kind of message and event WeChat sends gets a sensible reply, or 'success' — never a 500."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from domain.orgs import tree as orgs
from fakewechat.messages import RawXml, render_xml
from models import InboundMessage, OrgKind, Person
from tests.driver import live_bot

HELP_MARK = "您可以发送：\n"  # the head of the help reply (the full list, or its sections when long)
UNBOUND_MARK = "请先发送“绑定 邀请码”"  # an unbound follower's help: how to bind first, not the whole list


def is_help(text: str) -> bool:
    """Whether the reply is the help (a bound follower's list, or an unbound follower's short help)."""
    return HELP_MARK in text or UNBOUND_MARK in text
TEXT_ONLY = "只能处理文字消息"


@pytest.fixture(scope="module")
def bot(session_services):
    """One bot for the module; tests that need empty tables ask for ``services`` or ``db``."""
    with live_bot(session_services) as running:
        yield running


@pytest.fixture
def village(db):
    orgs.create_org(db, code="t1", name="幸福镇", kind=OrgKind.TOWNSHIP)
    created = orgs.create_org(db, code="v1", name="东风村", kind=OrgKind.VILLAGE, parent_code="t1")
    db.commit()
    return created


def _person(services, openid: str) -> Person | None:
    with services.sessions() as session:
        return session.scalar(select(Person).where(Person.openid == openid))


def _inbound_count(services, openid: str) -> int:
    with services.sessions() as session:
        return session.scalar(select(func.count()).select_from(InboundMessage).where(InboundMessage.openid == openid))


def _is_success(result) -> bool:
    return result.status == 200 and result.reply is None and result.body.strip() in ("success", "")


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# ---- text and voice --------------------------------------------------------------------------------

def test_text_help_lists_what_can_be_sent(bot):
    result = bot.pusher.post(bot.pusher.text("u-text", "帮助"))
    assert result.status == 200 and result.reply["MsgType"] == "text"
    assert UNBOUND_MARK in result.text and "我叫" in result.text  # unbound: bind first, nothing it cannot send
    assert result.reply["ToUserName"] == "u-text" and result.reply["FromUserName"] == "gh_shangliang"


def test_unknown_text_gets_the_help_reply(bot):
    reply = bot.send("u-text", "今天天气怎么样")
    assert "没看懂" in reply and "绑定 邀请码" in reply and "帮助" in reply  # short: the next step, not the whole list
    assert HELP_MARK not in reply and len(reply.splitlines()) <= 5


def test_voice_with_recognition_is_treated_as_text(bot):
    result = bot.pusher.post(bot.pusher.voice("u-voice", recognition="帮助。"))
    assert result.status == 200 and is_help(result.text)


def test_voice_recognition_can_bind(bot, services, village):
    result = bot.pusher.post(bot.pusher.voice("u-voice2", recognition=f"绑定 {village.invite_code.lower()}"))
    assert "绑定成功" in result.text
    assert _person(services, "u-voice2").home_org_id == village.id


@pytest.mark.parametrize("recognition", [None, ""])
def test_voice_without_recognition_asks_to_type(bot, recognition):
    result = bot.pusher.post(bot.pusher.voice("u-voice", recognition=recognition))
    assert result.status == 200
    assert "请打字" in result.text


# ---- other message types ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["image", "location", "link", "video", "shortvideo"])
def test_non_text_message_gets_a_polite_reply(bot, session_services, kind):
    openid = f"u-media-{kind}"
    builders = {
        "image": lambda p: p.image(openid),
        "location": lambda p: p.location(openid),
        "link": lambda p: p.link(openid, "公众平台官网链接", "公众平台官网链接", "https://mp.weixin.qq.com"),
        "video": lambda p: p.video(openid),
        "shortvideo": lambda p: p.shortvideo(openid),
    }
    result = bot.pusher.post(builders[kind](bot.pusher))
    assert result.status == 200
    assert TEXT_ONLY in result.text and "帮助" in result.text
    assert _inbound_count(session_services, openid) == 1


def test_unknown_message_type_is_answered_politely(bot):
    xml = render_xml([("ToUserName", "gh_shangliang"), ("FromUserName", "u-odd"),
                      ("CreateTime", int(time.time())), ("MsgType", "hologram"), ("MsgId", 42)])
    result = bot.pusher.post(xml)
    assert result.status == 200
    assert _is_success(result) or TEXT_ONLY in result.text


# ---- follow / unfollow and QR codes (R-ROLE-1) ------------------------------------------------------

def test_subscribe_gets_the_welcome(bot, services):
    result = bot.pusher.post(bot.pusher.subscribe("u-new"))
    assert result.status == 200
    assert "欢迎关注" in result.text and "绑定 邀请码" in result.text
    person = _person(services, "u-new")
    assert person.subscribed and person.subscribed_at is not None


def test_r_role_1_subscribe_with_bind_scene_binds(bot, services, village):
    result = bot.pusher.post(bot.pusher.subscribe("u-qr", scene=f"b_{village.invite_code}"))
    assert result.status == 200
    assert "绑定成功" in result.text and "东风村" in result.text
    person = _person(services, "u-qr")
    assert person.home_org_id == village.id and person.bound_at is not None and person.subscribed


def test_r_role_1_scan_with_bind_scene_binds(bot, services, village):
    bot.pusher.post(bot.pusher.subscribe("u-scan", create_time=int(time.time()) - 5))
    result = bot.pusher.post(bot.pusher.scan("u-scan", f"b_{village.invite_code}"))
    assert "绑定成功" in result.text and "东风村" in result.text
    assert _person(services, "u-scan").home_org_id == village.id
    again = bot.pusher.post(bot.pusher.scan("u-scan", f"b_{village.invite_code}", create_time=int(time.time()) + 1))
    assert "不用重复绑定" in again.text


def test_r_role_1_scan_with_a_stale_code_explains(bot, services, village):
    result = bot.pusher.post(bot.pusher.scan("u-scan2", "b_ZZZZZZZZZZ"))
    assert result.status == 200 and "邀请码不对" in result.text
    assert _person(services, "u-scan2").home_org_id is None


def test_r_role_1_subscribe_with_township_scene_is_refused_but_welcomed(bot, services, village):
    with services.sessions() as session:
        town_code = orgs.get_org(session, "t1").invite_code
    result = bot.pusher.post(bot.pusher.subscribe("u-town", scene=f"b_{town_code}"))
    assert result.status == 200
    assert "村、社区或单位" in result.text
    person = _person(services, "u-town")
    assert person.subscribed and person.home_org_id is None


def test_scan_with_another_scene_is_acknowledged(bot):
    result = bot.pusher.post(bot.pusher.scan("u-scan3", "poster-2024"))
    assert result.status == 200 and "帮助" in result.text


def test_resubscribe_of_a_bound_follower_says_welcome_back(bot, village):
    now = int(time.time())
    bot.pusher.post(bot.pusher.subscribe("u-back", scene=f"b_{village.invite_code}", create_time=now - 20))
    bot.pusher.post(bot.pusher.unsubscribe("u-back", create_time=now - 10))
    result = bot.pusher.post(bot.pusher.subscribe("u-back", create_time=now))
    assert "东风村" in result.text


def test_unsubscribe_keeps_binding_and_history(bot, services, village):
    now = int(time.time())
    bot.pusher.post(bot.pusher.subscribe("u-gone", scene=f"b_{village.invite_code}", create_time=now - 10))
    bot.send("u-gone", "我的")
    before = _inbound_count(services, "u-gone")
    result = bot.pusher.post(bot.pusher.unsubscribe("u-gone", create_time=now))
    assert _is_success(result)
    person = _person(services, "u-gone")
    assert person.subscribed is False and person.unsubscribed_at is not None
    assert person.home_org_id == village.id and person.bound_at is not None
    assert _inbound_count(services, "u-gone") == before + 1


# ---- menu and silent events -------------------------------------------------------------------------

def test_click_help_menu(bot):
    result = bot.pusher.post(bot.pusher.click("u-menu", "HELP"))
    assert result.status == 200 and is_help(result.text)


def test_click_mine_menu(bot, village):
    bot.send("u-menu2", f"绑定 {village.invite_code}")
    result = bot.pusher.post(bot.pusher.click("u-menu2", "MINE"))
    assert "东风村" in result.text and "普通群众" in result.text


def test_click_unknown_menu_key_is_not_an_error(bot):
    result = bot.pusher.post(bot.pusher.click("u-menu", "NO_SUCH_KEY"))
    assert result.status == 200


@pytest.mark.parametrize("kind", ["view", "template", "mass", "location-event", "popup", "unknown"])
def test_silent_events_answer_success(bot, session_services, kind):
    openid = f"u-silent-{kind}"
    now = int(time.time())
    head = [("ToUserName", "gh_shangliang"), ("FromUserName", openid), ("CreateTime", now),
            ("MsgType", "event")]
    xml = {
        "view": lambda: bot.pusher.view(openid, "https://example.org/page"),
        "template": lambda: bot.pusher.template_send_job_finish(openid, 200163836),
        "mass": lambda: bot.pusher.mass_send_job_finish(openid, 1000001625, total_count=3),
        "location-event": lambda: render_xml(head + [("Event", "LOCATION"), ("Latitude", 23.137466),
                                                     ("Longitude", 113.352425), ("Precision", 119.385040)]),
        "popup": lambda: render_xml(head + [("Event", "subscribe_msg_popup_event"), ("SubscribeMsgPopupEvent", RawXml(
            "<List><TemplateId><![CDATA[VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc]]></TemplateId>"
            "<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>"
            "<PopupScene>2</PopupScene></List>"))]),
        "unknown": lambda: render_xml(head + [("Event", "something_new_2030"), ("EventKey", "x")]),
    }[kind]()
    result = bot.pusher.post(xml)
    assert _is_success(result), result.body
    assert _is_success(bot.pusher.post(xml))  # WeChat's retry: answered the same way
    assert _inbound_count(session_services, openid) <= 1  # recorded only if it changed something


# ---- normalisation of what people type ----------------------------------------------------------------

@pytest.mark.parametrize("text", ["帮助。", "帮助！", "  帮助  ", "？", "?", "ＨＥＬＰ", "help", "菜单"])
def test_help_variants_are_understood(bot, text):
    reply = bot.send("u-norm", text)
    assert is_help(reply) and "没看懂" not in reply


def test_full_width_invite_code_and_spaces_bind(bot, services, village):
    code = village.invite_code
    typed = "绑定\u3000" + _full_width(code[:5].lower()) + "  " + _full_width(code[5:]) + "。"
    reply = bot.send("u-fw", typed)
    assert "绑定成功" in reply, reply
    assert _person(services, "u-fw").home_org_id == village.id


def test_bind_keyword_glued_to_the_code_binds(bot, services, village):
    reply = bot.send("u-glued", f"绑定{village.invite_code}")
    assert "绑定成功" in reply


def test_first_message_refused_by_a_rule_gets_the_rule_reply(bot, services):
    """A newcomer's first message creates them even when a rule refuses what they asked."""
    reply = bot.send("u-first", "绑定 ZZZZZZZZZZ")
    assert "邀请码不对" in reply and "抱歉" not in reply
    assert _person(services, "u-first") is not None
    assert _inbound_count(services, "u-first") == 1
