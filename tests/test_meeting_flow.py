"""A whole meeting in the chat (X-13): agenda (R-MEET-5), the speaking queue (R-MEET-6), revision,
confirmation (R-MEET-7), minutes and closing; and online consultation (R-MEET-8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from domain.errors import PermissionDenied
from domain.meetings import attendance, floor, online
from models import (
    AttendeeKind,
    Delivery,
    Meeting,
    MeetingForm,
    MeetingStatus,
    MinuteEntry,
    Notice,
    Person,
    Poll,
    Side,
    Speech,
    SpeechStatus,
    Topic,
    TopicState,
)
from tests.meeting_world import build_world, fresh, make_meeting, quorum
from tests.topic_world import advance, new_topic, run_cli, who


@pytest.fixture
def world(db):
    return build_world(db)


def _open(bot, meeting, present=None):
    for openid in present or quorum(7, 7):
        bot.send(openid, f"签到 {meeting.checkin_code}")
    assert "会议开始" in bot.send("c-v1", "开会")


def _pushes(db, openid, contains):
    stmt = (select(Notice.body).join(Delivery, Delivery.notice_id == Notice.id)
            .join(Person, Person.id == Delivery.person_id).where(Person.openid == openid))
    return [body for body in db.scalars(stmt) if contains in body]


def test_r_meet_5_agenda_walks_the_steps_and_the_proposer_speaks_first(bot, db, services, world):
    meeting = make_meeting(db, services)
    _open(bot, meeting)
    reply = bot.send("c-v1", "下一步")
    assert "提议人发言" in reply
    db.expire_all()
    speaking = db.scalar(select(Speech).where(Speech.meeting_id == meeting.id, Speech.status == SpeechStatus.SPEAKING))
    assert speaking is not None and speaking.person.openid == "u-zhang"  # 张三 proposed the topic
    assert _pushes(db, "u-zhang", "轮到您发言")
    assert "互动协商" in bot.send("c-v1", "下一步")
    db.expire_all()
    assert db.get(Topic, meeting.topic_id).state is TopicState.CONSULTED
    assert "议题修订" in bot.send("c-v1", "下一步")
    assert "提请确认" in bot.send("c-v1", "下一步")
    assert "已经到提请确认" in bot.send("c-v1", "下一步")
    assert _pushes(db, "m-v1-3", "会议进行到：互动协商")  # attendees are told each step


def test_r_meet_6_third_turn_on_the_same_view_is_refused_and_another_view_is_not(bot, db, services, world):
    meeting = make_meeting(db, services)
    _open(bot, meeting)
    bot.send("c-v1", "下一步")
    bot.send("c-v1", "下一步")  # consultation
    assert "已排队发言（支持）" in bot.send("u-li", "发言 支持")
    assert "请 李四（支持）发言" in bot.send("c-v1", "下一位")
    assert "您正在发言" in bot.send("u-li", "发言 支持")
    bot.send("u-li", "发言结束")
    assert "已排队发言（支持）" in bot.send("u-li", "发言 支持")  # second turn on the same view
    bot.send("c-v1", "下一位")
    bot.send("c-v1", "下一位")  # ends it
    refused = bot.send("u-li", "发言 支持")
    assert "已经发言 2 次" in refused and "最多发言 2 次" in refused
    assert "已排队发言（反对）" in bot.send("u-li", "发言 反对")


def _opened_at(db, services, start):
    """A meeting opened at ``start`` on a frozen clock, four people checked in."""
    meeting = make_meeting(db, services, starts_in=timedelta(days=8), now=start - timedelta(days=8))
    for openid in quorum(7, 7):
        attendance.check_in(db, meeting, who(db, openid), start, services.settings)
    attendance.open_meeting(db, meeting, who(db, "c-v1"), start, services.settings)
    return meeting


def test_r_meet_6_speak_max_times_follows_the_setting(db, services, world):
    start = datetime(2026, 3, 20, 1, 0, tzinfo=UTC)
    meeting = _opened_at(db, services, start)
    li, chair = who(db, "u-li"), who(db, "c-v1")
    once = services.settings.with_overrides(rules={"speak_max_times": 1})
    floor.request_floor(db, meeting, li, Side.FOR, start, once)
    floor.end_own_turn(db, meeting, li, start)  # left the queue: a withdrawn request is no turn
    floor.request_floor(db, meeting, li, Side.FOR, start, once)
    floor.call_next(db, meeting, chair, start, once)
    floor.end_own_turn(db, meeting, li, start + timedelta(minutes=2))
    with pytest.raises(PermissionDenied, match="最多发言 1 次"):
        floor.request_floor(db, meeting, li, Side.FOR, start, once)
    floor.request_floor(db, meeting, li, Side.FOR, start, services.settings)  # the default 2 allows a second


def test_r_meet_6_opposing_views_alternate(bot, db, services, world):
    meeting = make_meeting(db, services)
    _open(bot, meeting)
    bot.send("c-v1", "下一步")
    bot.send("c-v1", "下一步")
    bot.send("u-li", "发言 支持")
    bot.send("m-v1-1", "发言 支持")
    bot.send("m-v1-2", "发言 反对")
    assert "李四（支持）" in bot.send("c-v1", "下一位")
    assert "东风成员2（反对）" in bot.send("c-v1", "下一位")  # the opposite view goes before an earlier 支持
    assert "东风成员1（支持）" in bot.send("c-v1", "下一位")
    assert "没有人排队" in bot.send("c-v1", "下一位")


def test_r_meet_6_time_is_up_after_speak_max_minutes_on_a_frozen_clock(db, services, world):
    start = datetime(2026, 3, 20, 1, 0, tzinfo=UTC)
    meeting = _opened_at(db, services, start)
    li, chair = who(db, "u-li"), who(db, "c-v1")
    floor.request_floor(db, meeting, li, Side.FOR, start, services.settings)
    floor.call_next(db, meeting, chair, start, services.settings)
    assert floor.overtime_sweep(db, start + timedelta(minutes=4, seconds=59), services.settings) == 0
    assert floor.overtime_sweep(db, start + timedelta(minutes=5), services.settings) == 1
    assert floor.overtime_sweep(db, start + timedelta(minutes=9), services.settings) == 0  # told once
    assert _pushes(db, "u-li", "发言时间到") and _pushes(db, "c-v1", "发言时间到")
    longer = services.settings.with_overrides(rules={"speak_max_minutes": 8})
    floor.request_floor(db, meeting, who(db, "m-v1-1"), Side.AGAINST, start, longer)
    floor.call_next(db, meeting, chair, start + timedelta(minutes=10), longer)
    assert floor.overtime_sweep(db, start + timedelta(minutes=17), longer) == 0
    assert floor.overtime_sweep(db, start + timedelta(minutes=18), longer) == 1


def test_chair_may_stop_a_speech_and_a_speaker_may_end_their_own(bot, db, services, world):
    meeting = make_meeting(db, services)
    _open(bot, meeting)
    bot.send("c-v1", "下一步")
    bot.send("c-v1", "下一步")
    bot.send("u-li", "发言 反对")
    bot.send("c-v1", "下一位")
    assert "已打断 李四" in bot.send("c-v1", "停止发言")
    assert _pushes(db, "u-li", "打断")
    bot.send("m-v1-1", "发言")
    bot.send("c-v1", "下一位")
    assert "已结束" in bot.send("m-v1-1", "发言结束")
    assert "没有在发言" in bot.send("m-v1-1", "发言结束")
    assert bot.send("m-v1-1", "下一位") == "您没有这项权限：需要召集人或主持人发送“下一位”。"


def test_whole_meeting_vote_confirmation_minutes_and_close(bot, db, services, world):
    meeting = make_meeting(db, services)
    _open(bot, meeting)
    for _ in range(2):
        bot.send("c-v1", "下一步")
    assert "修订已记录" in bot.send("c-v1", "修订 先硬化村东段 500 米")
    assert _pushes(db, "u-li", "先硬化村东段 500 米")
    bot.send("c-v1", "下一步")
    bot.send("c-v1", "下一步")  # 提请确认
    assert "表决已开始" in bot.send("c-v1", "表决 投票")
    for openid in ("u-zhang", "u-li", "s-v1-3", "m-v1-1", "m-v1-2"):
        assert "已记录您的表态：同意" in bot.send(openid, "同意")
    assert "已记录您的表态：反对" in bot.send("m-v1-3", "反对")
    assert bot.send("m-v1-1", "结束表决") == "您没有这项权限：需要召集人或主持人发送“结束表决”。"  # only the chair ends the vote
    assert "表决还在进行" in bot.send("c-v1", "闭会")
    ended = bot.send("c-v1", "结束表决")
    assert "表决结束：达成共识" in ended  # 5 of 6 agree: at least 4/5
    db.expire_all()
    assert db.get(Topic, meeting.topic_id).state is TopicState.CONSENSUS
    assert _pushes(db, "m-v1-3", "【协商结果】") and _pushes(db, "u-wang", "【协商结果】") == []
    assert "第 2 条" in bot.send("c-v1", "纪要 到会 6 人，5 人同意先修村东段")  # the revision is entry 1
    assert "会议已结束" in bot.send("c-v1", "闭会")
    assert fresh(db, meeting.id).status is MeetingStatus.CLOSED
    assert "第 3 条" in bot.send("c-v1", "纪要 会后由村委会组织施工")  # minutes may follow the close
    texts = db.scalars(select(MinuteEntry.text).where(MinuteEntry.meeting_id == meeting.id).order_by(MinuteEntry.id))
    assert list(texts)[0] == "议题修订为：先硬化村东段 500 米"
    from scheduler import jobs

    assert dict(jobs.run_due(services, datetime.now(UTC), only=["result-notices"]))["result-notices"] >= 1
    db.expire_all()
    result = db.scalar(select(Notice).where(Notice.source_key == f"result-notice:t{meeting.topic_id}:result"))
    assert result is not None and result.public_until is not None  # the seven-day result notice (R-RES-2)
    assert _pushes(db, "u-li", "达成共识")


def test_r_meet_7_show_of_hands_is_announced_by_the_chair(bot, db, services, world):
    meeting = make_meeting(db, services)
    _open(bot, meeting)
    for _ in range(4):
        bot.send("c-v1", "下一步")
    assert "请先发送" in bot.send("c-v1", "宣布 达成共识")
    assert "举手表态" in bot.send("c-v1", "表决 举手")
    assert "请写" in bot.send("c-v1", "宣布 差不多")
    assert "已宣布：基本达成共识" in bot.send("c-v1", "宣布 基本达成共识")
    db.expire_all()
    assert db.get(Topic, meeting.topic_id).state is TopicState.BASIC_CONSENSUS
    assert fresh(db, meeting.id).confirm_method == "举手"


def test_a_member_named_secretary_takes_minutes_only_for_that_meeting(bot, db, services, world):
    assert bot.send("m-v1-2", "纪要 试试").startswith("您没有这项权限：需要")
    make_meeting(db, services, secretary_id=who(db, "m-v1-2").id)
    assert "已记入纪要" in bot.send("m-v1-2", "纪要 会前检查会场")
    assert bot.send("m-v1-3", "纪要 试试").startswith("您没有这项权限：需要")


def test_cli_schedule_names_the_chair_secretary_invited_and_online_form(bot, db, services, world, tmp_path):
    topic = advance(db, services, new_topic(db, services), TopicState.RESEARCHED)
    at = (datetime.now(UTC) + timedelta(days=8)).astimezone(services.settings.tz).strftime("%Y-%m-%d 09:00")
    made = run_cli(services, tmp_path, "meeting", "schedule", "--org", "v1", "--topic", topic.number, "--at", at,
                   "--place", "村委会议室", "--by", "c-v1", "--chair", "m-v1-5", "--secretary", "m-v1-6",
                   "--attendee", "u-wang", "--online", *[arg for n in range(1, 12) for arg in ("--stakeholder", f"s-v1-{n}" if n < 11 else "u-li")])
    assert made.exit_code == 0 and "应到 22 人" in made.output, made.output
    meeting = db.scalar(select(Meeting).where(Meeting.topic_id == topic.id))
    assert meeting.form is MeetingForm.ONLINE and meeting.chair.openid == "m-v1-5"
    assert {a.person.openid: a.kind for a in meeting.attendees}["u-wang"] is AttendeeKind.INVITED
    assert "应到 22 人" in bot.send("m-v1-5", f"到会 {meeting.checkin_code}")  # a member, delegated
    assert "由东风成员5主持" in bot.send("c-v1", f"到会 {meeting.checkin_code}")
    refused = run_cli(services, tmp_path, "meeting", "schedule", "--org", "v1", "--topic", topic.number, "--at", at,
                      "--place", "村委会议室", "--by", "c-v1", "--chair", "u-wang")
    assert refused.exit_code != 0 and "Traceback" not in refused.output


def test_r_meet_8_online_consultation_in_the_chat(bot, db, services, world):
    meeting = make_meeting(db, services)
    topic = db.get(Topic, meeting.topic_id)
    assert "网络协商已开始" in bot.send("c-v1", f"网络协商 {topic.number} 48")
    assert fresh(db, meeting.id).form is MeetingForm.ONLINE
    assert _pushes(db, "m-v1-1", "【网络协商】")
    assert "已收到您的意见（支持）" in bot.send("u-li", "意见 支持 先修村东段，雨季前完工")
    assert "已收到您的意见（反对）" in bot.send("m-v1-1", "意见 反对 资金不够，分两年修")
    bot.send("m-v1-2", "意见 支持 同意")
    assert "没有受邀参加的网络协商" in bot.send("u-wang", "意见 支持 我也说一句")
    shown = bot.send("u-zhang", "看意见")
    assert shown.index("先修村东段") < shown.index("资金不够") < shown.index("东风成员2")  # 支持, 反对, 支持
    bot.send("u-li", "意见 支持 再补充一点")
    assert "最多 2 次" in bot.send("u-li", "意见 支持 第三次")
    assert "总结已发给" in bot.send("c-v1", "总结 多数人同意先修村东段")
    assert "已经截止" in bot.send("m-v1-3", "意见 反对 晚了")
    assert "表决已开始" in bot.send("c-v1", "表决 投票")
    for openid in ("u-li", "m-v1-2"):
        bot.send(openid, "同意")
    bot.send("m-v1-1", "反对")
    assert "表决结束：基本达成共识" in bot.send("c-v1", "结束表决")  # exactly 2 of 3 agree: at least 2/3


def test_online_consultation_waits_for_the_notice_period(db, services, world):
    start = datetime(2026, 3, 20, 1, 0, tzinfo=UTC)
    meeting = make_meeting(db, services, starts_in=timedelta(days=8), now=start - timedelta(days=8))
    topic = db.get(Topic, meeting.topic_id)
    from domain.errors import Conflict

    with pytest.raises(Conflict, match="公示要满 7 天"):
        online.open_online(db, topic, who(db, "c-v1"), 24, start - timedelta(days=1, seconds=1), services.settings)
    online.open_online(db, topic, who(db, "c-v1"), 24, start - timedelta(days=1), services.settings)


# ---- attacks found by a review (each failed before its fix) -------------------------------------------

def test_one_result_per_meeting_hands_cannot_overrule_a_running_vote(bot, db, services, world):
    meeting = make_meeting(db, services)
    _open(bot, meeting)
    bot.send("c-v1", "表决 投票")
    for openid in quorum(7, 7):
        bot.send(openid, "反对")
    assert "表决还在进行" in bot.send("c-v1", "表决 举手")
    assert "表决还在进行" in bot.send("c-v1", "宣布 达成共识")
    assert "未达成共识" in bot.send("c-v1", "结束表决")
    assert "已经宣布了协商结果" in bot.send("c-v1", "表决 投票")
    assert "已经宣布了协商结果" in bot.send("c-v1", "宣布 达成共识")
    db.expire_all()
    assert db.get(Topic, meeting.topic_id).state is TopicState.NO_CONSENSUS


def test_a_confirmation_cannot_start_before_the_meeting_opens(bot, db, services, world):
    meeting = make_meeting(db, services)
    for openid in ("m-v1-1", "m-v1-2"):
        bot.send(openid, f"签到 {meeting.checkin_code}")
    assert "会议还没有开始" in bot.send("c-v1", f"发起确认 {meeting.id}")
    db.expire_all()
    assert db.get(Topic, meeting.topic_id).state is TopicState.NOTICED


def test_only_the_chair_ends_a_meeting_vote_and_a_vote_ended_by_time_is_announced(bot, db, services, world):
    from scheduler import jobs

    meeting = make_meeting(db, services, chair_id=who(db, "m-v1-1").id)
    for openid in quorum(7, 7):
        bot.send(openid, f"签到 {meeting.checkin_code}")
    assert "会议开始" in bot.send("m-v1-1", "开会")
    assert "表决已开始" in bot.send("m-v1-1", "表决 投票")
    poll_number = db.scalar(select(Poll.number).where(Poll.meeting_id == meeting.id))
    assert "会议主持人" in bot.send("c-t1", f"结束投票 v1-{poll_number}")  # the township convenor
    assert "会议主持人" in bot.send("c-v1", f"结束投票 {poll_number}")
    bot.send("m-v1-2", "同意")
    later = datetime.now(UTC) + timedelta(minutes=services.settings.polls.confirmation_minutes + 1)
    jobs.run_due(services, later, only=["poll-closing"])
    db.expire_all()
    assert db.scalar(select(Notice).where(Notice.source_key == f"meeting-result:{meeting.id}")) is not None


def test_an_answer_with_punctuation_is_understood(bot, db, services, world):
    meeting = make_meeting(db, services)
    _open(bot, meeting)
    bot.send("c-v1", "表决 投票")
    assert "已记录您的表态：同意" in bot.send("m-v1-1", "同意！")
    assert "已记录您的表态：反对" in bot.send("m-v1-2", "反对了")


def test_online_hours_in_other_scripts_get_a_clear_reply(bot, db, services, world):
    meeting = make_meeting(db, services)
    topic = db.get(Topic, meeting.topic_id)
    assert "小时数" in bot.send("c-v1", f"网络协商 {topic.number} ፩")


def test_a_named_secretary_from_another_village_cannot_read_attendance_or_queue(bot, db, services, world):
    meeting = make_meeting(db, services, secretary_id=who(db, "c-v2").id)
    assert "主持" in bot.send("c-v2", f"到会 {meeting.checkin_code}")
    assert "未到" not in bot.send("c-v2", "到会")
    assert "正在发言" not in bot.send("c-v2", "发言队列")


def test_a_member_secretary_writes_minutes_after_the_close(bot, db, services, world):
    meeting = make_meeting(db, services, secretary_id=who(db, "m-v1-2").id)
    _open(bot, meeting)
    assert "会议已结束" in bot.send("c-v1", "闭会")
    assert "已记入纪要" in bot.send("m-v1-2", "纪要 会后补记：下周开工")


def test_a_chair_with_two_open_meetings_names_the_code(bot, db, services, world):
    first = make_meeting(db, services)
    second = make_meeting(db, services, text="村西头的桥要加护栏")
    _open(bot, first)
    for openid in quorum(7, 7):
        bot.send(openid, f"签到 {second.checkin_code}")
    assert "会议开始" in bot.send("c-v1", f"开会 {second.checkin_code}")
    assert "几个正在开的会议" in bot.send("c-v1", "下一步")
    assert "提议人发言" in bot.send("c-v1", f"下一步 {second.checkin_code}")
    assert "修订已记录" in bot.send("c-v1", f"修订 {first.checkin_code} 只修村东段")
    assert fresh(db, first.id).revised_text == "只修村东段" and fresh(db, second.id).revised_text == ""


def test_online_consultations_need_no_check_in(bot, db, services, world):
    meeting = make_meeting(db, services)
    topic = db.get(Topic, meeting.topic_id)
    bot.send("c-v1", f"网络协商 {topic.number} 24")
    assert "不用签到" in bot.send("m-v1-1", f"签到 {meeting.checkin_code}")
