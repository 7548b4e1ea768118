"""Participation records (R-ORG-6, X-三(四)): one member's record, driven through the chat, exported as XLSX and
DOCX and read back; votes counted, never how; council entry/exit and training entered by the CLI."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import func, select

from domain.records import participation
from models import MeetingAttendee, Poll, PollKind, PollVoter, RoleGrant, Speech, SpeechStatus
from tests.meeting_world import build_world, make_meeting, quorum
from tests.topic_world import run_cli, who


@pytest.fixture
def world(db):
    return build_world(db)


def _today(services):
    return datetime.now(UTC).astimezone(services.settings.tz).date()


def _drive_meeting(bot, db, services):
    """A meeting run in the chat: 东风成员1 checks in, speaks twice, votes; 东风成员8 never comes."""
    meeting = make_meeting(db, services)
    for openid in quorum(7, 7):
        assert "签到成功" in bot.send(openid, f"签到 {meeting.checkin_code}")
    assert "会议开始" in bot.send("c-v1", "开会")
    bot.send("c-v1", "下一步")  # the proposer speaks first
    bot.send("c-v1", "下一步")  # 互动协商
    for side in ("支持", "反对"):
        assert "已排队发言" in bot.send("m-v1-1", f"发言 {side}")
        assert "东风成员1" in bot.send("c-v1", "下一位")
        assert "已结束" in bot.send("m-v1-1", "发言结束")
    bot.send("c-v1", "下一步")
    bot.send("c-v1", "下一步")  # 提请确认
    assert "表决已开始" in bot.send("c-v1", "表决 投票")
    for openid in ("m-v1-1", "m-v1-2", "u-zhang", "u-li"):
        assert "已记录您的表态" in bot.send(openid, "同意")
    assert "表决结束" in bot.send("c-v1", "结束表决")
    assert "会议已结束" in bot.send("c-v1", "闭会")
    return meeting


def _secret_vote(bot, db):
    """A secret followers poll in which 东风成员1 chooses 北边."""
    bot.send("c-v1", "发起投票 路灯装哪边？：南边／北边 截止 5天")
    assert "投票" in bot.send("c-v1", "确认")
    db.expire_all()
    poll = db.scalar(select(Poll).where(Poll.kind == PollKind.SIMPLE))
    assert poll.anonymous
    assert "投票成功" in bot.send("m-v1-1", f"投票 {poll.number} 北边")
    return poll


def _topics(bot, db):
    """东风成员1 proposes one topic and co-signs 李四's."""
    assert "已登记" in bot.send("m-v1-1", "提议 村里建一个图书角")
    number = re.search(r"编号 (\d{4}-\d{3})", bot.send("u-li", "提议 村口装一排路灯")).group(1)
    assert "已联名" in bot.send("m-v1-1", f"联名 {number}")
    return number


