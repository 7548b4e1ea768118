"""The sweeps before a meeting: 议题公示 (R-TOPIC-6) and reminders (R-MEET-2); run twice, nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from domain.meetings import attendance, sweeps
from domain.notices.texts import fmt_time
from models import (
    Audience,
    Delivery,
    DeliveryStatus,
    MeetingStatus,
    Notice,
    NoticeKind,
    TopicState,
)
from tests.test_notices_helpers import T0, TEMPLATE_PATH, drain, meeting, topic, world

CST = ZoneInfo("Asia/Shanghai")


def _recipients(db, notice) -> set[str]:
    return set(db.scalars(select(Delivery.openid).where(Delivery.notice_id == notice.id)))


def _v1_followers() -> set[str]:
    return {"conv-1", "member-1", "fan-1", "fan-2", "fan-3"}


# ---- R-TOPIC-6 ------------------------------------------------------------------------------------
def test_r_topic_6_sweep_publishes_a_missing_topic_notice_once(db, services):
    w = world(db)
    t = topic(db, w["v1"], w["fans"][0])
    m = meeting(db, w["v1"], T0 + timedelta(days=10), topic_row=t, attendees=[w["member"]])
    db.commit()
    [notice] = sweeps.publish_topic_notices(db, T0, services.settings)
    db.commit()
    assert sweeps.publish_topic_notices(db, T0, services.settings) == []
    assert sweeps.publish_topic_notices(db, T0 + timedelta(hours=1), services.settings) == []
    assert notice.kind is NoticeKind.TOPIC_NOTICE and notice.topic_id == t.id and notice.meeting_id == m.id
    assert notice.public_until >= m.starts_at and notice.public_until - notice.public_from >= timedelta(days=7)
    assert "协商会议：11月30日（周日）10:00，村委会议室" in notice.body
    assert _recipients(db, notice) == _v1_followers()
    assert db.scalars(select(Notice).where(Notice.kind == NoticeKind.REMINDER)).all() == []


def test_r_topic_6_late_notice_warns_the_convenor(db, services):
    w = world(db)
    t = topic(db, w["v1"], w["fans"][0])
    meeting(db, w["v1"], T0 + timedelta(days=3), topic_row=t)
    db.commit()
    sweeps.publish_topic_notices(db, T0, services.settings)
    db.commit()
    [warning] = db.scalars(select(Notice).where(Notice.kind == NoticeKind.REMINDER)).all()
    assert "不足规定天数" in warning.body and "11月27日" in warning.body
    assert _recipients(db, warning) == {"conv-1"}


def test_r_topic_6_seven_days_before_the_meeting_is_enough_a_minute_less_is_late(db, services):
    w = world(db)
    on_time = topic(db, w["v1"], w["fans"][0], seq=1)
    late = topic(db, w["v1"], w["fans"][1], seq=2)
    meeting(db, w["v1"], T0 + timedelta(days=7), topic_row=on_time)
    meeting(db, w["v1"], T0 + timedelta(days=7) - timedelta(minutes=1), topic_row=late)
    db.commit()
    assert len(sweeps.publish_topic_notices(db, T0, services.settings)) == 2
    db.commit()
    [warning] = db.scalars(select(Notice).where(Notice.kind == NoticeKind.REMINDER)).all()
    assert "2025-002" in warning.title


def test_r_topic_6_topic_already_noticed_or_withdrawn_is_left_alone(db, services):
    w = world(db)
    noticed = topic(db, w["v1"], w["fans"][0], seq=1)
    withdrawn = topic(db, w["v1"], w["fans"][1], seq=2, state=TopicState.WITHDRAWN)
    meeting(db, w["v1"], T0 + timedelta(days=9), topic_row=noticed)
    meeting(db, w["v1"], T0 + timedelta(days=9), topic_row=withdrawn)
    from domain.notices.outbox import create_notice

    create_notice(db, org=w["v1"], kind=NoticeKind.TOPIC_NOTICE, audience=Audience.FOLLOWERS, title="议题公示",
                  body="……", now=T0 - timedelta(days=1), topic=noticed, public_days=10)  # as schedule_meeting does
    db.commit()
    assert sweeps.publish_topic_notices(db, T0, services.settings) == []


# ---- R-MEET-2 -------------------------------------------------------------------------------------
def _reminder_setup(db, *, live_in_hours: int | None = None):
    """A meeting 80 hours after T0; with ``live_in_hours``, that many hours from now (the senders use the real clock)."""
    w = world(db)
    t = topic(db, w["v1"], w["fans"][0])
    if live_in_hours is None:
        starts = T0 + timedelta(hours=80)
    else:
        starts = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=live_in_hours)
    m = meeting(db, w["v1"], starts, topic_row=t, attendees=[w["member"], w["fans"][0]])
    db.commit()
    return w, m


def test_r_meet_2_reminders_at_each_offset_carry_date_place_and_material(db, services):
    w, m = _reminder_setup(db)
    s = services.settings
    assert sweeps.remind_meetings(db, T0, s) == []
    [first] = sweeps.remind_meetings(db, m.starts_at - timedelta(hours=72), s)
    db.commit()
    assert first.audience is Audience.ATTENDEES and _recipients(db, first) == {"member-1", "fan-1"}
    for line in ("11月23日", "18:00", "地点：村委会议室", "议题：2025-001 村东头道路硬化", "材料：道路硬化方案（宽4米，预算12万元）"):
        assert line in first.body, line
    assert sweeps.remind_meetings(db, m.starts_at - timedelta(hours=71), s) == []
    [day_before] = sweeps.remind_meetings(db, m.starts_at - timedelta(hours=24), s)
    db.commit()
    assert day_before.audience is Audience.MEETING_PUBLIC
    assert _recipients(db, day_before) == _v1_followers()  # attendees and every follower of 东风村
    assert "将于11月23日（周日）18:00在村委会议室召开" in day_before.body
    [last] = sweeps.remind_meetings(db, m.starts_at - timedelta(hours=2), s)
    db.commit()
    assert last.audience is Audience.ATTENDEES
    assert sweeps.remind_meetings(db, m.starts_at - timedelta(hours=2), s) == []
    assert sweeps.remind_meetings(db, m.starts_at + timedelta(minutes=1), s) == []


def test_r_meet_2_reminder_push_itself_says_when_and_where(db, services, fake_wechat):
    w, m = _reminder_setup(db, live_in_hours=71)
    sweeps.remind_meetings(db, datetime.now(UTC), services.settings)  # the 72-hour reminder
    db.commit()
    drain(services)
    [call] = fake_wechat.calls(path=TEMPLATE_PATH, openid="member-1")
    data = {k: v["value"] for k, v in call["body"]["data"].items()}
    assert call["body"]["template_id"] == "TPL_MEETING"
    local = m.starts_at.astimezone(CST)
    assert data["time2"] == f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}" and data["thing3"] == "村委会议室"
    assert data["thing1"] == "会议提醒：东风村协商议事会" and data["thing5"].startswith("回复“通知 ")


def test_r_meet_2_after_downtime_only_the_latest_reminder_goes_out(db, services):
    w, m = _reminder_setup(db)
    made = sweeps.remind_meetings(db, m.starts_at - timedelta(hours=1), services.settings)
    assert [n.source_key.rsplit(":", 1)[1] for n in made] == ["2h"]


def test_r_meet_2_checked_in_attendee_is_not_reminded(db, services, fake_wechat):
    w, m = _reminder_setup(db, live_in_hours=1)
    sweeps.remind_meetings(db, datetime.now(UTC), services.settings)  # the 2-hour reminder
    attendance.check_in(db, m, w["member"], datetime.now(UTC), services.settings)  # as 签到 does
    db.commit()
    drain(services)
    rows = {d.openid: d for d in db.scalars(select(Delivery))}
    assert rows["member-1"].status is DeliveryStatus.SKIPPED and rows["member-1"].last_error == "已办理，无需提醒"
    assert rows["fan-1"].status is DeliveryStatus.SENT
    assert fake_wechat.messages_to("member-1") == []


def test_r_meet_2_moved_meeting_never_gets_a_stale_reminder(db, services, fake_wechat):
    w, m = _reminder_setup(db, live_in_hours=23)
    now = datetime.now(UTC)
    sweeps.remind_meetings(db, now, services.settings)  # the 24-hour reminder
    db.commit()
    m.starts_at += timedelta(days=2)  # moved before the senders got to it
    m.version += 1
    db.commit()
    drain(services)
    assert fake_wechat.calls(path=TEMPLATE_PATH) == []
    assert set(db.scalars(select(Delivery.last_error))) == {"会议已改期/取消"}
    [fresh] = sweeps.remind_meetings(db, now, services.settings)  # the new date: 72 hours ahead now
    db.commit()
    assert fresh.meeting_version == 2 and fmt_time(m.starts_at, CST) in fresh.body
    drain(services)
    assert len(fake_wechat.messages_to("fan-1")) == 1


def test_r_meet_2_cancelled_meeting_gets_no_reminder(db, services, fake_wechat):
    w, m = _reminder_setup(db, live_in_hours=71)
    sweeps.remind_meetings(db, datetime.now(UTC), services.settings)
    m.status = MeetingStatus.CANCELLED
    m.version += 1
    db.commit()
    assert sweeps.remind_meetings(db, datetime.now(UTC) + timedelta(hours=48), services.settings) == []
    drain(services)
    assert fake_wechat.calls(path=TEMPLATE_PATH) == []


def test_r_meet_2_reminder_not_sent_once_the_meeting_has_started(db, services, fake_wechat):
    w, m = _reminder_setup(db)  # the meeting was in 2025: any copy still unsent is too late now
    sweeps.remind_meetings(db, m.starts_at - timedelta(hours=2), services.settings)
    db.commit()
    drain(services)
    assert fake_wechat.calls(path=TEMPLATE_PATH) == []
    assert set(db.scalars(select(Delivery.last_error))) == {"会议已开始，提醒不再发送"}
