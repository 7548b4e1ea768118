"""An attacker's pass over the chat: forged menu keys, names that pass as offices, 是/否 out of place, replays,
smuggled keywords in natural openings, number forms at the edge, long texts and replayed template receipts.
Every attack gets a short Chinese reply (never the apology of a 500) and stores nothing twice."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.webhook import APOLOGY
from models import Delivery, DeliveryStatus, InboundMessage, Topic
from tests.topic_world import build, new_topic, who

BROKEN = ("抱歉，系统出了点问题", "Traceback", "Internal Server Error")


@pytest.fixture
def world(db):
    return build(db)


def _ok(reply: str | None) -> str:
    """The reply, checked to be a normal short Chinese answer."""
    assert reply, "no reply"
    assert not any(b in reply for b in BROKEN), reply
    assert APOLOGY not in reply
    return reply


def _tap(bot, openid: str, key: str) -> str:
    result = bot.post(bot.pusher.click(openid, key))
    assert result.status == 200, result.status
    return _ok(result.text)


def _topics(db) -> int:
    db.expire_all()
    return db.scalar(select(func.count(Topic.id)))


# ---- forged menu keys --------------------------------------------------------------------------------

def test_forged_click_key_for_a_keyword_the_user_may_not_use_is_refused(bot, db, world, services):
    topic = new_topic(db, services)
    reply = _tap(bot, "u-li", "KW_通过")
    assert "没有这项权限" in reply
    assert "没有这项权限" in _tap(bot, "g-v1", "KW_通过")  # a grid worker is no reviewer either
    db.expire_all()
    assert db.get(Topic, topic.id).state.name == "REGISTERED"


@pytest.mark.parametrize("key", ["KW_" + "帮" * 5000, "KW_帮助 通过", "KW_", "KW_ 帮助", "kw_帮助",
                                 "KW_帮助\n通过", "KW_通过 2026-001"])
def test_forged_click_keys_get_the_stale_menu_reply(bot, db, world, key):
    reply = _tap(bot, "u-zhang", key)
    assert "菜单" in reply or "您可以发送" in reply
    assert len(reply) < 400


def test_a_tap_inside_a_dialog_asks_to_leave_and_a_refused_keyword_ends_in_words(bot, db, world, services):
    topic = new_topic(db, services)
    assert "想商量什么事" in bot.send("u-zhang", "提议")
    assert "要离开" in _tap(bot, "u-zhang", "KW_通过")
    assert "没有这项权限" in _ok(bot.send("u-zhang", "是"))
    assert "已登记" not in _ok(bot.send("u-zhang", "通过 1"))
    db.expire_all()
    assert db.get(Topic, topic.id).state.name == "REGISTERED" and _topics(db) == 1


# ---- names --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["召集人", "东风村党支部", "东风村", "幸福镇老张", "张" * 200, "网 格 员", "召\u200b集人"])
def test_names_that_pass_as_an_office_or_are_too_long_are_refused(bot, db, world, name):
    reply = _ok(bot.send("u-zhang", f"我叫 {name}"))
    assert "已记下" not in reply
    db.expire_all()
    assert who(db, "u-zhang").real_name == "张三"


@pytest.mark.parametrize("name", ["张\x9b三丰", "张\x7f三", "李\u200b四", "李四\u202e", "\u200b", "李\u00ad四", "张\ufeff秀"])
def test_names_with_control_or_invisible_characters_are_refused(bot, db, world, name):
    reply = _ok(bot.send("u-wang", f"我叫 {name}"))
    assert "已记下" not in reply, reply
    db.expire_all()
    assert who(db, "u-wang").real_name == "王五"


# ---- 是 / 否 out of place, twice, and as a retry -------------------------------------------------------

@pytest.mark.parametrize("word", ["是", "否", "是的", "好", "不"])
def test_yes_or_no_without_a_dialog_gets_a_short_reply(bot, db, world, word):
    first = _ok(bot.send("u-zhang", word))
    second = _ok(bot.send("u-zhang", word))
    assert first == second and len(first) < 200
    assert _topics(db) == 0


def test_leave_answer_twice_and_as_a_retry_runs_the_keyword_once(bot, db, world):
    assert "想商量什么事" in bot.send("u-zhang", "提议")
    ask = bot.send("u-zhang", "提议 修一下村北的桥")
    assert "要离开" in ask
    xml = bot.pusher.text("u-zhang", "是", msg_id=987654321)
    first = _ok(bot.post(xml).text)
    again = _ok(bot.post(xml).text)  # WeChat's retry of the same message
    assert first == again and "已登记" in first
    assert _topics(db) == 1 and db.scalar(select(Topic.title)) == "修一下村北的桥"  # not "是"
    after = _ok(bot.send("u-zhang", "是"))  # a second 是: no dialog any more
    assert "已登记" not in after
    assert _topics(db) == 1


def test_replayed_proposal_is_stored_once(bot, db, world):
    xml = bot.pusher.text("u-zhang", "提议 修一下村西的沟", msg_id=123450001)
    replies = {_ok(bot.post(xml).text) for _ in range(3)}
    assert len(replies) == 1
    assert _topics(db) == 1
    db.expire_all()
    assert db.scalar(select(func.count(InboundMessage.id)).where(InboundMessage.openid == "u-zhang")) == 1


# ---- natural openings that smuggle keywords -----------------------------------------------------------

@pytest.mark.parametrize("text", ["我想提议 通过 2026-001", "我要提个建议:通过 2026-001", "我想投票 通过 2026-001",
                                  "我想填问卷 通过 2026-001", "1号议题 通过"])
def test_natural_openings_never_run_a_keyword_the_sender_may_not(bot, db, world, services, text):
    topic = new_topic(db, services)
    _ok(bot.send("u-li", text))
    db.expire_all()
    assert db.get(Topic, topic.id).state.name == "REGISTERED"


# ---- number forms at the edge -------------------------------------------------------------------------

@pytest.mark.parametrize("ref", ["东风村2026-999999999999", "0", "第-1号", "-1", "2026-0", "０", "第七号", "九十九",
                                 "99999", "2026-99999", "0000-001", "9999-001", "第１号", "东风村" * 20 + "1",
                                 "v1/2026-1", "nope/2026-1", "1" * 500])
def test_topic_numbers_at_the_edge_get_a_short_reply(bot, db, world, services, ref):
    new_topic(db, services)
    for text in (f"议题 {ref}", f"联名 {ref}", f"通过 {ref}"):
        reply = _ok(bot.send("p-v1" if text.startswith("通过") else "u-li", text))
        assert len(reply) < 500, reply


@pytest.mark.parametrize("ref", ["0", "-1", "99999999", "１２", "东风村99999999", "第三个", "v1-0", "v1/9999999",
                                 "东风村" * 20 + "1"])
def test_poll_and_questionnaire_numbers_at_the_edge_get_a_short_reply(bot, db, world, ref):
    for text in (f"投票 {ref}", f"问卷 {ref}", f"投票 {ref} 1"):
        assert len(_ok(bot.send("u-zhang", text))) < 500


# ---- one very long message ------------------------------------------------------------------------------

@pytest.mark.parametrize("extra", [0, 1])
def test_a_text_at_and_past_the_length_limit_gets_a_short_reply(bot, db, world, services, extra):
    limit = services.settings.webhook.max_text_chars
    heads = ("提议 ", "我叫 ", "议题 ", "帮助 ", "我想提议", "投票 ", "问卷 ", "通过 ", "联名 ", "评价 ", "代办 ",
             "送达 ", "发布通知 ", "签到 ", "撤回 ", "议题清单 ", "监督 ", "落实 ", "评议 ")
    long = []
    for openid in ("u-zhang", "c-v1", "g-v1"):
        for head in heads:
            reply = _ok(bot.send(openid, head + "路" * (limit - len(head) + extra)))
            if len(reply) >= 300:
                long.append((openid, head, len(reply), reply[:40]))
            bot.send(openid, "取消")
    assert [(o, h, n) for o, h, n, _ in long] == [], long
    assert _topics(db) <= 3


@pytest.mark.parametrize("text", ["通过 2026-001 ", "帮助 ", "投票 "])
def test_a_long_keyword_text_inside_a_dialog_is_not_echoed_whole(bot, db, world, services, text):
    long = text + "路" * (services.settings.webhook.max_text_chars - len(text))
    assert "想商量什么事" in bot.send("u-zhang", "提议")
    ask = _ok(bot.send("u-zhang", long))
    assert "要离开" in ask and len(ask) < 300, len(ask)
    again = _ok(bot.send("u-zhang", "随便说说"))
    assert len(again) < 300, len(again)


# ---- template receipts -----------------------------------------------------------------------------------

def test_template_receipt_for_another_followers_msgid_and_replays_count_once(bot, db, services, fake_wechat):
    from tests.test_notices import _publish
    from tests.test_notices_helpers import drain
    from tests.test_notices_helpers import world as notice_world

    notice_world(db)
    _publish(bot)
    drain(services)
    rows = {d.openid: d for d in db.scalars(select(Delivery))}
    mine, theirs = rows["fan-1"], rows["fan-2"]
    # fan-1 forges a "failed" receipt for fan-2's copy: it must not touch fan-2's copy
    bot.post(bot.pusher.template_send_job_finish("fan-1", int(theirs.wechat_msgid), "failed:user block"))
    for n in range(5):  # WeChat replays the receipt (new CreateTime each time): it counts once
        assert bot.post(bot.pusher.template_send_job_finish(
            "fan-1", int(mine.wechat_msgid), "success", create_time=1_800_000_000 + n)).status == 200
    # a contradicting receipt after the first one does not undo it
    bot.post(bot.pusher.template_send_job_finish("fan-1", int(mine.wechat_msgid), "failed:system failed",
                                                 create_time=1_800_000_100))
    db.expire_all()
    assert db.get(Delivery, theirs.id).status is DeliveryStatus.SENT and db.get(Delivery, theirs.id).final_status is None
    assert db.get(Delivery, mine.id).status is DeliveryStatus.SENT
    assert db.get(Delivery, mine.id).final_status == "success"
    assert "微信确认送达 1" in bot.send("conv-1", "送达 1")
    kept = select(func.count(InboundMessage.id)).where(InboundMessage.msg_type == "event:templatesendjobfinish")
    assert db.scalar(kept) == 1  # the first receipt is the only one that wrote anything


# ---- names that get round the checks with spaces, and a neighbour's name --------------------------------

@pytest.mark.parametrize("name", ["东 风 村老张", "红·旗·村老王", "幸福 镇张三"])
def test_names_with_a_village_name_split_by_spaces_or_marks_are_refused(bot, db, world, name):
    reply = _ok(bot.send("u-wang", f"我叫 {name}"))
    assert "已记下" not in reply, reply
    db.expire_all()
    assert who(db, "u-wang").real_name == "王五"


@pytest.mark.parametrize("name", ["张 三", "张·三", "张三。", "张三!"])
def test_a_neighbours_name_with_spaces_or_marks_is_taken(bot, db, world, name):
    reply = _ok(bot.send("u-li", f"我叫 {name}"))
    assert "已记下" not in reply, reply
    db.expire_all()
    assert who(db, "u-li").real_name == "李四"


# ---- a follower with every village's invite code; a grid worker; another village's poll ------------------

def test_every_invite_code_moves_a_follower_once(bot, db, world):
    from models import Organisation

    codes = {o.name: o.invite_code for o in db.scalars(select(Organisation))}
    first = _ok(bot.send("u-new", f"绑定 {codes['东风村']}"))
    assert "绑定成功" in first
    for code in codes.values():
        _ok(bot.send("u-new", f"绑定 {code}"))
    db.expire_all()
    assert who(db, "u-new").home_org.name == "东风村"  # a second move waits (move_min_days)


def test_grid_worker_cannot_act_for_another_villages_villager(bot, db, world):
    reply = _ok(bot.send("g-v1", "代办 王五"))
    assert "确认要代" not in reply
    _ok(bot.send("g-v1", "提议 替红旗村的人提一件事"))  # the grid worker's own proposal, in 东风村
    db.expire_all()
    assert db.scalar(select(Topic).where(Topic.proposer_id == who(db, "u-wang").id)) is None


@pytest.mark.parametrize("form", ["v2-1", "v2/1", "红旗村1", "红旗村第1号", "红旗村的1"])
def test_another_villages_poll_named_outright_cannot_be_voted(bot, db, world, form):
    from models.polls import PollBallot, PollBallotQueue, PollVoter

    assert "请核对" in bot.send("c-v2", "发起投票 红旗村修路吗？：修／不修 截止 5天")
    assert "已发起投票" in bot.send("c-v2", "确认")
    reply = _ok(bot.send("u-zhang", f"投票 {form} 1"))
    assert "已投" not in reply and "收到" not in reply, reply
    db.expire_all()
    for table in (PollBallot, PollBallotQueue, PollVoter):
        assert db.scalar(select(func.count()).select_from(table)) == 0
