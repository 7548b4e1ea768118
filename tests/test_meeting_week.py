"""One whole meeting through the webhook, as people do it: the convenor schedules it in the chat, a
week passes (the bot's clock moves; signatures still check the real time), attendees check in by QR
code and by code, quorum, agenda, the speaking queue, revision, the vote, minutes, closing, and the
scheduler's seven-day result notice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from models import Meeting, MeetingStatus, Notice, Topic, TopicState
from scheduler import jobs
from tests.driver import live_bot
from tests.meeting_world import MEMBERS, build_world
from tests.topic_world import advance, new_topic, run_cli

TZ = ZoneInfo("Asia/Shanghai")
STAKEHOLDERS = tuple(f"s-v1-{n}" for n in range(1, 11))  # 东风村's approved representatives: the default


class Clock:
    """The bot's clock: the real time plus an offset the test moves."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def test_whole_meeting_through_the_webhook_from_scheduling_to_the_result_notice(services, db, fake_wechat, tmp_path):
    build_world(db)
    clock = Clock()
    topic = advance(db, services, new_topic(db, services, now=clock()), TopicState.RESEARCHED, now=clock())
    with live_bot(services, clock=clock) as bot:
        day = (clock() + timedelta(days=8)).astimezone(TZ)
        scheduled = bot.send("c-v1", f"安排会议 {topic.number} {day.month}月{day.day}日 上午9点 村委会议室")
        db.expire_all()
        meeting = db.scalar(select(Meeting).where(Meeting.topic_id == topic.id))
        code = meeting.checkin_code
        assert f"签到 {code}" in scheduled and len(meeting.attendees) == 20
        qr = run_cli(services, tmp_path, "meeting", "qr", "--org", "v1", "--meeting", str(meeting.id))
        assert qr.exit_code == 0 and f"m_{code}" in qr.output
        assert "签到从" in bot.send("m-v1-1", f"签到 {code}")  # a week early

        clock.offset = meeting.starts_at - timedelta(minutes=20) - datetime.now(UTC)
        for openid in MEMBERS[:7]:
            assert "签到成功" in bot.post(bot.pusher.scan(openid, f"m_{code}")).text
        for openid in STAKEHOLDERS[:6]:
            assert "签到成功" in bot.send(openid, f"签到 {code}")
        assert "至少要到 14 人" in bot.send("c-v1", "开会")  # 13 of 20
        bot.send(STAKEHOLDERS[6], f"签到 {code}")
        assert "已到 14 人（70%）" in bot.send("c-v1", "开会")

        bot.send("c-v1", "下一步")  # the proposer (not an attendee) is not in the room
        assert "互动协商" in bot.send("c-v1", "下一步")
        bot.send("s-v1-1", "发言 支持")
        bot.send("s-v1-2", "发言 支持")
        bot.send("m-v1-1", "发言 反对")
        assert "东风代表1（支持）" in bot.send("c-v1", "下一位")
        assert "东风成员1（反对）" in bot.send("c-v1", "下一位")
        assert "东风代表2（支持）" in bot.send("c-v1", "下一位")
        assert "修订已记录" in bot.send("c-v1", "修订 先硬化村东段 500 米，明年再修其余")
        bot.send("c-v1", "下一步")
        assert "提请确认" in bot.send("c-v1", "下一步")
        assert "表决已开始" in bot.send("c-v1", "表决 投票")
        present = list(MEMBERS[:7]) + list(STAKEHOLDERS[:7])
        for openid in present[:12]:
            assert "已记录您的表态：同意" in bot.send(openid, "同意")
        for openid in present[12:]:
            assert "已记录您的表态：反对" in bot.send(openid, "反对")
        assert "表决结束：达成共识" in bot.send("c-v1", "结束表决")  # 12 of 14 agree
        assert "已记入纪要" in bot.send("c-v1", "纪要 到会 14 人，12 人同意先修村东段")
        assert "会议已结束" in bot.send("c-v1", "闭会")

    db.expire_all()
    assert db.get(Meeting, meeting.id).status is MeetingStatus.CLOSED
    assert db.get(Topic, topic.id).state is TopicState.CONSENSUS
    assert dict(jobs.run_due(services, clock(), only=["result-notices"]))["result-notices"] >= 1
    assert db.scalar(select(Notice).where(Notice.source_key == f"result-notice:t{topic.id}:result")) is not None
