"""What a villager types at first try: a short 没看懂, natural openings, a keyword inside a dialog, the
number forms, the final "。" of speech recognition, and the name of a follower who has not said theirs."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.topics.refs import parse_ref
from models import Organisation, Topic
from tests.chat_hints import bad_hints
from tests.topic_world import build, who


@pytest.fixture
def world(db):
    return build(db)


def _topic(db, title):
    db.expire_all()
    return db.scalar(select(Topic).where(Topic.title == title))


# ---- 没看懂 -------------------------------------------------------------------------------------------

def test_not_understood_is_short_and_fits_the_person(bot, db, services, world):
    stranger = bot.send("u-new", "今天天气不错")
    villager = bot.send("u-zhang", "今天天气不错")
    convenor = bot.send("c-v1", "今天天气不错")
    reviewer = bot.send("p-v1", "今天天气不错")
    for openid, reply in (("u-new", stranger), ("u-zhang", villager), ("c-v1", convenor), ("p-v1", reviewer)):
        assert reply.startswith("没看懂") and len(reply.splitlines()) <= 5, reply
        assert "帮助" in reply and "· " not in reply  # the next steps, not the whole list
        assert bad_hints(db, services, openid, reply, False) == []
    assert "绑定 邀请码" in stranger and "提议" not in stranger
    assert "“提议 内容”" in villager and "“我的议题”" in villager and "待审" not in villager and "投票" not in villager
    assert "“待审”" in convenor and "“议题清单”" in convenor
    assert "“待审”" in reviewer
    assert "没看懂" not in bot.send("u-zhang", "帮助") and "· " in bot.send("u-zhang", "帮助 提议")


def test_not_understood_offers_the_open_poll(bot, db, world):
    assert "请核对" in bot.send("c-v1", "发起投票 村口路灯装在哪？：东头／西头 截止 5天")
    assert "已发起投票" in bot.send("c-v1", "确认")
    reply = bot.send("u-zhang", "嗯嗯")
    assert "“投票”" in reply and len(reply.splitlines()) <= 5
    bot.send("u-zhang", "投票 1 1")
    assert "“投票”" not in bot.send("u-zhang", "嗯嗯")  # voted: nothing open for them any more


# ---- natural openings and speech recognition's "。" ---------------------------------------------------

@pytest.mark.parametrize(("said", "title"), [
    ("我想提议修桥。", "修桥"), ("我要提议修一下水渠！", "修一下水渠"), ("我要提个建议：村口装路灯", "村口装路灯"),
    ("我想提个建议，把垃圾桶挪远点？", "把垃圾桶挪远点"), ("提议 修一下村北的路。", "修一下村北的路"),
])
def test_natural_openings_propose_and_the_final_mark_is_not_stored(bot, db, world, said, title):
    reply = bot.send("u-zhang", said)
    assert "已登记" in reply, reply
    assert _topic(db, title) is not None


def test_openings_without_a_topic_start_the_dialog_and_other_openings_map(bot, db, world):
    assert "想商量什么事" in bot.send("u-zhang", "我想提议。")
    bot.send("u-zhang", "取消")
    assert "想商量什么事" in bot.send("u-zhang", "我要提个建议")
    bot.send("u-zhang", "取消")
    assert "没有您可以参加的投票" in bot.send("u-zhang", "想投票")
    assert "没有您可以参加的投票" in bot.send("u-zhang", "我要投票。")
    assert "绑定 邀请码" in bot.send("u-new", "怎么绑定？") and "没看懂" not in bot.send("u-new", "怎么绑定")
    assert "您可以发送" in bot.send("u-zhang", "怎么用") and "没看懂" not in bot.send("u-zhang", "怎么用？")
    assert "您可以发送" in bot.send("u-zhang", "我的议题。") or "您还没有" in bot.send("u-zhang", "我的议题。")


# ---- a keyword inside a dialog -----------------------------------------------------------------------

def test_a_keyword_inside_a_dialog_asks_whether_to_leave(bot, db, world):
    bot.send("u-zhang", "提议")
    ask = bot.send("u-zhang", "提议")
    assert "您正在填写议题" in ask and "要离开" in ask and "回复“是”离开" in ask and "回复“否”" in ask
    assert "接着填写议题" in bot.send("u-zhang", "否")
    bot.send("u-zhang", "村东头的路坑坑洼洼")
    assert "您正在填写议题" in bot.send("u-zhang", "我的议题")  # in the detail step too
    assert "请回复“是”离开" in bot.send("u-zhang", "随便说一句")
    assert "接着填写议题" in bot.send("u-zhang", "否")
    confirm = bot.send("u-zhang", "没有")
    assert "议题：村东头的路坑坑洼洼" in confirm and "说明" not in confirm  # the keyword was not saved as the answer
    assert "已登记" in bot.send("u-zhang", "确认")
    topic = _topic(db, "村东头的路坑坑洼洼")
    assert topic is not None and topic.detail == ""


def test_yes_leaves_the_dialog_and_does_what_was_typed(bot, db, world):
    bot.send("u-zhang", "提议")
    bot.send("u-zhang", "帮助")
    left = bot.send("u-zhang", "是")
    assert "您可以发送" in left  # the help it was asked for
    assert "没看懂" in bot.send("u-zhang", "村东头的路坑坑洼洼")  # the dialog is over: nothing is proposed
    assert _topic(db, "村东头的路坑坑洼洼") is None


def test_plain_answers_and_cancel_still_work_in_a_dialog(bot, db, world):
    bot.send("u-zhang", "提议")
    assert "要补充说明吗" in bot.send("u-zhang", "帮助困难户修房子")  # starts like a keyword, is no keyword
    assert "已退出" in bot.send("u-zhang", "取消")


# ---- one number form ---------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["2026-001", "2026-1", "1", "1号", "第1号", "议题1", "1号议题", "2026年1号",
                                   "东风村2026-001", "v1/2026-001"])
def test_parse_ref_reads_every_form(typed):
    ref = parse_ref(typed)
    assert ref.seq == 1 and ref.year in (None, 2026)


@pytest.mark.parametrize("typed", ["议题 {y}-001", "议题 {y}-1", "议题 1", "议题 1号", "议题 第1号", "议题1", "1号议题",
                                   "议题 东风村{y}-001", "议题 东风村 {y}-001", "议题 v1/{y}-001", "查议题 {y}年1号"])
def test_every_number_form_finds_the_topic(bot, db, world, typed):
    bot.send("u-zhang", "提议 修一下村东头的路")
    topic = _topic(db, "修一下村东头的路")
    assert topic.number == f"{topic.year}-001"  # this year's first topic
    shown = bot.send("u-zhang", typed.format(y=topic.year))
    assert f"议题 {topic.number}（已登记）" in shown, shown


def test_replies_show_one_number_form_and_never_an_organisation_code(bot, db, world):
    registered = bot.send("u-zhang", "提议 修一下村东头的路")
    n = _topic(db, "修一下村东头的路").number
    assert f"发送“议题 {n}”" in registered and f"联名 {n}" in registered and "议题 1”" not in registered
    upper = bot.send("u-zhang", "向镇里提议 镇上集市缺停车位")
    assert f"联名 幸福镇{n}" in upper and "t1/" not in upper
    assert "已联名" in bot.send("u-wang", f"联名 幸福镇{n}")
    bot.send("u-wang", "提议 修一下红旗村的路")
    for text in (f"筛选 东风村{n} 问卷调查", f"报审 {n}"):
        bot.send("c-v1", text)
    bot.send("c-v2", f"筛选 {n} 问卷调查")
    bot.send("c-v2", f"报审 {n}")
    bot.send("p-v1", f"通过 {n}")
    bot.send("p-v2", f"通过 {n}")
    todo = bot.send("p-t1", "待审")
    assert f"通过 东风村{n}" in todo and f"通过 红旗村{n}" in todo and "v1/" not in todo
    ambiguous = bot.send("p-t1", f"通过 {n}")
    assert "东风村" in ambiguous and "红旗村" in ambiguous and "/" not in ambiguous
    assert "已批准 红旗村" in bot.send("p-t1", f"通过 红旗村 {n} 同意")
    listing = bot.send("o-t1", "议题清单")
    assert "/" not in listing and "幸福镇" in listing


# ---- names -------------------------------------------------------------------------------------------

def test_an_unnamed_follower_is_a_villager_with_a_number_and_is_asked_for_a_name(bot, db, services, world):
    village = db.get(Organisation, world.v1)
    reply = bot.send("u-anon", f"绑定 {village.invite_code}")
    assert "绑定成功" in reply and "我叫 " in reply
    anon = who(db, "u-anon")
    assert anon.display_name == f"村民{anon.id}" and "u-anon" not in anon.display_name
    assert f"您的称呼：村民{anon.id}" in bot.send("u-anon", "我的")
    assert "张小三" in bot.send("u-anon", "我叫 张小三。")
    db.expire_all()
    assert who(db, "u-anon").display_name == "张小三"
    assert "我叫" not in bot.send("u-zhang", f"绑定 {db.get(Organisation, world.v2).invite_code}")  # named already


def test_a_nameless_proposer_shows_as_a_villager_number(bot, db, world):
    village = db.get(Organisation, world.v1)
    bot.send("u-anon", f"绑定 {village.invite_code}")
    bot.send("u-anon", "提议 村口的桥该修了")
    anon = who(db, "u-anon")
    topic = _topic(db, "村口的桥该修了")
    shown = bot.send("u-li", f"议题 {topic.number}")
    assert f"提议人：村民{anon.id}" in shown and "微信用户" not in shown


@pytest.mark.parametrize("said", ["我的议题。", "我的议题？", "我的议题！", "我的议题?"])
def test_speech_marks_are_dropped_from_keywords(bot, db, world, said):
    assert "您还没有提过" in bot.send("u-zhang", said)


def test_speech_marks_are_dropped_from_numbers(bot, db, world):
    bot.send("u-zhang", "提议 修一下村东头的路。")
    n = _topic(db, "修一下村东头的路").number
    assert "开始筛选" in bot.send("c-v1", f"筛选 {n} 问卷调查。")
    assert "（筛选中）" in bot.send("u-zhang", f"议题 {n}。")
