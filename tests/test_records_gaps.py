"""Gaps in the participation record (R-ORG-6) and platforms (R-ORG-2): questionnaires answered are counted (the
sheets, never the answers; anonymous ones not at all), the export's period includes both its days to the last
instant, a member without any activity gets an empty record, ``org add --platform`` records the platform."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select, update

from domain.orgs import tree as orgs
from domain.records import participation
from domain.votes import questionnaires
from domain.votes.questionnaire_create import QuestionDraft
from models import Organisation, Platform, QuestionKind, Topic
from tests.test_polls_support import questionnaire
from tests.topic_world import build, new_topic, person, run_cli, who

SINCE, UNTIL = date(2026, 3, 1), date(2026, 3, 3)
ONE_QUESTION = [QuestionDraft(QuestionKind.TEXT, "还有什么建议？", required=False, max_chars=50)]


@pytest.fixture
def world(db):
    made = build(db)
    person(db, "cppcc-9", "钱委员")
    db.commit()
    return made


def _counts(services, tmp_path, openid, since, until, fmt="xlsx"):
    """Export the record through the CLI and read the counts table back."""
    out = tmp_path / f"{openid}.{fmt}"
    result = run_cli(services, tmp_path, "person", "record", "--person", openid, "--from", since.isoformat(),
                     "--to", until.isoformat(), "--format", fmt, "--out", str(out))
    assert result.exit_code == 0, result.output
    if fmt == "docx":
        doc = Document(str(out))
        return {row.cells[0].text: row.cells[1].text for table in doc.tables for row in table.rows
                if len(row.cells) == 2}, "\n".join(p.text for p in doc.paragraphs)
    rows = [[str(c) for c in row if c is not None] for row in load_workbook(out).active.iter_rows(values_only=True)]
    return {row[0]: row[1] for row in rows if len(row) == 2}, rows


def test_r_org_6_questionnaires_answered_are_counted_never_the_answers(bot, db, services, world, tmp_path):
    v1 = orgs.get_org(db, "v1")
    now = datetime.now(UTC)
    named = questionnaire(db, v1, now=now, title="村道修缮意见")
    secret = questionnaire(db, v1, now=now, title="干部作风测评", anonymous=True)
    started = questionnaire(db, v1, now=now, title="路灯意见")
    db.commit()
    for number, replies in ((named.number, ["2", "1和3", "五分", "路边要装护栏"]), (secret.number, ["1", "2", "一分", "跳过"])):
        bot.send("u-zhang", f"问卷 {number}")
        for text in replies:
            reply = bot.send("u-zhang", text)
        assert "已提交" in reply, reply
    bot.send("u-zhang", f"问卷 {started.number}")
    bot.send("u-zhang", "1")  # started, one answer, never submitted
    bot.send("u-zhang", "取消")
    mine = bot.send("u-zhang", "我的履职")
    assert "填写问卷 1 份" in mine  # the named one; the anonymous one is never linked to a person for good
    today = now.astimezone(services.settings.tz).date()
    counts, rows = _counts(services, tmp_path, "u-zhang", today, today)
    assert counts["填写问卷（只计份数，不含匿名问卷）"] == "1"
    whole = "\n".join(" ".join(row) for row in rows)
    for answer in ("路边要装护栏", "学校门口", "村道修缮意见", "干部作风测评"):  # no answer, not even the title
        assert answer not in whole
    assert "填写问卷 0 份" in bot.send("u-li", "我的履职")
    db.expire_all()
    people, sums = participation.totals_by_org(db, [v1.id], today, today, services.settings.tz)[v1.id]
    rows = participation.participation_summary(db, v1, today, today, services.settings.tz)
    assert sums.questionnaires == 1 and people == len(rows)  # the set-based sums agree with the per-person rows
    assert (sums.expected, sums.proposed) == (sum(r.counts.expected for r in rows), sum(r.counts.proposed for r in rows))


def test_r_org_6_record_period_includes_both_days_to_the_last_instant(db, services, world, tmp_path):
    """Acts at 00:00 of the first day and 23:59:59.999999 of the last count; a microsecond outside does not.
    (Topic and sheet timestamps are the inputs here; the counts are what the export derives from them.)"""
    tz = services.settings.tz
    start = datetime(SINCE.year, SINCE.month, SINCE.day, tzinfo=tz)
    end = datetime(UNTIL.year, UNTIL.month, UNTIL.day, tzinfo=tz) + timedelta(days=1)
    edges = [start - timedelta(microseconds=1), start, end - timedelta(microseconds=1), end]
    member = who(db, "m-v1-1")
    for n, at in enumerate(edges):
        topic = new_topic(db, services, f"第{n}个边界议题", openid="m-v1-1", now=at)
        db.execute(update(Topic).where(Topic.id == topic.id).values(created_at=at))
        q = questionnaire(db, orgs.get_org(db, "v1"), now=start - timedelta(days=2), days=10, title=f"边界问卷{n}",
                          questions=ONE_QUESTION)
        sheet, _, _ = questionnaires.begin(db, q, member, at)
        questionnaires.answer(db, q, sheet, q.questions[0], "", at, services.settings.polls, skip=True)
        assert questionnaires.submit(db, q, sheet, at) is None
    db.commit()
    for day in (SINCE - timedelta(days=1), SINCE, UNTIL, UNTIL + timedelta(days=1)):
        result = run_cli(services, tmp_path, "person", "training", "--org", "v1", "--person", "m-v1-1",
                         "--date", day.isoformat(), "--title", "议事规则培训")
        assert result.exit_code == 0, result.output
    for fmt in ("xlsx", "docx"):
        counts, _ = _counts(services, tmp_path, "m-v1-1", SINCE, UNTIL, fmt)
        assert (counts["提出议题"], counts["参加培训"], counts["填写问卷（只计份数，不含匿名问卷）"]) == ("2", "2", "2")
    one_day, _ = _counts(services, tmp_path, "m-v1-1", SINCE, SINCE)
    assert (one_day["提出议题"], one_day["参加培训"], one_day["填写问卷（只计份数，不含匿名问卷）"]) == ("1", "1", "1")


def test_r_org_6_a_member_without_any_activity_gets_a_clean_empty_record(db, services, world, tmp_path):
    for openid in ("cppcc-9", "m-v1-5"):  # no role, nothing done; a member on the roster who never came
        counts, rows = _counts(services, tmp_path, openid, SINCE, UNTIL)
        assert set(counts.values()) <= {"0", "次数", "无"}, counts
        assert ["无"] in rows and any(f"期间：{SINCE} 至 {UNTIL}" in row for row in rows)
        counts, text = _counts(services, tmp_path, openid, SINCE, UNTIL, "docx")
        assert counts["应到会议"] == "0" and "无" in text
    listed, _ = _counts(services, tmp_path, "m-v1-5", SINCE, UNTIL)
    assert listed["应到会议"] == "0"


def test_r_org_2_org_add_with_platform_records_the_platform(cli_world, db, services, tmp_path):
    def cli(*args):
        return run_cli(services, tmp_path, *args)

    added = cli("org", "add", "--code", "v9", "--name", "新村", "--kind", "village", "--parent", "t1",
                "--platform", "联合协商议事室")
    assert added.exit_code == 0, added.output
    assert "已添加 v9 新村" in added.output and "已登记平台 1：新村联合协商议事室（联合协商议事室）" in added.output
    db.expire_all()
    v9 = orgs.get_org(db, "v9")
    assert [(p.number, p.kind.value) for p in db.scalars(select(Platform).where(Platform.org_id == v9.id))] == [
        (1, "joint_room")]
    assert "平台 1：新村联合协商议事室" in cli("org", "platform", "list", "--org", "v9").output
    plain = cli("org", "add", "--code", "v8", "--name", "旧村", "--kind", "village", "--parent", "t1")
    assert plain.exit_code == 0 and "已登记平台" not in plain.output  # without --platform: none recorded
    county = cli("org", "add", "--code", "c9", "--name", "另一县协商办", "--kind", "county_office", "--platform", "room")
    assert county.exit_code != 0 and "县区办公室不设协商议事平台" in county.output
    db.expire_all()
    assert db.scalar(select(Organisation).where(Organisation.code == "c9")) is None  # nothing half made


@pytest.fixture
def cli_world(db):
    return build(db)
