"""Issue 12: one village per vote (no village hopping), names that impersonate nobody, 代办 only for those who need it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from domain.orgs import people
from models import Delivery, Notice, Person, PollVoter, Role
from tests.driver import live_bot
from tests.test_polls_support import person, poll, questionnaire, villages
from tests.topic_world import run_cli


@pytest.fixture
def two_villages(db):
    """东风村 v1 and 红旗村 v2 with a convenor each, one old villager of v1 and a v1 poll and a v2 poll open now."""
    _, v1, v2 = villages(db)
    person(db, "conv-v1", v1, (v1, Role.CONVENOR), name="王书记")
    person(db, "conv-v2", v2, (v2, Role.CONVENOR), name="刘书记")
    person(db, "old-v1", v1, name="老村民")
    db.commit()
    return v1, v2


def _open_polls(db, v1, v2):
    now = datetime.now(UTC)
    poll(db, v1, now=now)
    poll(db, v2, now=now)
    db.commit()


def _voters(db, org_code: str) -> set[str]:
    from models import Organisation, Poll

    stmt = (select(Person.openid).join(PollVoter, PollVoter.person_id == Person.id)
            .join(Poll, Poll.id == PollVoter.poll_id).join(Organisation, Organisation.id == Poll.org_id)
            .where(Organisation.code == org_code))
    db.expire_all()
    return set(db.scalars(stmt))


# ---- item 2: village hopping -------------------------------------------------------------------------

def test_village_hopping_vote_in_a_then_bind_b_is_refused(bot, db, services, two_villages, tmp_path):
    v1, v2 = two_villages
    assert "绑定成功" in bot.send("u-hop", f"绑定 {v1.invite_code}")
    _open_polls(db, v1, v2)
    assert "投票成功" in bot.send("u-hop", "投票 1 1")
    hop = bot.send("u-hop", f"绑定 {v2.invite_code}")
    assert "已改为绑定" not in hop and "30 天" in hop and "召集人" in hop, hop
    db.expire_all()
    assert people.find_person(db, "u-hop").home_org_id == v1.id
    assert "投票成功" not in bot.send("u-hop", "投票 v2-1 1")
    # 红旗村's convenor approves an early move (a real move of house): the move happens, recorded
    out = run_cli(services, tmp_path, "person", "move", "--person", "u-hop", "--org", "v2", "--by", "conv-v2").output
    assert "红旗村" in out and "刘书记" in out, out
    refused = bot.send("u-hop", "投票 v2-1 1")
    assert "投票成功" not in refused and "开始" in refused and "红旗村" in refused, refused
    back = bot.send("u-hop", f"绑定 {v1.invite_code}")
    assert "已改为绑定" not in back and "30 天" in back, back
    assert _voters(db, "v1") == {"u-hop"} and _voters(db, "v2") == set()
    history = run_cli(services, tmp_path, "person", "history", "--person", "u-hop").output
    lines = [line for line in history.splitlines() if line.strip()]
    assert "东风村" in lines[0] and "邀请码" in lines[0], history
    assert "红旗村" in lines[1] and "刘书记" in lines[1] and "东风村" in lines[1], history


def test_a_move_approved_only_by_a_convenor_of_the_new_village(db, services, two_villages, tmp_path):
    v1, _ = two_villages
    out = run_cli(services, tmp_path, "person", "move", "--person", "old-v1", "--org", "v2", "--by", "conv-v1").output
    assert "召集人" in out and "已迁到" not in out, out
    db.expire_all()
    assert people.find_person(db, "old-v1").home_org_id == v1.id


def test_first_bind_after_a_poll_opened_gets_no_say_in_it(bot, db, two_villages):
    v1, v2 = two_villages
    _open_polls(db, v1, v2)
    assert "绑定成功" in bot.send("u-late", f"绑定 {v1.invite_code}")
    refused = bot.send("u-late", "投票 1 1")
    assert "投票成功" not in refused and "开始" in refused, refused
    assert "投票成功" in bot.send("old-v1", "投票 1 1")  # bound before it opened
    assert _voters(db, "v1") == {"old-v1"}


def test_first_bind_after_a_questionnaire_opened_gets_no_say_in_it(bot, db, two_villages):
    v1, _ = two_villages
    questionnaire(db, v1, now=datetime.now(UTC))
    db.commit()
    assert "绑定成功" in bot.send("u-late", f"绑定 {v1.invite_code}")
    refused = bot.send("u-late", "问卷 1")
    assert "开始" in refused and "哪条路先修" not in refused, refused
    assert "哪条路先修" in bot.send("old-v1", "问卷 1")


def test_setting_first_bind_joins_open_polls_lets_newcomers_vote(services, db, two_villages):
    v1, v2 = two_villages
    _open_polls(db, v1, v2)
    with live_bot(services, rules={"first_bind_joins_open_polls": True}) as bot:
        assert "绑定成功" in bot.send("u-late", f"绑定 {v1.invite_code}")
        assert "投票成功" in bot.send("u-late", "投票 1 1")


def test_setting_move_min_days_zero_allows_a_move_but_not_a_say_in_polls_already_open(services, db, two_villages):
    v1, v2 = two_villages
    with live_bot(services, rules={"move_min_days": 0}) as bot:
        assert "绑定成功" in bot.send("u-hop", f"绑定 {v1.invite_code}")
        _open_polls(db, v1, v2)
        assert "投票成功" in bot.send("u-hop", "投票 1 1")
        assert "已改为绑定" in bot.send("u-hop", f"绑定 {v2.invite_code}")
        assert "投票成功" not in bot.send("u-hop", "投票 1 1")  # v2's poll: opened before the move
        poll(db, v2, now=datetime.now(UTC), question="新的投票？")
        db.commit()
        assert "投票成功" in bot.send("u-hop", "投票 2 1")  # opened after the move: a say in v2
    assert _voters(db, "v1") == {"u-hop"} and _voters(db, "v2") == {"u-hop"}


def test_setting_vote_membership_hours_needs_an_older_binding(services, db, two_villages):
    v1, v2 = two_villages
    with live_bot(services, rules={"vote_membership_hours": 24}) as bot:
        assert "绑定成功" in bot.send("u-new", f"绑定 {v1.invite_code}")
        _open_polls(db, v1, v2)
        refused = bot.send("u-new", "投票 1 1")
        assert "投票成功" not in refused and "24 小时" in refused, refused
        assert "投票成功" in bot.send("old-v1", "投票 1 1")


def test_council_members_still_vote_in_members_polls(bot, db, two_villages):
    from models import Audience

    v1, _ = two_villages
    person(db, "member-away", None, (v1, Role.MEMBER), name="外出成员")
    poll(db, v1, now=datetime.now(UTC), audience=Audience.MEMBERS)
    db.commit()
    assert "投票成功" in bot.send("member-away", "投票 1 1")


# ---- 我叫: no impersonation -----------------------------------------------------------------------------

def test_display_name_may_not_impersonate_a_role_title(bot, db, two_villages):
    v1, _ = two_villages
    bot.send("u-fake", f"绑定 {v1.invite_code}")
    for name in ("东风村书记", "王书记", "召集人", "网格员小李", "村委会主任"):
        reply = bot.send("u-fake", f"我叫 {name}")
        assert "已记下" not in reply, (name, reply)
    db.expire_all()
    assert people.find_person(db, "u-fake").real_name is None
    assert "已记下" in bot.send("u-fake", "我叫 张秀英")


def test_display_name_may_not_copy_another_person_of_the_village(bot, db, two_villages):
    v1, v2 = two_villages
    bot.send("u-copy", f"绑定 {v1.invite_code}")
    reply = bot.send("u-copy", "我叫 老村民")
    assert "已记下" not in reply and "同名" in reply, reply
    person(db, "u-other", v2, name="李桂兰")
    db.commit()
    assert "已记下" in bot.send("u-copy", "我叫 李桂兰")  # another village's name is no impersonation


# ---- 代办: only for people marked as needing help --------------------------------------------------------

def _grid(db, v1):
    person(db, "grid-v1", v1, (v1, Role.GRID_WORKER), name="赵网格")
    db.commit()


def test_proxy_only_for_people_the_convenor_marked_as_needing_help(bot, db, services, two_villages, tmp_path):
    v1, _ = two_villages
    _grid(db, v1)
    person(db, "u-phone", v1, name="李四")
    db.commit()
    refused = bot.send("grid-v1", "代办 李四")
    assert "确认要代" not in refused and "需要帮助" in refused, refused
    who = str(people.find_person(db, "u-phone").id)
    out = run_cli(services, tmp_path, "person", "help", "--org", "v1", "--person", who, "--by", "conv-v1").output
    assert "需要帮助" in out, out
    assert "确认要代 李四" in bot.send("grid-v1", "代办 李四")
    assert "现在开始代 李四 办理" in bot.send("grid-v1", "确认")
    db.expire_all()
    pushed = db.scalars(select(Notice.body).join(Delivery, Delivery.notice_id == Notice.id)
                        .join(Person, Person.id == Delivery.person_id).where(Person.openid == "u-phone")).all()
    assert any("赵网格" in body and "代您办理" in body for body in pushed), pushed
    bot.send("grid-v1", "代办结束")
    run_cli(services, tmp_path, "person", "help", "--org", "v1", "--person", who, "--off")
    assert "确认要代" not in bot.send("grid-v1", "代办 李四")


def test_proxy_help_mark_needs_the_persons_own_village(db, services, two_villages, tmp_path):
    out = run_cli(services, tmp_path, "person", "help", "--org", "v2", "--person", "old-v1").output
    assert "红旗村" in out and "已登记" not in out, out
    db.expire_all()
    assert people.find_person(db, "old-v1").needs_help_at is None


def test_proxy_never_picks_one_of_two_same_named_people_without_asking(bot, db, services, two_villages, tmp_path):
    v1, _ = two_villages
    _grid(db, v1)
    for _ in range(2):
        run_cli(services, tmp_path, "person", "add", "--org", "v1", "--name", "张三")
    for entry in db.scalars(select(Person).where(Person.real_name == "张三")):
        run_cli(services, tmp_path, "person", "help", "--org", "v1", "--person", str(entry.id))
    reply = bot.send("grid-v1", "代办 张三")
    assert "确认要代" not in reply and "1. " in reply and "2. " in reply, reply
    one = next(line for line in reply.splitlines() if line.startswith("1. "))
    two = next(line for line in reply.splitlines() if line.startswith("2. "))
    assert one[3:] != two[3:], reply  # the two lines tell the two people apart
