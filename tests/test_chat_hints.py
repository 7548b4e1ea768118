"""Every hint names something its reader can send now: a scripted session for a villager, a convenor, party
reviewers and a meeting's chair; every "发送“…”" in their replies and pushes is a keyword they may use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from handlers import load_routes, router
from models import Role, Topic
from tests.chat_hints import bad_hints, first_word, hints, in_dialog, pushes_to, receiver
from tests.meeting_world import make_meeting, quorum
from tests.topic_world import build

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def world(db):
    return build(db)


class Transcript:
    """Sends as people, keeps every (openid, reply, dialog open after it)."""

    def __init__(self, bot, services):
        self.bot, self.services, self.seen = bot, services, []

    def send(self, openid: str, text: str) -> str:
        reply = self.bot.send(openid, text) or ""
        self.seen.append((openid, text, reply, in_dialog(self.services, openid)))
        return reply


def _topic(db, title):
    db.expire_all()
    return db.scalar(select(Topic).where(Topic.title == title))


def test_the_hint_reader_finds_quoted_and_listed_hints():
    assert hints("请发送“通过 2026-001”或“退回 2026-001 理由”。") == [("发送", "通过 2026-001"), ("发送", "退回 2026-001 理由")]
    assert hints("· 东风村 2026-001 修路（已报审）\n  发送：通过 2026-001，或 退回 2026-001 理由") == [
        ("发送", "通过 2026-001"), ("发送", "退回 2026-001 理由")]
    assert hints("您没有这项权限：需要党组织审核人发送“通过 7”。") == []  # says who can, not a hint to the reader
    assert first_word("报审 2026-001。") == "报审"


def test_every_keyword_in_the_action_table_is_registered():
    from domain.topics.labels import ACTION_KEYWORDS

    load_routes()
    for action, text in ACTION_KEYWORDS.items():
        assert router.keyword_route(first_word(text)) is not None, action


def test_every_hint_in_a_session_names_a_keyword_its_reader_may_send(bot, db, services, world):
    t = Transcript(bot, services)
    # a villager: help, 没看懂, the proposal dialog with a keyword inside it, their topics
    for text in ("帮助", "今天天气不错", "提议", "帮助", "否", "修一下村西头的桥。", "没有", "确认", "我的议题"):
        t.send("u-zhang", text)
    topic = _topic(db, "修一下村西头的桥")
    assert topic is not None
    n = topic.number
    for text in (f"议题 {n}", f"通过 {n}", "我想提议修一下村口的灯", "帮助 通过", "投票", "问卷", "通知"):
        t.send("u-zhang", text)
    t.send("u-zhang", f"撤回 {_topic(db, '修一下村口的灯').number} 不修了")
    t.send("u-li", f"联名 {n}")
    t.send("u-nobody", "你好呀")
    # the convenor moves it; asks for what only reviewers may do; schedules too early
    for text in ("帮助", "今天天气不错", "待审", f"报审 {n}", f"筛选 {n} 问卷调查", f"安排会议 {n} 12月1日 9:00 村委会",
                 "待审", f"报审 {n}", f"通过 {n}", f"退回 {n} 不清楚", "帮助 通过", "议题清单"):
        t.send("c-v1", text)
    # the village and township reviewers
    for text in ("帮助", "今天天气不错", "待审", f"调研 {n} 走访", f"通过 {n}", f"通过 {n}", "帮助 退回"):
        t.send("p-v1", text)
    for text in ("待审", f"通过 {n} 同意"):
        t.send("p-t1", text)
    for text in (f"安排会议 {n} 12月1日 9:00 村委会", f"调研 {n} 走访 30 户", "待审"):
        t.send("c-v1", text)
    # a meeting with its chair
    meeting = make_meeting(db, services, text="修一下村南的水渠")
    for openid in quorum(7, 7):
        t.send(openid, f"签到 {meeting.checkin_code}")
    for text in ("帮助", "今天天气不错", "到会", "开会", "下一步", "下一步", "下一位", "发言队列"):
        t.send("chair-v1", text)
    t.send("m-v1-1", "下一位")
    t.send("u-zhang", "发言 支持")

    problems = []
    for openid, sent, reply, dialog in t.seen:
        problems += [(openid, sent, hint, reply) for hint in bad_hints(db, services, openid, reply, dialog)]
    readers = {openid for openid, *_ in t.seen}
    for openid in readers:
        for body in pushes_to(db, openid):
            problems += [(openid, "(push)", hint, body) for hint in bad_hints(db, services, openid, body, False)]
    assert problems == [], "\n".join(map(str, problems))
    assert sum(len(hints(reply)) for *_, reply, _ in t.seen) > 30  # the session did see hints


def test_a_refusal_says_who_may_and_what_they_send(bot, db, services, world):
    t = Transcript(bot, services)
    t.send("u-zhang", "提议 修一下村东头的路")
    n = _topic(db, "修一下村东头的路").number
    refused = t.send("c-v1", f"通过 {n}")
    assert refused == f"您没有这项权限：需要党组织审核人或政协专委会发送“通过 {n}”。"
    assert t.send("m-v1-1", "开会") == "您没有这项权限：需要召集人或主持人发送“开会”。"


def test_help_for_any_keyword_says_who_may_use_it(bot, db, services, world):
    approve = bot.send("c-v1", "帮助 通过")
    assert "通过 编号" in approve and "党组织审核人" in approve and "您现在不能用" in approve
    assert "您可以用" in bot.send("p-v1", "帮助 退回")
    assert "所有人" in bot.send("u-zhang", "帮助 提议")
    load_routes()
    ctx = receiver(db, "u-zhang", services)
    for route in router.routes:  # every keyword of every route, new ones too
        for word in (w for w in route.words if w.isalnum()):
            reply = bot.send("u-zhang", f"帮助 {word}")
            assert "没有“" not in reply and "谁可以用" in reply, word
            assert ("您现在不能用" in reply) == (not router.allowed(ctx, route)), word


def test_convenor_after_scheduling_is_told_who_acts_next(bot, db, services, world):
    bot.send("u-zhang", "提议 修一下村东头的路")
    n = _topic(db, "修一下村东头的路").number
    bot.send("c-v1", f"筛选 {n} 问卷调查")
    bot.send("c-v1", f"报审 {n}")
    day = datetime.now(UTC).astimezone(TZ) + timedelta(days=10)
    reply = bot.send("c-v1", f"安排会议 {n} {day.month}月{day.day}日 9:00 村委会")
    assert "审核" in reply and "现在可以：审核" not in reply
    assert "下一步由东风村的党组织审核人审核" in reply
    assert bad_hints(db, services, "c-v1", reply, False) == []


def test_no_route_needs_a_role_nobody_can_hold():
    load_routes()
    for route in router.routes:
        assert all(isinstance(role, Role) for role in route.roles)
