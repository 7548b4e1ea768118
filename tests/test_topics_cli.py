"""The topic, meeting and audit commands: same rules as the chat, actor named with --by, one clear line on refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models import Meeting, MeetingStatus, Topic, TopicState
from tests.topic_world import advance, build, new_topic, run_cli

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def world(db):
    return build(db)


def _cli(services, tmp_path, *args):
    return run_cli(services, tmp_path, *args)


def test_r_topic_1_add_list_show(db, services, world, tmp_path):
    added = _cli(services, tmp_path, "topic", "add", "--org", "v1", "--title", "落实秸秆禁烧", "--source",
                 "party_government", "--by", "c-v1", "--cosigner", "u-li")
    assert added.exit_code == 0 and "已登记 东风村 议题 2026-" in added.output and "党委政府点题" in added.output
    listing = _cli(services, tmp_path, "topic", "list", "--org", "t1", "--below")
    assert "v1" in listing.output and "落实秸秆禁烧" in listing.output
    assert "没有符合条件" in _cli(services, tmp_path, "topic", "list", "--org", "v2").output
    number = db.scalar(select(Topic.number))
    shown = _cli(services, tmp_path, "topic", "show", number, "--org", "v1").output
    assert "来源：党委政府点题" in shown and "联名：李四" in shown and "#1" in shown


def test_r_role_4_cli_checks_the_actor(db, services, world, tmp_path):
    topic = new_topic(db, services)
    missing_by = _cli(services, tmp_path, "topic", "screen", topic.number, "--org", "v1", "--method", "hearing")
    assert missing_by.exit_code == 2 and "--by" in missing_by.output
    wrong = _cli(services, tmp_path, "topic", "screen", topic.number, "--org", "v1", "--method", "hearing",
                 "--by", "c-v2")
    assert wrong.exit_code == 1 and "只有东风村的召集人可以筛选" in wrong.output
    assert "没有代码为 nowhere" in _cli(services, tmp_path, "topic", "show", "1", "--org", "nowhere").output
    assert "找不到用户" in _cli(services, tmp_path, "topic", "submit", "1", "--org", "v1", "--by", "ghost").output
    assert "编号写法不对" in _cli(services, tmp_path, "topic", "show", "x-1", "--org", "v1").output
    ok = _cli(services, tmp_path, "topic", "screen", "1", "--org", "v1", "--method", "hearing", "--by", "c-v1")
    assert ok.exit_code == 0 and "现在“筛选中”" in ok.output


def test_cli_meeting_schedule_reschedule_cancel(db, services, world, tmp_path):
    topic = new_topic(db, services)
    advance(db, services, topic, TopicState.RESEARCHED)
    soon = (datetime.now(UTC).astimezone(TZ) + timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
    later = (datetime.now(UTC).astimezone(TZ) + timedelta(days=9)).strftime("%Y-%m-%d 09:00")
    base = ["--org", "v1", "--topic", topic.number, "--by", "c-v1"]
    assert "时间写成" in _cli(services, tmp_path, "meeting", "schedule", *base, "--at", "明天", "--place", "村部").output
    too_soon = _cli(services, tmp_path, "meeting", "schedule", *base, "--at", soon, "--place", "村部")
    assert too_soon.exit_code == 1 and "公示满 7 天" in too_soon.output
    made = _cli(services, tmp_path, "meeting", "schedule", *base, "--at", later, "--place", "村部",
                "--material", "修路方案")
    assert made.exit_code == 0 and "应到 20 人" in made.output and "09:00" in made.output
    moved_at = (datetime.now(UTC).astimezone(TZ) + timedelta(days=12)).strftime("%Y-%m-%d 14:30")
    moved = _cli(services, tmp_path, "meeting", "reschedule", *base, "--at", moved_at, "--reason", "农忙")
    assert "第 2 版" in moved.output and "14:30" in moved.output
    assert "村部" in _cli(services, tmp_path, "meeting", "list", "--org", "v1").output
    cancelled = _cli(services, tmp_path, "meeting", "cancel", *base, "--reason", "方案调整")
    assert cancelled.exit_code == 0
    db.expire_all()
    assert db.scalar(select(Meeting.status)) is MeetingStatus.CANCELLED
    assert db.get(Topic, topic.id).state is TopicState.RESEARCHED
    again = _cli(services, tmp_path, "meeting", "cancel", *base, "--reason", "再取消")
    assert "没有安排好的会议" in again.output


def test_r_topic_7_cli_reconsult_and_withdraw(db, services, world, tmp_path):
    topic = advance(db, services, new_topic(db, services), TopicState.CONSULTED)
    result = _cli(services, tmp_path, "topic", "result", topic.number, "--org", "v1", "--outcome", "no_consensus",
                  "--by", "chair-v1")
    assert "未达成共识" in result.output
    again = _cli(services, tmp_path, "topic", "reconsult", topic.number, "--org", "v1", "--by", "c-v1",
                 "--reason", "补充方案")
    assert again.exit_code == 0 and "待党组织审核" in again.output
    other = new_topic(db, services, "村里修个小公园")
    gone = _cli(services, tmp_path, "topic", "withdraw", other.number, "--org", "v1", "--by", "u-zhang")
    assert "已撤回" in gone.output
