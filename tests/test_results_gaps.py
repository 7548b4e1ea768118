"""Gaps of issue 14 filled: a chat keyword for finishing implementation (落实完成, with its pushes and the R-RES-2
result notice), and the roles of R-ROLE-2 (who sits in a meeting, X-7) and R-ROLE-3 (the party reviewer approves
and confirms, the upper office receives the filings). Through the webhook and the CLI."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from domain.topics import audit
from domain.topics import operations as topics
from domain.topics import results as result_notices
from models import (
    AttendeeKind,
    MeetingAttendee,
    Notice,
    NoticeKind,
    Topic,
    TopicEvent,
    TopicState,
)
from tests.meeting_world import make_meeting, quorum
from tests.topic_world import advance, build, new_topic, notices_to, person, run_cli, who


@pytest.fixture
def world(db):
    return build(db)


def _implementing(bot, db, services, text="修一下村东头的路") -> Topic:
    """A 东风村 topic with consensus, confirmed and being implemented, each step by its chat keyword."""
    now = datetime.now(UTC)
    topic = advance(db, services, new_topic(db, services, text, now=now), TopicState.CONSULTED, now=now)
    topics.record_result(db, topic, TopicState.CONSENSUS, who(db, "c-v1"), now, "举手表决")
    db.commit()
    assert "已确认" in bot.send("p-v1", f"确认结果 {topic.number}")
    assert "开始落实" in bot.send("c-v1", f"落实 {topic.number}")
    return _fresh(db, topic)


def _fresh(db, topic: Topic) -> Topic:
    db.expire_all()
    return db.get(Topic, topic.id)


def _events(db, topic: Topic, action: str) -> list[TopicEvent]:
    db.expire_all()
    return list(db.scalars(select(TopicEvent).where(TopicEvent.topic_id == topic.id, TopicEvent.action == action)))


# ---- 落实完成: the convenor finishes implementation in the chat ------------------------------------------------

def test_r_res_2_convenor_finishes_implementation_by_chat_and_the_result_is_noticed(bot, db, services, world):
    topic = _implementing(bot, db, services)
    n = topic.number
    assert f"落实完成 {n} 落实情况" in bot.send("c-v1", "待审")  # the convenor's to-do names the keyword
    assert "没有这项权限" in bot.send("u-zhang", f"落实完成 {n} 路修好了")
    assert "只有东风村的召集人可以落实完成" in bot.send("c-v2", f"落实完成 v1/{n} 路修好了")
    assert "请写上落实情况" in bot.send("c-v1", f"落实完成 {n}")  # no note and no department feedback yet
    assert "请发送“落实完成 编号 落实情况”" in bot.send("c-v1", "落实完成")
    assert _events(db, topic, "complete") == []

    reply = bot.send("c-v1", f"已落实 {n} 村东路已硬化 500 米")  # the alias
    assert f"议题 {n} 已落实：村东路已硬化 500 米" in reply and "公示 7 天" in reply and f"评价 {n}" in reply
    assert _fresh(db, topic).state is TopicState.IMPLEMENTED
    [done] = _events(db, topic, "complete")
    assert (done.from_state, done.to_state, done.reason, done.actor_id) == (
        "implementing", "implemented", "村东路已硬化 500 米", who(db, "c-v1").id)
    assert any("已落实" in body for _, body in notices_to(db, "u-zhang", topic))  # the proposer is told
    again = bot.send("c-v1", f"落实完成 {n} 村东路已硬化 500 米")  # a copy: nothing recorded twice
    assert again == f"议题 {n} 现在“已落实”，这一步已经有人处理过了。"
    assert len(_events(db, topic, "complete")) == 1

    # R-RES-2: the result-notices sweep publishes the implementation, as for the CLI path
    published = result_notices.publish_results(db, datetime.now(UTC), services.settings)
    db.commit()
    mine = [notice for notice in published if notice.topic_id == topic.id]
    assert len(mine) == 1 and mine[0].kind is NoticeKind.RESULT_NOTICE and "已落实" in mine[0].body
    assert audit.verify(db).ok


def test_r_res_2_finishing_without_a_note_takes_the_departments_latest_feedback(bot, db, services, world, tmp_path):
    topic = _implementing(bot, db, services)
    added = run_cli(services, tmp_path, "topic", "feedback", "--org", "v1", "--topic", topic.number,
                    "--done", "路灯已装 12 盏", "--done-by", "镇交通办")
    assert added.exit_code == 0, added.output
    assert "已落实：按结果反馈第 1 条：路灯已装 12 盏" in bot.send("c-v1", f"落实完成 {topic.number}")
    [done] = _events(db, topic, "complete")
    assert done.reason == "按结果反馈第 1 条：路灯已装 12 盏"
    long = bot.send("c-v1", f"落实完成 {topic.number} " + "修" * 501)  # a long note: a short refusal
    assert long == "说明太长了（501 字），请控制在 500 字以内。"
    assert len(_events(db, topic, "complete")) == 1


def test_r_res_2_finishing_before_implementation_started_is_refused(bot, db, services, world):
    now = datetime.now(UTC)
    topic = advance(db, services, new_topic(db, services, "村口装路灯", now=now), TopicState.CONSULTED, now=now)
    topics.record_result(db, topic, TopicState.CONSENSUS, who(db, "c-v1"), now)
    db.commit()
    reply = bot.send("c-v1", f"落实完成 {topic.number} 装好了")
    assert reply == f"议题 {topic.number} 现在“达成共识”，不能落实完成。下一步由东风村的党组织审核人确认结果。"
    assert _fresh(db, topic).state is TopicState.CONSENSUS and _events(db, topic, "complete") == []


# ---- R-ROLE-2: members, stakeholder representatives and other invited people in a meeting (X-7) ---------------

def test_r_role_2_members_stakeholders_and_invited_people_sit_in_the_meeting_and_its_list(bot, db, services, world,
                                                                                       tmp_path):
    guest = person(db, "guest-1", "镇交通办老刘")  # 与协商议题相关的其他人员, of no village
    db.commit()
    meeting = make_meeting(db, services, invited_ids=[guest.id])
    kinds = {a.person.real_name: a.kind for a in db.scalars(select(MeetingAttendee).where(
        MeetingAttendee.meeting_id == meeting.id))}
    assert kinds["东风成员1"] is AttendeeKind.MEMBER and kinds["东风代表1"] is AttendeeKind.STAKEHOLDER
    assert kinds["张三"] is AttendeeKind.STAKEHOLDER and kinds["镇交通办老刘"] is AttendeeKind.INVITED
    assert "王五" not in kinds  # another village's follower is not a 协商主体 of this topic
    for openid in [*quorum(7, 7), "guest-1"]:
        assert "签到成功" in bot.send(openid, f"签到 {meeting.checkin_code}"), openid
    assert "签到成功" not in bot.send("u-wang", f"签到 {meeting.checkin_code}")  # knowing the code is not enough
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(MeetingAttendee).where(
        MeetingAttendee.meeting_id == meeting.id, MeetingAttendee.checked_in_at.is_not(None))) == 15
    out = tmp_path / "list.csv"
    result = run_cli(services, tmp_path, "meeting", "report", "--org", "v1", "--meeting", str(meeting.id),
                     "--format", "csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    [line] = [row[0] for row in rows if row and row[0].startswith("参加人员")]
    assert "应到 22 人，实到 15 人" in line and "议事会成员 7 人" in line
    assert "利益相关方代表 7 人" in line and "列席人员 1 人：镇交通办老刘" in line


# ---- R-ROLE-3: the party reviewer approves and confirms; the upper office receives the filings ---------------

def test_r_role_3_party_reviewers_approve_and_confirm_and_the_upper_office_receives_the_filings(bot, db, services,
                                                                                              world):
    now = datetime.now(UTC)
    topic = advance(db, services, new_topic(db, services, "修一下村西头的桥", now=now), TopicState.SUBMITTED, now=now)
    n = topic.number
    for openid in ("c-v1", "o-t1", "chair-v1"):  # convenor, upper office, chair: none of them approves
        reply = bot.send(openid, f"通过 v1/{n}")
        assert "没有这项权限" in reply or "只有东风村的党组织审核人" in reply, (openid, reply)
    assert _fresh(db, topic).state is TopicState.SUBMITTED
    assert "已审核" in bot.send("p-v1", f"通过 {n}")  # 审核 by the village party organisation
    assert "已批准" in bot.send("p-t1", f"通过 v1/{n}")  # 批准 by the township party committee
    assert _fresh(db, topic).state is TopicState.APPROVED
    filed = [body for title, body in notices_to(db, "o-t1", topic) if title.startswith("议题备案")]
    assert len(filed) == 1 and "报幸福镇、示范县协商办备案" in filed[0]
    assert [t for t, _ in notices_to(db, "o-c1", topic) if t.startswith("议题备案")]  # the county office too

    topic = advance(db, services, _fresh(db, topic), TopicState.CONSULTED, now=now)
    topics.record_result(db, topic, TopicState.BASIC_CONSENSUS, who(db, "c-v1"), now)
    db.commit()
    for openid in ("c-v1", "o-t1", "p-t1"):  # the result is confirmed by the same level's party organisation only
        assert "已确认" not in bot.send(openid, f"确认结果 v1/{n}"), openid
    assert "已报幸福镇备案" in bot.send("p-v1", f"确认结果 {n}")
    results = [body for title, body in notices_to(db, "o-t1", topic) if title.startswith("结果备案")]
    assert len(results) == 1 and "协商结果已经党组织确认" in results[0]
    assert [t for t, _ in notices_to(db, "o-c1", topic) if t.startswith("结果备案")] == []  # one level up only
    assert db.scalar(select(func.count()).select_from(Notice).where(Notice.topic_id == topic.id,
                                                                     Notice.title.startswith("结果备案"))) == 1
