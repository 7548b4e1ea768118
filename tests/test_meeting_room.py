"""The meeting room (X-13): check-in, the live attendance, opening at quorum (R-MEET-3) with the
stakeholder share (R-MEET-4), through the chat where a person would do it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from domain.errors import InvalidInput, PermissionDenied
from domain.meetings import attendance
from models import Delivery, MeetingStatus, Notice, Person
from tests.meeting_world import MEMBERS, STAKEHOLDERS, build_world, fresh, make_meeting, quorum
from tests.topic_world import run_cli, who


@pytest.fixture
def world(db):
    return build_world(db)


def test_r_meet_3_opens_at_exactly_two_thirds_present_and_not_one_fewer(bot, db, services, world):
    meeting = make_meeting(db, services)
    code = meeting.checkin_code
    for openid in quorum(6, 7):
        assert "签到成功" in bot.send(openid, f"签到 {code}")
    refused = bot.send("c-v1", "开会")
    assert "应到 21 人，已到 13 人" in refused and "三分之二" in refused and "至少要到 14 人" in refused
    assert fresh(db, meeting.id).status is MeetingStatus.SCHEDULED
    assert "签到成功" in bot.send("m-v1-7", f"签到 {code.lower()}")  # exactly 14 of 21, 7 of them stakeholders
    opened = bot.send("c-v1", "开会")
    assert "会议开始" in opened and "已到 14 人（67%）" in opened
    assert fresh(db, meeting.id).status is MeetingStatus.OPEN
    assert "已经开始" in bot.send("c-v1", "开会")


def test_r_meet_4_stakeholders_below_half_of_those_present_refuses(bot, db, services, world):
    meeting = make_meeting(db, services)
    for openid in quorum(8, 6):  # quorum met (14 of 21), 6 stakeholders of 14
        bot.send(openid, f"签到 {meeting.checkin_code}")
    refused = bot.send("c-v1", "开会")
    assert "利益相关方代表 6 人" in refused and "不足一半" in refused and "至少要 7 人" in refused
    assert fresh(db, meeting.id).status is MeetingStatus.SCHEDULED
    bot.send(STAKEHOLDERS[6], f"签到 {meeting.checkin_code}")  # 7 of 15 is still below half
    assert "至少要 8 人" in bot.send("c-v1", "开会")
    bot.send(STAKEHOLDERS[7], f"签到 {meeting.checkin_code}")  # 8 of 16: exactly half
    assert "会议开始" in bot.send("c-v1", "开会")


def test_checkin_twice_is_harmless_and_a_non_attendee_is_told_whom_to_ask(bot, db, services, world):
    meeting = make_meeting(db, services)
    assert "签到成功" in bot.send("m-v1-1", f"签到 {meeting.checkin_code}")
    assert "已经签过到" in bot.send("m-v1-1", f"签到 {meeting.checkin_code}")
    outsider = bot.send("u-wang", f"签到 {meeting.checkin_code}")
    assert "不在这次会议的应到名单上" in outsider and "王书记" in outsider
    assert "没有找到这个会议码" in bot.send("m-v1-1", "签到 ZZZZZZ")
    assert "请写上会场里的会议码" in bot.send("m-v1-1", "签到")
    assert attendance.attendance(db, fresh(db, meeting.id)).present == 1


def test_attendance_for_the_chair_names_who_is_missing(bot, db, services, world):
    meeting = make_meeting(db, services)
    bot.send("u-zhang", f"签到 {meeting.checkin_code}")
    reply = bot.send("chair-v1", "到会")
    assert "应到 21 人，已到 1 人" in reply and "未到：" in reply and "李四" in reply and "张三" not in reply.split("未到：")[1]
    assert bot.send("m-v1-1", "到会") == "您没有这项权限：需要召集人或主持人发送“到会”。"


def test_r_meet_3_opening_tells_every_attendee_the_attendance(bot, db, services, world):
    meeting = make_meeting(db, services)
    for openid in quorum(7, 7):
        bot.send(openid, f"签到 {meeting.checkin_code}")
    bot.send("c-v1", "开会")
    db.expire_all()
    notice = db.scalar(select(Notice).where(Notice.source_key == f"meeting-open:{meeting.id}"))
    assert notice is not None and "应到 21 人，已到 14 人" in notice.body
    told = db.scalars(select(Person.openid).join(Delivery, Delivery.person_id == Person.id)
                      .where(Delivery.notice_id == notice.id)).all()
    assert sorted(told) == sorted(STAKEHOLDERS + MEMBERS)


def test_a_member_cannot_open_the_meeting(db, services, world):
    meeting = make_meeting(db, services)
    with pytest.raises(PermissionDenied, match="召集人或会议主持人"):
        attendance.open_meeting(db, meeting, who(db, "m-v1-1"), datetime.now(UTC), services.settings)


def test_r_meet_3_checkin_opens_at_the_setting_before_the_start(db, services, world):
    start = datetime(2026, 3, 20, 1, 0, tzinfo=UTC)
    meeting = make_meeting(db, services, starts_in=timedelta(days=8), now=start - timedelta(days=8))
    member = who(db, "m-v1-1")
    with pytest.raises(InvalidInput, match="签到从"):
        attendance.check_in(db, meeting, member, start - timedelta(minutes=61), services.settings)
    assert attendance.check_in(db, meeting, member, start - timedelta(minutes=60), services.settings) \
        is attendance.CheckIn.DONE
    later = services.settings.with_overrides(rules={"checkin_opens_minutes": 10})
    with pytest.raises(InvalidInput, match="签到从"):
        attendance.check_in(db, meeting, who(db, "m-v1-2"), start - timedelta(minutes=11), later)


def test_r_meet_3_open_early_minutes_and_quorum_ratio_follow_the_settings(db, services, world):
    start = datetime(2026, 3, 20, 1, 0, tzinfo=UTC)
    meeting = make_meeting(db, services, starts_in=timedelta(days=8), now=start - timedelta(days=8))
    for openid in quorum(5, 6):  # 11 of 21: more than half, below 2/3
        attendance.check_in(db, meeting, who(db, openid), start - timedelta(minutes=40), services.settings)
    chair = who(db, "c-v1")
    with pytest.raises(InvalidInput, match="至少要到 14 人"):
        attendance.open_meeting(db, meeting, chair, start, services.settings)
    half = services.settings.with_overrides(rules={"quorum_ratio": "1/2", "open_early_minutes": 10})
    with pytest.raises(InvalidInput, match="最早"):
        attendance.open_meeting(db, meeting, chair, start - timedelta(minutes=11), half)
    attendance.open_meeting(db, meeting, chair, start - timedelta(minutes=10), half)
    assert meeting.status is MeetingStatus.OPEN


def test_r_meet_4_stakeholder_ratio_follows_the_setting(db, services, world):
    start = datetime(2026, 3, 20, 1, 0, tzinfo=UTC)
    meeting = make_meeting(db, services, starts_in=timedelta(days=8), now=start - timedelta(days=8))
    for openid in quorum(10, 4):  # 4 stakeholders of 14 present
        attendance.check_in(db, meeting, who(db, openid), start, services.settings)
    with pytest.raises(InvalidInput, match="利益相关方"):
        attendance.open_meeting(db, meeting, who(db, "c-v1"), start, services.settings)
    quarter = services.settings.with_overrides(rules={"stakeholder_min_ratio": "1/4"})
    attendance.open_meeting(db, meeting, who(db, "c-v1"), start, quarter)
    assert meeting.status is MeetingStatus.OPEN


def test_meeting_qr_checks_the_scanner_in(bot, db, services, world, fake_wechat, tmp_path):
    meeting = make_meeting(db, services)
    result = run_cli(services, tmp_path, "meeting", "qr", "--org", "v1", "--meeting", str(meeting.id))
    assert result.exit_code == 0, result.output
    scene = f"m_{meeting.checkin_code}"
    assert scene in result.output and "http://weixin.qq.com/q/" in result.output
    made = [q for q in fake_wechat.qrcodes.values() if q["scene"] == {"scene_str": scene}]
    assert made and made[0]["action_name"] == "QR_STR_SCENE" and made[0]["expire_seconds"] > 20 * 60
    first = int(datetime.now(UTC).timestamp())
    assert "签到成功" in bot.post(bot.pusher.scan("m-v1-1", scene, create_time=first)).text
    assert "已经签过到" in bot.post(bot.pusher.scan("m-v1-1", scene, create_time=first + 5)).text
    assert "不在这次会议的应到名单上" in bot.post(bot.pusher.scan("u-wang", scene)).text
    assert attendance.attendance(db, fresh(db, meeting.id)).present == 1


def test_meeting_qr_for_another_organisations_meeting_is_one_line(db, services, world, tmp_path):
    meeting = make_meeting(db, services)
    result = run_cli(services, tmp_path, "meeting", "qr", "--org", "v2", "--meeting", str(meeting.id))
    assert result.exit_code != 0 and "红旗村没有会议" in result.output and "Traceback" not in result.output
