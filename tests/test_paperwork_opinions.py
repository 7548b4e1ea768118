"""The opinion list (协商意见建议清单, R-RES-4, L-三(六)): a meeting run through the chat produces it, it goes up
to the township's office (a push and its 待办) and no other, and it exports as DOCX, PDF and CSV."""

from __future__ import annotations

import csv
import io

import docx
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from domain.orgs import people
from domain.orgs import tree as orgs
from models import Meeting, OpinionList, OrgKind, Role
from tests.meeting_world import build_world, make_meeting, quorum
from tests.topic_world import notices_to, run_cli

REVISED = "先硬化村东段 500 米"


@pytest.fixture
def world(db):
    made = build_world(db)
    town2 = orgs.create_org(db, code="t2", name="太平镇", kind=OrgKind.TOWNSHIP, parent_code="c1")
    person = people.ensure_person(db, "o-t2")
    person.real_name, person.subscribed = "太平镇协商办", True
    people.grant_role(db, person, town2, Role.UPPER_OFFICE)
    db.commit()
    return made


def lists_to(db, openid):
    """(title, body) of the opinion-list pushes queued for a person."""
    return [(t, b) for t, b in notices_to(db, openid) if t.startswith("协商意见建议清单")]


def run_meeting(bot, db, services) -> Meeting:
    """A whole meeting by the chat keywords: check-in, agenda, two speeches, revision, hands, minutes, 闭会."""
    meeting = make_meeting(db, services)
    for openid in quorum(7, 7):
        assert "签到成功" in bot.send(openid, f"签到 {meeting.checkin_code}")
    assert "会议开始" in bot.send("c-v1", "开会")
    bot.send("c-v1", "下一步")
    assert "互动协商" in bot.send("c-v1", "下一步")
    bot.send("s-v1-1", "发言 支持")
    bot.send("m-v1-1", "发言 反对")
    assert "东风代表1（支持）" in bot.send("c-v1", "下一位")
    assert "东风成员1（反对）" in bot.send("c-v1", "下一位")
    bot.send("c-v1", f"修订 {REVISED}")
    bot.send("c-v1", "下一步")
    assert "提请确认" in bot.send("c-v1", "下一步")
    bot.send("c-v1", "表决 举手")
    assert "已宣布：达成共识" in bot.send("c-v1", "宣布 达成共识")
    assert "已记入纪要" in bot.send("c-v1", "纪要 12 人举手同意先修村东段")
    closed = bot.send("c-v1", "闭会")
    assert "会议已结束" in closed and "协商意见建议清单已报送幸福镇" in closed
    db.expire_all()
    return db.get(Meeting, meeting.id)


def test_r_res_4_meeting_by_chat_sends_the_opinion_list_to_the_township_office_only(bot, db, services, world):
    meeting = run_meeting(bot, db, services)
    made = db.scalar(select(OpinionList).where(OpinionList.meeting_id == meeting.id))
    assert made.seq == 1 and made.sent_count == 1 and made.upper_org.code == "t1" and made.sent_at is not None
    pushed = lists_to(db, "o-t1")
    assert len(pushed) == 1 and "东风村" in pushed[0][1] and "达成共识" in pushed[0][1] and f"清单 {made.id}" in pushed[0][1]
    assert lists_to(db, "o-t2") == [] and lists_to(db, "o-c1") == []  # another township, the county: nothing

    todo = bot.send("o-t1", "待办")
    assert "报来的协商意见建议清单（1 份）" in todo and f"清单 {made.id}" in todo
    shown = bot.send("o-t1", f"清单 {made.id}")
    assert "协商意见建议清单" in shown and "东风村" in shown and "达成共识" in shown and REVISED in shown
    assert "东风代表1（支持）发言" in shown and "纪要：12 人举手同意先修村东段" in shown
    assert "张三（提议人）发言" in shown  # the proposer speaks first
    assert "报来的协商意见建议清单" not in bot.send("o-t1", "待办")  # read: off the to-do list
    db.expire_all()
    assert db.get(OpinionList, made.id).read_at is not None

    refused = bot.send("o-t2", f"清单 {made.id}")  # another township's office: as if it did not exist
    assert refused == bot.send("o-t2", "清单 99999").replace("99999", str(made.id)) and "没有找到" in refused
    assert "东风村" not in refused and REVISED not in refused
    assert "没有这项权限" in bot.send("u-zhang", f"清单 {made.id}")