def _xlsx_text(path) -> list[list[str]]:
    sheet = load_workbook(path).active
    return [[str(c) for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]


def _docx_text(path) -> str:
    doc = Document(str(path))
    cells = [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def _recorded(db, openid):
    """What the meeting tables hold for a person: (expected, attended, speeches, votes)."""
    pid = who(db, openid).id
    expected = db.scalar(select(func.count()).where(MeetingAttendee.person_id == pid))
    attended = db.scalar(select(func.count()).where(MeetingAttendee.person_id == pid,
                                                    MeetingAttendee.checked_in_at.is_not(None)))
    speeches = db.scalar(select(func.count()).where(Speech.person_id == pid, Speech.status == SpeechStatus.DONE))
    votes = db.scalar(select(func.count()).where(PollVoter.person_id == pid))
    return expected, attended, speeches, votes


def test_r_org_6_member_record_exported_matches_what_the_chat_meeting_recorded(bot, db, services, world, tmp_path):
    meeting = _drive_meeting(bot, db, services)
    poll = _secret_vote(bot, db)
    number = _topics(bot, db)
    today = _today(services)
    day = today.isoformat()
    assert "已登记" in run_cli(services, tmp_path, "person", "training", "--org", "v1", "--person", "m-v1-1",
                               "--date", day, "--title", "协商议事能力培训").output
    assert "进入东风村协商议事会" in run_cli(services, tmp_path, "person", "council", "--org", "v1", "--person",
                                       "m-v1-1", "--entered", (today - timedelta(days=3)).isoformat()).output
    db.expire_all()
    assert _recorded(db, "m-v1-1") == (1, 1, 2, 2)  # what the meeting and the polls recorded
    since = (today - timedelta(days=10)).isoformat()
    out_x, out_d = tmp_path / "m1.xlsx", tmp_path / "m1.docx"
    for fmt, out in (("xlsx", out_x), ("docx", out_d)):
        result = run_cli(services, tmp_path, "person", "record", "--person", "m-v1-1", "--from", since, "--to", day,
                         "--format", fmt, "--out", str(out))
        assert result.exit_code == 0 and "已导出 东风成员1" in result.output, result.output
    rows = _xlsx_text(out_x)
    counts = {row[0]: row[1] for row in rows if len(row) == 2}
    assert (counts["应到会议"], counts["实际到会"], counts["会上发言（含网络协商意见）"]) == ("1", "1", "2")
    assert (counts["提出议题"], counts["联名议题"], counts["参加表决（只计次数）"], counts["参加培训"]) == ("1", "1", "2", "1")
    assert [f"姓名：东风成员1（编号 {who(db, 'm-v1-1').id}）"] in rows
    assert any(row[1:] == ["东风村", meeting.title, "到会", "2"] for row in rows), rows
    assert any(number in row and "联名" in row for row in rows)
    assert any("协商议事能力培训" in row for row in rows)
    assert any(row[:1] == ["东风村"] and row[-1] == "在任" for row in rows)
    text = _docx_text(out_d)
    for needle in ("东风成员1", meeting.title, number, "协商议事能力培训", "参加表决（只计次数）", "到会"):
        assert needle in text
    whole = "\n".join(" ".join(row) for row in rows) + text
    for secret in ("北边", "南边", "同意", poll.question):  # neither the choice nor even the polls are named
        assert secret not in whole


def test_r_org_6_absent_member_and_the_period_edges(bot, db, services, world, tmp_path):
    _drive_meeting(bot, db, services)
    today = _today(services)
    out = tmp_path / "m8.xlsx"

    def counts(since, until):
        result = run_cli(services, tmp_path, "person", "record", "--person", "m-v1-8", "--from", since.isoformat(),
                         "--to", until.isoformat(), "--format", "xlsx", "--out", str(out))
        assert result.exit_code == 0, result.output
        rows = _xlsx_text(out)
        return {row[0]: row[1] for row in rows if len(row) == 2}, rows

    found, rows = counts(today, today)  # one day, both ends included
    assert (found["应到会议"], found["实际到会"]) == ("1", "0")
    assert any("缺席" in row for row in rows)
    assert any("东风村（议事会成员，按授予身份日期）" in row for row in rows)  # no term entered: the grant's dates
    assert counts(today + timedelta(days=1), today + timedelta(days=5))[0]["应到会议"] == "0"
    assert counts(today - timedelta(days=5), today - timedelta(days=1))[0]["应到会议"] == "0"


def test_r_org_6_my_record_in_the_chat_shows_only_the_senders_numbers(bot, db, services, world):
    _drive_meeting(bot, db, services)
    mine = bot.send("m-v1-1", "我的履职")
    assert "东风成员1的履职记录" in mine and "到会 1 次" in mine and "会上发言 2 次" in mine
    assert "参加表决 1 次" in mine
    other = bot.send("m-v1-8", "我的履职 东风成员1")  # asking for someone else still answers for oneself
    assert "东风成员8的履职记录" in other and "应到会议 1 次，到会 0 次" in other and "东风成员1" not in other
    fresh = bot.send("u-wang", "我的履职")
    assert "应到会议 0 次" in fresh and "参加培训 0 次" in fresh


def test_r_org_6_council_entry_exit_and_training_refusals(db, services, world, tmp_path):
    today = _today(services)

    def cli(*args):
        return run_cli(services, tmp_path, "person", *args)

    entered = (today - timedelta(days=30)).isoformat()
    assert "不是东风村协商议事会成员" in cli("council", "--org", "v1", "--person", "u-wang", "--entered", entered).output
    assert "进入" in cli("council", "--org", "v1", "--person", "m-v1-2", "--entered", entered).output
    assert "已经登记" in cli("council", "--org", "v1", "--person", "m-v1-2", "--entered", entered).output
    too_early = (today - timedelta(days=31)).isoformat()
    assert "早于进入日期" in cli("council", "--org", "v1", "--person", "m-v1-2", "--exited", too_early).output
    assert "不能晚于今天" in cli("council", "--org", "v1", "--person", "m-v1-2", "--exited",
                               (today + timedelta(days=1)).isoformat()).output
    left = cli("council", "--org", "v1", "--person", "m-v1-2", "--exited", today.isoformat(), "--note", "任期届满")
    assert "退出东风村协商议事会" in left.output
    db.expire_all()
    pid = who(db, "m-v1-2").id
    assert db.scalar(select(RoleGrant).where(RoleGrant.person_id == pid)).revoked_at is not None
    listing = cli("council", "--org", "v1", "--person", "m-v1-2").output
    assert f"{entered} 至 {today.isoformat()}" in listing
    assert "写法不对" in cli("training", "--org", "v1", "--person", "m-v1-3", "--date", "3月1日", "--title", "x").output
    first = cli("training", "--org", "v1", "--person", "m-v1-3", "--date", today.isoformat(), "--title", "议事规则")
    assert first.exit_code == 0
    again = cli("training", "--org", "v1", "--person", "m-v1-3", "--date", today.isoformat(), "--title", " 议事规则 ")
    assert again.exit_code == 1 and "已经登记过了" in again.output
    assert "找不到用户 nobody" in cli("training", "--org", "v1", "--person", "nobody", "--date", today.isoformat(),
                                     "--title", "x").output
    backwards = cli("record", "--person", "m-v1-3", "--from", today.isoformat(),
                    "--to", (today - timedelta(days=1)).isoformat(), "--format", "docx", "--out", str(tmp_path / "x"))
    assert backwards.exit_code == 1 and "结束日期早于开始日期" in backwards.output
    assert not (tmp_path / "x").exists()


def test_r_org_6_summary_per_organisation_for_the_supervisors(bot, db, services, world):
    _drive_meeting(bot, db, services)
    today = _today(services)
    db.expire_all()
    from domain.orgs import tree

    rows = {r.name: r for r in participation.participation_summary(db, tree.get_org(db, "v1"), today, today,
                                                                   services.settings.tz)}
    assert rows["东风成员1"].counts.speeches == 2 and rows["东风成员1"].counts.votes == 1
    assert rows["东风成员8"].counts.expected == 1 and rows["东风成员8"].counts.attended == 0
    assert "议事会成员" in rows["东风成员8"].roles
    assert participation.participation_summary(db, tree.get_org(db, "v2"), today, today)[0].counts.expected == 0
    assert re.fullmatch(r"\d+", str(rows["王书记"].person_id))


def test_r_org_6_a_topic_title_typed_as_a_formula_stays_text_in_the_record(bot, db, services, world, tmp_path):
    """A villager's title such as =HYPERLINK(...) is shown in the XLSX record as typed, never run as a formula."""
    title = '=HYPERLINK("http://evil.example","点这里修路")'
    assert "已登记" in bot.send("m-v1-1", f"提议 {title}")
    out = tmp_path / "record.xlsx"
    today = _today(services).isoformat()
    result = run_cli(services, tmp_path, "person", "record", "--person", "m-v1-1", "--from", today, "--to", today,
                     "--format", "xlsx", "--out", str(out))
    assert result.exit_code == 0, result.output
    cells = [cell for row in load_workbook(out).active.iter_rows() for cell in row if cell.value]
    typed = [cell for cell in cells if "HYPERLINK" in str(cell.value)]
    assert typed, "the title is in the record"
    assert all(cell.data_type != "f" for cell in typed)


def test_r_org_6_a_control_character_in_a_training_title_does_not_break_the_docx(db, services, world, tmp_path):
    """A pasted vertical tab in an entered title never makes the Word record unwritable."""
    today = _today(services).isoformat()
    entered = run_cli(services, tmp_path, "person", "training", "--org", "v1", "--person", "m-v1-3", "--date", today,
                      "--title", "议事\x0b规则培训")
    assert entered.exit_code == 0, entered.output
    out = tmp_path / "record.docx"
    result = run_cli(services, tmp_path, "person", "record", "--person", "m-v1-3", "--from", today, "--to", today,
                     "--format", "docx", "--out", str(out))
    assert result.exit_code == 0, result.output
    text = "\n".join(cell.text for table in Document(out).tables for row in table.rows for cell in row.cells)
    assert re.search(r"议事\s?规则培训", text)
