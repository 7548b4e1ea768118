"""An attacker's pass over the results (issue 14): exports that must not run formulas or break on odd text,
numbers and dates that must be refused, copies that must not be stored twice, people of other villages,
townships and a grid worker. Through the webhook and the CLI."""

from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, datetime

import docx
import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from domain.orgs import people
from domain.orgs import tree as orgs
from domain.paperwork import feedback
from domain.topics import operations as topics
from domain.topics import routes
from models import (
    Evaluation,
    OpinionList,
    Organisation,
    OrgKind,
    Role,
    Topic,
    TopicFeedback,
    TopicRoute,
    TopicState,
)
from tests.meeting_world import build_world, make_meeting, quorum
from tests.topic_world import NOW, advance, named, new_topic, person, run_cli, who

FORMULA = '=HYPERLINK("http://evil.example/x","点我领补贴")'


@pytest.fixture
def world(db):
    made = build_world(db)
    town = db.scalar(select(Organisation).where(Organisation.code == "t1"))
    town2 = orgs.create_org(db, code="t2", name="太平镇", kind=OrgKind.TOWNSHIP, parent_code="c1")
    for openid, name, org, role in (("d-t1", "镇交通办", town, Role.DEPARTMENT), ("d-t2", "太平镇城建办", town2, Role.DEPARTMENT),
                                    ("o-t2", "太平镇协商办", town2, Role.UPPER_OFFICE),
                                    ("p-t2", "太平镇党委", town2, Role.PARTY_REVIEWER),
                                    ("c-t2", "太平镇政协主任", town2, Role.CONVENOR)):
        people.grant_role(db, person(db, openid, name), org, role)
    db.commit()
    return made


def _agreed(db, services, text="修一下村东头的路") -> Topic:
    topic = advance(db, services, new_topic(db, services, text), TopicState.CONSULTED)
    topics.record_result(db, topic, TopicState.CONSENSUS, who(db, "c-v1"), NOW)
    db.commit()
    return topic


def _implementing(db, services, text="修一下村东头的路") -> Topic:
    topic = _agreed(db, services, text)
    routes.confirm(db, topic, who(db, "p-v1"), NOW)
    topics.implement(db, topic, who(db, "c-v1"), NOW)
    db.commit()
    return topic


def _implemented(db, services, text="修一下村东头的路") -> Topic:
    topic = _implementing(db, services, text)
    topics.complete(db, topic, who(db, "c-v1"), datetime.now(UTC), "路面已硬化")
    db.commit()
    return topic


def _count(db, model, **where) -> int:
    db.expire_all()
    stmt = select(func.count()).select_from(model)
    for key, value in where.items():
        stmt = stmt.where(getattr(model, key) == value)
    return db.scalar(stmt)


def _export(services, tmp_path, fmt, *args) -> bytes:
    out = tmp_path / f"export.{fmt}"
    result = run_cli(services, tmp_path, *args, "--format", fmt, "--out", str(out))
    assert result.exit_code == 0, result.output
    return out.read_bytes()


# ---- exports: formulas, markup, control characters, length ---------------------------------------------------