def test_r_res_4_opinion_list_exports_as_docx_pdf_and_csv(bot, db, services, world, tmp_path):
    meeting = run_meeting(bot, db, services)
    day = meeting.opened_at.astimezone(services.settings.tz)
    date_line = f"协商日期：{day.year}年{day.month}月{day.day}日"
    number = f"东风村协商意见〔{day.year}〕1号"
    files = {}
    for fmt in ("docx", "pdf", "csv"):
        out = tmp_path / f"list.{fmt}"
        result = run_cli(services, tmp_path, "meeting", "report", "--org", "v1", "--meeting", str(meeting.id),
                         "--format", fmt, "--out", str(out))
        assert result.exit_code == 0, result.output
        assert number in result.output
        files[fmt] = out.read_bytes()

    document = docx.Document(io.BytesIO(files["docx"]))
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == "协商意见建议清单" and f"编号：{number}" in paragraphs
    assert "协商议事室：东风村" in paragraphs and date_line in paragraphs and "协商形式：会议协商" in paragraphs
    assert any(p.startswith("参加人员：应到 21 人，实到 14 人；议事会成员 7 人") for p in paragraphs)
    table = document.tables[0]
    assert [c.text for c in table.rows[0].cells] == ["序号", "议题", "意见建议", "议题修订", "协商结果"]
    row = [c.text for c in table.rows[1].cells]
    assert "修一下村东头的路" in row[1] and "东风代表1（支持）发言" in row[2] and "东风成员1（反对）发言" in row[2]
    assert row[3] == REVISED and row[4] == "达成共识（举手表决）"

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(files["pdf"])).pages).replace("\n", "")
    for expected in ("协商意见建议清单", number, "东风村", date_line, "修一下村东头的路", "达成共识", "东风代表1（支持）",
                     "先硬化村东段"):
        assert expected in text, expected

    assert files["csv"].startswith(b"\xef\xbb\xbf")  # utf-8-sig: Excel reads the Chinese
    rows = list(csv.reader(io.StringIO(files["csv"].decode("utf-8-sig"))))
    assert rows[0] == ["协商意见建议清单"] and rows[1] == [f"编号：{number}"] and rows[3] == [date_line]
    header = rows.index(["序号", "议题", "意见建议", "议题修订", "协商结果"])
    topic_row = rows[header + 1]
    assert "修一下村东头的路" in topic_row[1] and topic_row[3] == REVISED and topic_row[4] == "达成共识（举手表决）"


def test_r_res_4_report_refuses_wrong_org_unknown_meeting_and_bad_format_in_one_line(db, services, world, tmp_path):
    meeting = make_meeting(db, services)
    out = str(tmp_path / "x.docx")
    for org, number, expected in (("v2", meeting.id, f"红旗村没有会议 #{meeting.id}"),
                                  ("v1", 99999, "东风村没有会议 #99999"), ("nope", meeting.id, "nope")):
        result = run_cli(services, tmp_path, "meeting", "report", "--org", org, "--meeting", str(number),
                         "--format", "docx", "--out", out)
        assert result.exit_code != 0 and expected in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1
    bad = run_cli(services, tmp_path, "meeting", "report", "--org", "v1", "--meeting", str(meeting.id),
                  "--format", "xls", "--out", out)
    assert bad.exit_code != 0 and "xls" in bad.output
    early = run_cli(services, tmp_path, "meeting", "send-report", "--org", "v1", "--meeting", str(meeting.id))
    assert early.exit_code != 0 and "闭会" in early.output
    assert db.scalar(select(OpinionList)) is None


def test_r_res_4_send_report_resends_and_puts_it_back_on_the_to_do_list(bot, db, services, world, tmp_path):
    meeting = run_meeting(bot, db, services)
    made = db.scalar(select(OpinionList).where(OpinionList.meeting_id == meeting.id))
    bot.send("o-t1", f"清单 {made.id}")
    again = run_cli(services, tmp_path, "meeting", "send-report", "--org", "v1", "--meeting", str(meeting.id))
    assert again.exit_code == 0 and "已报送幸福镇（第 2 次），推送 1 人" in again.output, again.output
    db.expire_all()
    assert db.get(OpinionList, made.id).sent_count == 2
    pushed = lists_to(db, "o-t1")
    assert len(pushed) == 2 and "重新报送" in pushed[1][1]
    assert f"清单 {made.id}" in bot.send("o-t1", "待办")
    assert lists_to(db, "o-t2") == []


def test_r_res_4_online_consultation_lists_each_opinion_with_its_text(bot, db, services, world, tmp_path):
    meeting = make_meeting(db, services)
    topic_number = meeting.topic.number
    assert "网络协商已开始" in bot.send("c-v1", f"网络协商 {topic_number} 48")
    bot.send("u-li", "意见 支持 先修村东段 雨季前完工")
    bot.send("m-v1-1", "意见 反对 资金不够 分两年修")
    bot.send("m-v1-2", "意见 支持 同意")
    bot.send("c-v1", "总结 多数人同意先修村东段")
    bot.send("c-v1", "表决 投票")
    for openid, word in (("u-li", "同意"), ("m-v1-2", "同意"), ("m-v1-1", "反对")):
        bot.send(openid, word)
    assert "基本达成共识" in bot.send("c-v1", "结束表决")
    assert "协商意见建议清单已报送幸福镇" in bot.send("c-v1", "闭会")
    out = tmp_path / "online.csv"
    result = run_cli(services, tmp_path, "meeting", "report", "--org", "v1", "--meeting", str(meeting.id),
                     "--format", "csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert ["协商形式：网络协商"] in rows
    said = rows[-1][2]
    assert "李四（支持）：先修村东段 雨季前完工" in said and "东风成员1（反对）：资金不够 分两年修" in said
    assert "主持人总结：多数人同意先修村东段" in said and rows[-1][4] == "基本达成共识（投票表决）"


def test_r_res_4_convenor_resends_by_chat_and_others_cannot(bot, db, services, world):
    meeting = run_meeting(bot, db, services)
    assert "没有这项权限" in bot.send("u-zhang", "报送清单")
    assert "没有找到议题" in bot.send("c-v2", f"报送清单 {meeting.topic.number}")
    assert "还没有结束（闭会）的会议" in bot.send("c-v2", "报送清单")
    reply = bot.send("c-v1", f"报送清单 {meeting.topic.number}")
    assert "已重新报送幸福镇" in reply and "1号" in reply
    db.expire_all()
    made = db.scalar(select(OpinionList).where(OpinionList.meeting_id == meeting.id))
    assert made.sent_count == 2 and made.sent_by_id is not None
    assert len(lists_to(db, "o-t1")) == 2 and lists_to(db, "o-t2") == []
