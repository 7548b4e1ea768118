"""What a newcomer and an elderly villager hit walking the README: a short help before binding, poll and
questionnaire numbers in every form a villager types (and the village's name, never its code, where one
number means two polls), help sections a convenor can read, 送达 without a number, the menu hint."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from domain.errors import InvalidInput
from domain.orgs import people
from domain.votes import refs
from models import Organisation, Person, Role
from tests.chat_hints import bad_hints
from tests.test_polls_support import questionnaire, villagers, villages
from tests.topic_world import build


@pytest.fixture
def world(db):
    return build(db)


def _poll(bot, convenor: str, question: str) -> None:
    assert "请核对" in bot.send(convenor, f"发起投票 {question}：东头／西头 截止 5天")
    assert "已发起投票" in bot.send(convenor, "确认")


# ---- before binding -------------------------------------------------------------------------------------

@pytest.mark.parametrize("said", ["帮助", "你好", "怎么用"])
def test_help_before_binding_is_short_and_names_only_what_can_be_sent(bot, db, services, world, said):
    reply = bot.send("u-new", said)
    assert "绑定 邀请码" in reply and len(reply.splitlines()) <= 5, reply
    assert "· " not in reply and "提议 内容" not in reply  # not the whole list of what needs a village
    assert bad_hints(db, services, "u-new", reply, False) == []


def test_help_after_binding_is_the_full_list(bot, db, world):
    reply = bot.send("u-zhang", "帮助")
    assert "· 提议" in reply and "还没绑定" not in reply


def test_a_convenors_help_groups_meeting_words_under_meetings_not_other(bot, db, world):
    reply = bot.send("c-v1", "帮助")
    sections = {line[1:line.index("】")]: line for line in reply.splitlines() if line.startswith("【")}
    assert "议题" in sections and list(sections)[0] == "议题", reply
    for word in ("落实", "上报"):
        assert word not in sections.get("其他", ""), reply
    if "开会" in sections:
        assert "到会" not in sections.get("其他", "") and "签到" not in sections.get("其他", "")


# ---- poll and questionnaire numbers ---------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["1", "１", "1号", "第1号", "第1个", "1。", "东风村1", "东风村第1号", "东风村-1",
                                   "v1-1", "v1/1"])
def test_parse_reads_every_poll_number_form(typed):
    ref = refs.parse(typed, "投票")
    assert ref.number == 1
    assert ref.org_name in (None, "东风村") and ref.org_code in (None, "v1")


@pytest.mark.parametrize("typed", ["", "abc", "0", "1-", "东风村", "99999999", "1 2"])
def test_parse_refuses_what_is_not_a_number_in_plain_words(typed):
    with pytest.raises(InvalidInput) as refused:
        refs.parse(typed, "投票")
    assert "编号是数字" in str(refused.value)


@pytest.mark.parametrize("typed", ["投票 1号", "投票 东风村1", "投票 第1个。", "投票 v1-1"])
def test_every_poll_number_form_finds_the_poll(bot, db, world, typed):
    _poll(bot, "c-v1", "村口路灯装在哪？")
    shown = bot.send("u-zhang", typed)
    assert shown.startswith("投票 1（东风村）"), shown


@pytest.mark.parametrize("typed", ["投票 1号 2", "投票 东风村1 2"])
def test_a_vote_in_the_short_forms_counts(bot, db, world, typed):
    _poll(bot, "c-v1", "村口路灯装在哪？")
    assert "投票成功" in bot.send("u-zhang", typed)


def test_one_number_for_two_polls_names_the_village_never_its_code(bot, db, world):
    db.expire_all()
    zhang = db.scalar(select(Person).where(Person.openid == "u-zhang"))
    town = db.scalar(select(Organisation).where(Organisation.code == "t1"))
    people.grant_role(db, zhang, town, Role.MEMBER)
    db.commit()
    _poll(bot, "c-v1", "村口路灯装在哪？")
    _poll(bot, "c-t1", "镇上集市挪到哪？")
    listing = bot.send("u-zhang", "投票")
    assert "投票 东风村1" in listing and "投票 幸福镇1" in listing and "v1" not in listing, listing
    ambiguous = bot.send("u-zhang", "投票 1")
    assert "“投票 东风村1”" in ambiguous and "“投票 幸福镇1”" in ambiguous, ambiguous
    assert "v1" not in ambiguous and "t1" not in ambiguous
    assert bot.send("u-zhang", "投票 幸福镇1").startswith("投票 1（幸福镇）")
    assert bot.send("u-zhang", "投票 t1-1").startswith("投票 1（幸福镇）")  # the old form still works


def test_a_poll_of_another_village_by_name_is_refused(bot, db, world):
    _poll(bot, "c-v1", "村口路灯装在哪？")
    assert "是东风村的，您不能查看或参加" in bot.send("u-wang", "投票 东风村1 1")
    assert "没有叫“西山村”的村" in bot.send("u-wang", "投票 西山村1")


def test_questionnaire_numbers_in_the_short_forms(bot, db):
    _, v1, v2 = villages(db)
    zhang, outsider = villagers(db, v1, 1)[0], villagers(db, v2, 1)[0]
    questionnaire(db, v1, now=datetime.now(UTC))
    db.commit()
    for typed in ("问卷 1号", "问卷 东风村1", "问卷 第1个。", "问卷 v1-1"):
        reply = bot.send(zhang.openid, typed)
        assert "第 1/4 题" in reply, (typed, reply)
        bot.send(zhang.openid, "取消")
    assert "没有找到问卷 东风村1" in bot.send(outsider.openid, "问卷 东风村1")


# ---- 送达 without a number (the menu's 送达情况 button) ------------------------------------------------------

def test_delivery_without_a_number_reports_the_newest_notice_and_names_the_others(bot, db, world):
    assert "还没有发布过通知" in bot.send("c-v1", "送达")
    for text in ("周六上午开村民代表会", "明天上午8点停水"):
        bot.send("c-v1", f"发布通知 {text}")
        assert "已发布" in bot.send("c-v1", "确认")
    report = bot.send("c-v1", "送达")
    assert report.startswith("通知 2“明天上午8点停水”") and "共 " in report, report
    assert "“送达 1”" in report
    assert "还没有发布过通知" in bot.send("c-v2", "送达")  # 红旗村's convenor sees nothing of 东风村's
    assert "没有这项权限" in bot.send("u-zhang", "送达")


def test_the_convenor_menus_delivery_button_is_the_same_report(bot, db, world):
    bot.send("c-v1", "发布通知 明天上午8点停水")
    bot.send("c-v1", "确认")
    assert (bot.post(bot.pusher.click("c-v1", "KW_送达")).text or "").startswith("通知 1“明天上午8点停水”")


# ---- the terminal client's menu ---------------------------------------------------------------------------

def test_the_menu_says_a_number_taps_once_and_how_to_tap_again():
    from fakewechat.chat_menu import menu_lines  # noqa: PLC0415

    lines = menu_lines({"button": [{"name": "投票问卷", "sub_button": [{"name": "投票", "type": "click", "key": "KW_投票"},
                                                                     {"name": "问卷", "type": "click", "key": "KW_问卷"}]}]})
    assert lines[1] == "【投票问卷】1 投票　2 问卷"
    assert "/menu" in lines[-1] and "再点" in lines[-1]


@pytest.mark.parametrize("key", ["KW_到会", "KW_开会", "KW_表决"])
def test_a_chair_without_a_meeting_today_is_not_told_a_made_up_code(bot, db, world, key):
    reply = bot.post(bot.pusher.click("chair-v1", key)).text or ""
    assert reply.startswith("您今天没有要主持的会议") and "K7M2QX" not in reply and "会议码" in reply, reply


# ---- the demo: a closed poll whose 结果 is the chart picture ------------------------------------------------

def test_the_demo_has_a_closed_poll_with_votes_and_the_banner_says_what_to_send(services, db):
    from bot.demo import seed_demo  # noqa: PLC0415
    from bot.demo.content import CLOSED_VOTES, open_items  # noqa: PLC0415
    from domain.orgs import tree as orgs  # noqa: PLC0415
    from models import Poll  # noqa: PLC0415
    from models.base import utcnow  # noqa: PLC0415

    lines: list[str] = []
    seed_demo(services, echo=lines.append)
    items = open_items(db, utcnow())
    assert items.poll == 1 and items.closed_poll == 2  # the open one keeps the README's number
    closed = db.scalar(select(Poll).where(Poll.org_id == orgs.get_org(db, "demo-v1").id, Poll.number == 2))
    assert closed.finalized_at is not None and closed.voter_count == len(CLOSED_VOTES) and closed.tally_hash
    contents = next(line for line in lines if line.startswith("东风村现有"))
    assert "“投票 1”" in contents and "“结果 2”" in contents and "“问卷 1”" in contents, contents
    assert f"“通知 {items.notice}”" in contents


def test_demo_people_have_distinct_plain_names_not_village_numbers():
    from bot.demo.people import DEMO_FOLLOWERS_PER_VILLAGE, DEMO_MEMBERS_PER_VILLAGE, demo_name  # noqa: PLC0415

    names = [demo_name(i, n) for i in (1, 2) for n in range(1, DEMO_MEMBERS_PER_VILLAGE + DEMO_FOLLOWERS_PER_VILLAGE + 1)]
    assert len(set(names)) == len(names)  # 代办 by name finds one person
    assert all(2 <= len(name) <= 3 and "村" not in name for name in names)


# ---- a keyword without its number gives an example that exists ----------------------------------------------

def test_results_and_questionnaire_results_without_a_number_offer_the_newest(bot, db):
    _, v1, _ = villages(db)
    folks = villagers(db, v1, 1)
    convenor = folks[0]
    people.grant_role(db, convenor, v1, Role.CONVENOR)
    db.commit()
    assert "“问卷”" in bot.send(convenor.openid, "问卷结果")  # none yet: where to look
    for _ in range(2):
        questionnaire(db, v1, now=datetime.now(UTC))
    db.commit()
    assert "问卷结果 2（最新的一个）" in bot.send(convenor.openid, "问卷结果")
    assert "结束问卷 2（最新的一个）" in bot.send(convenor.openid, "结束问卷")
    _poll(bot, convenor.openid, "村口路灯装在哪？")
    assert "结果 1（最新的一个）" in bot.send(convenor.openid, "结果")