def test_r_res_4_csv_exports_neutralise_formulas_from_chat_text(bot, db, services, world, tmp_path):
    meeting = make_meeting(db, services)
    for openid in quorum(7, 7):
        bot.send(openid, f"签到 {meeting.checkin_code}")
    assert "会议开始" in bot.send("c-v1", "开会")
    bot.send("c-v1", f"修订 {FORMULA}")  # the revision column starts with the typed text
    assert "已记入纪要" in bot.send("c-v1", f"纪要 {FORMULA}")
    rows = list(csv.reader(io.StringIO(_export(services, tmp_path, "csv", "meeting", "report", "--org", "v1",
                                                      "--meeting", str(meeting.id)).decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    assert any(FORMULA in cell for cell in cells)  # the text is kept ...
    assert not any(cell[:1] in ("=", "+", "-", "@") for cell in cells)  # ... but no cell starts a formula
    topic = _agreed(db, services, "村西头装路灯")
    assert "第 1 条" in bot.send("d-t1", f"反馈 {topic.ref} {FORMULA} 经办 @李师傅")
    rows = list(csv.reader(io.StringIO(_export(services, tmp_path, "csv", "topic", "feedback-report", "--org", "v1",
                                                      "--topic", topic.number).decode("utf-8-sig"))))
    entry = rows[-1]
    assert entry[1] == "'" + FORMULA and entry[2] == "'@李师傅"


def test_r_res_4_markup_and_control_characters_survive_docx_and_pdf(db, services, world, tmp_path):
    topic = _agreed(db, services)
    markup = "<b>路面</b> & <script>alert(1)</script> 已硬化"
    for done in (markup, "路灯\x0b已装\x07好"):  # a pasted vertical tab, a bell
        added = run_cli(services, tmp_path, "topic", "feedback", "--org", "v1", "--topic", topic.number,
                        "--done", done, "--done-by", "村委")
        assert added.exit_code == 0, added.output
    args = ("topic", "feedback-report", "--org", "v1", "--topic", topic.number)
    document = docx.Document(io.BytesIO(_export(services, tmp_path, "docx", *args)))
    cells = [c.text for c in document.tables[0].rows[1].cells] + [c.text for c in document.tables[0].rows[2].cells]
    assert markup in cells and "路灯已装好" in cells
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(_export(services, tmp_path, "pdf", *args))).pages)
    assert "<b>路面</b>" in text and "<script>" in text and "路灯已装好" in text.replace("\n", "")


def test_r_res_4_a_long_meeting_pdf_runs_over_several_pages(bot, db, services, world, tmp_path):
    meeting = make_meeting(db, services)
    for openid in quorum(7, 7):
        bot.send(openid, f"签到 {meeting.checkin_code}")
    bot.send("c-v1", "开会")
    for n in range(8):  # 8 minutes of 900 characters: one table cell taller than a page
        assert "已记入纪要" in bot.send("c-v1", f"纪要 第{n}条" + "大家认为村东段先修" * 100)
    data = _export(services, tmp_path, "pdf", "meeting", "report", "--org", "v1", "--meeting", str(meeting.id))
    pages = PdfReader(io.BytesIO(data)).pages
    text = "".join(p.extract_text() for p in pages).replace("\n", "")
    assert len(pages) > 1 and all(f"第{n}条" in text for n in range(8))


def test_r_res_4_huge_or_odd_list_numbers_are_not_found(bot, db, services, world, tmp_path):
    for typed in ("99999999999999999999", "0", "2147483648"):
        assert "没有找到报给您的清单" in bot.send("o-t1", f"清单 {typed}"), typed
    result = run_cli(services, tmp_path, "meeting", "report", "--org", "v1", "--meeting", "99999999999999999999",
                     "--format", "csv", "--out", str(tmp_path / "x.csv"))
    assert result.exit_code != 0 and "没有会议" in result.output and "Traceback" not in result.output
    result = run_cli(services, tmp_path, "meeting", "send-report", "--org", "v1", "--meeting", "99999999999999999999")
    assert result.exit_code != 0 and "没有会议" in result.output
    assert _count(db, OpinionList) == 0


# ---- feedback: dates, length, copies, other townships --------------------------------------------------------

def test_r_res_4_feedback_dates_that_cannot_be_are_refused(bot, db, services, world, tmp_path):
    topic = _agreed(db, services)
    for typed in ("完成 2026-13-45", "完成 2026-02-30", "完成 0000-01-01", "完成 13月45日"):
        assert "完成时间写成" in bot.send("d-t1", f"反馈 {topic.number} 已完工 {typed}"), typed
    for typed in ("完成 1999-01-01", "完成 2062-12-20"):  # before the topic existed; decades ahead
        reply = bot.send("d-t1", f"反馈 {topic.number} 已完工 {typed}")
        assert "完成时间不对" in reply, typed
    bad = run_cli(services, tmp_path, "topic", "feedback", "--org", "v1", "--topic", topic.number, "--done", "已完工",
                  "--done-by", "村委", "--done-on", "2062-12-20")
    assert bad.exit_code != 0 and "完成时间不对" in bad.output and "Traceback" not in bad.output
    assert _count(db, TopicFeedback) == 0


def test_r_res_4_long_feedback_and_long_messages_get_short_refusals(bot, db, services, world):
    topic = _agreed(db, services)
    reply = bot.send("d-t1", f"反馈 {topic.number} " + "路" * 501)
    assert "500 字以内" in reply and len(reply) < 100
    assert "太长" in bot.send("d-t1", f"反馈 {topic.number} " + "路" * 5000)  # the webhook's own limit
    assert "500 字以内" in bot.send("p-v1", f"确认结果 {topic.number} " + "同意" * 300)
    assert _count(db, TopicFeedback) == 0
    assert db.get(Topic, topic.id).state is TopicState.CONSENSUS


def test_r_res_4_the_same_feedback_arriving_twice_at_once_is_stored_once(services, db, world):
    topic = _agreed(db, services)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def send() -> None:
        with services.sessions() as session:
            row = session.get(Topic, topic.id)
            barrier.wait(5)
            try:
                feedback.record(session, row, done="村东路已硬化", done_by="镇交通办", done_on=datetime.now(UTC).date(),
                                now=datetime.now(UTC), via="chat")
                session.commit()
                outcomes.append("stored")
            except Exception as exc:  # noqa: BLE001 - the refusal is what the test looks for
                session.rollback()
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(outcomes) == ["Conflict", "stored"]
    assert _count(db, TopicFeedback, topic_id=topic.id) == 1


def test_r_res_4_a_department_of_another_township_cannot_answer_or_see(bot, db, services, world):
    topic = _agreed(db, services)
    assert "没有找到议题" in bot.send("d-t2", f"反馈 {topic.number} 已完工")
    named = bot.send("d-t2", f"反馈 v1/{topic.number} 已完工")  # named outright: found, then refused
    assert "由承办部门填写" in named and "已记录" not in named
    assert "东风村" not in bot.send("d-t2", "待办")
    assert _count(db, TopicFeedback) == 0


# ---- ratings: malformed scores, other villages, grid workers ------------------------------------------------

def test_r_res_6_malformed_scores_are_refused_not_misread(bot, db, services, world):
    topic = _implemented(db, services)
    n = topic.number
    for bad in ("6", "0", "4.5", "4．5", "3.0", "-1", "1e3", "５５"):
        assert "请打 1 到 5 分" in bot.send("u-li", f"评价 {n} {bad}"), bad
    assert "5 分" in bot.send("u-li", f"评价 {n} 五星 很好")
    db.expire_all()
    assert [(e.score, e.text) for e in db.scalars(select(Evaluation))] == [(5, "很好")]


def test_r_res_6_followers_of_other_villages_and_townships_cannot_rate(bot, db, services, world):
    topic = _implemented(db, services)
    n = topic.number
    assert "没有找到议题" in bot.send("u-wang", f"评价 {n} 1")
    assert "只有东风村的群众可以评价" in bot.send("u-wang", f"评价 东风村{n} 1")
    assert "只有东风村的群众可以评价" in bot.send("g-v2", f"评价 v1/{n} 1")  # 红旗村's grid worker, not in 代办
    assert _count(db, Evaluation) == 0
    assert "没有找到议题" in bot.send("o-t2", f"评价结果 v1/{n}")  # another township's office sees nothing
    assert "没有找到议题" in bot.send("p-t2", f"评价结果 v1/{n}")


def test_r_res_6_grid_worker_rates_for_a_villager_in_daiban(bot, db, services, world):
    """L-三(九) residents' ratings and the 代办 of docs/topics.md: a grid worker acts for an elderly villager."""
    topic = _implemented(db, services)
    n = topic.number
    elder = named(db, "孙大爷")
    people.mark_needs_help(db, elder, elder.home_org, NOW, by=who(db, "c-v1"))  # 代办 only for those marked
    db.commit()
    assert "确认要代" in bot.send("g-v1", "代办 孙大爷")
    assert "现在开始代 孙大爷 办理" in bot.send("g-v1", "确认")
    reply = bot.send("g-v1", f"评价 {n} 4 路好走了")
    assert "已代 孙大爷 评价" in reply
    assert "孙大爷已经评价过" in bot.send("g-v1", f"评价 {n} 4 路好走了")  # a copy: one row
    bot.send("g-v1", "代办结束")
    assert "谢谢您" in bot.send("g-v1", f"评价 {n} 5")  # the grid worker's own rating, a second row
    db.expire_all()
    rows = {(e.author.real_name, e.score, e.by_proxy_id is not None) for e in db.scalars(select(Evaluation))}
    assert rows == {("孙大爷", 4, True), ("赵网格", 5, False)}
    assert "确认要代" not in bot.send("g-v2", "代办 孙大爷")  # another village's grid worker: not on its roster
    assert _count(db, Evaluation) == 2


# ---- routes: empty reasons, another township, replays -------------------------------------------------------

def test_r_res_5_empty_or_blank_reasons_and_other_townships_are_refused(bot, db, services, world):
    topic = _agreed(db, services)
    bot.send("p-v1", f"确认结果 {topic.number}")
    for typed in (f"上报 {topic.number}", f"上报 {topic.number}　", f"上报 {topic.number} 。。", "上报", "上报 　"):
        reply = bot.send("c-v1", typed)
        assert "理由" in reply and "已把" not in reply, typed
    assert "已把" not in bot.send("c-t2", f"上报 v1/{topic.number} 别的镇替它报")
    assert "已把" not in bot.send("p-t2", f"确认结果 v1/{topic.number}")
    assert _count(db, TopicRoute) == 0
    assert "已把" in bot.send("c-v1", f"上报 {topic.number} 修桥要镇里统筹资金")
    assert "已经上报到幸福镇" in bot.send("c-v1", f"上报 {topic.number} 修桥要镇里统筹资金")  # sent again
    assert _count(db, TopicRoute) == 1


def test_r_res_7_a_formula_typed_as_a_topic_title_stays_text_in_the_supervisors_workbook(bot, db, services, world,
                                                                                        tmp_path):
    from openpyxl import load_workbook

    bot.send("u-zhang", f"提议 {FORMULA}")
    assert _count(db, Topic, title=FORMULA) == 1
    out = tmp_path / "supervise.xlsx"
    result = run_cli(services, tmp_path, "supervise", "--org", "t1", "--out", str(out))
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    found = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
             if isinstance(cell.value, str) and "HYPERLINK" in cell.value]
    assert found and all(cell.data_type == "s" for cell in found)  # shown as typed, never run as a formula
    assert any(cell.value == FORMULA for cell in found)
