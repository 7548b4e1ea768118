"""The result feedback list (结果反馈清单, R-RES-4, L-三(七)): the handling department records what was done,
by whom, by when (chat 反馈 and CLI); the convenor and the proposer are told; 议题 shows it; it exports."""

from __future__ import annotations

import csv
import io
from datetime import date

import docx
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from domain.orgs import people
from domain.topics import operations as topics
from models import Organisation, Role, TopicFeedback, TopicState
from tests.topic_world import NOW, advance, build, new_topic, notices_to, run_cli, who

DONE = "村东路已硬化 500 米"


@pytest.fixture
def world(db):
    made = build(db)
    town, v2 = (db.scalar(select(Organisation).where(Organisation.code == code)) for code in ("t1", "v2"))
    for openid, name, org in (("d-t1", "镇交通办", town), ("d-v2", "红旗村村委", v2)):
        person = people.ensure_person(db, openid)
        person.real_name, person.subscribed = name, True
        people.grant_role(db, person, org, Role.DEPARTMENT)
    db.commit()
    return made


def agreed_topic(db, services):
    """东风村's topic, consulted with consensus."""
    topic = advance(db, services, new_topic(db, services), TopicState.CONSULTED)
    topics.record_result(db, topic, TopicState.CONSENSUS, who(db, "c-v1"), NOW)
    db.commit()
    return topic


def feedback_pushes(db, openid):
    return [body for title, body in notices_to(db, openid) if title.startswith("结果反馈")]


def test_r_res_4_department_feedback_by_chat_reaches_convenor_and_proposer(bot, db, services, world):
    topic = agreed_topic(db, services)
    todo = bot.send("d-t1", "待办")
    assert "等您反馈办理结果的议题（1 个）" in todo and f"反馈 {topic.ref} 办理情况" in todo
    assert "现在没有等您处理的议题" in bot.send("d-v2", "待办")  # 红旗村's department: not its topic
    reply = bot.send("d-t1", f"反馈 {topic.ref} {DONE} 经办 李师傅 完成 2026-12-20")  # as 待办 shows it
    assert "已记录议题" in reply and "第 1 条" in reply and "李师傅" in reply and "2026年12月20日" in reply
    db.expire_all()
    entry = db.scalar(select(TopicFeedback).where(TopicFeedback.topic_id == topic.id))
    assert (entry.done, entry.done_by, entry.done_on, entry.via) == (DONE, "李师傅", date(2026, 12, 20), "chat")
    assert entry.recorded_by_id == who(db, "d-t1").id and entry.department_org_id == world.town
    for openid in ("c-v1", "u-zhang"):
        pushed = feedback_pushes(db, openid)
        assert len(pushed) == 1 and DONE in pushed[0] and "李师傅" in pushed[0], openid
    assert feedback_pushes(db, "u-wang") == [] and feedback_pushes(db, "c-v2") == []

    assert "等您反馈" not in bot.send("d-t1", "待办")  # answered: off the list
    shown = bot.send("u-zhang", f"议题 {topic.number}")
    assert "结果反馈：" in shown and f"1. {DONE}（李师傅，2026年12月20日）" in shown
    assert "已经记录过了" in bot.send("d-t1", f"反馈 {topic.number} {DONE}")  # sent twice: one entry
    db.expire_all()
    assert len(db.scalars(select(TopicFeedback)).all()) == 1


def test_r_res_4_feedback_defaults_to_the_sender_and_today(bot, db, services, world):
    topic = agreed_topic(db, services)
    assert "第 1 条" in bot.send("d-t1", f"反馈 {topic.number} 已开工")
    db.expire_all()
    entry = db.scalar(select(TopicFeedback))
    assert entry.done == "已开工" and entry.done_by == "镇交通办"
    assert entry.done_on == entry.recorded_at.astimezone(services.settings.tz).date()
    assert "完成时间写成" in bot.send("d-t1", f"反馈 {topic.number} 已完工 完成 2026-13-40")
    assert "请发送：反馈 议题编号 办了什么" in bot.send("d-t1", "反馈")


def test_r_res_4_feedback_refused_for_others_in_short_words(bot, db, services, world):
    topic = agreed_topic(db, services)
    follower = bot.send("u-li", f"反馈 {topic.number} {DONE}")
    assert "承办部门" in follower and len(follower) < 80
    assert "没有找到议题" in bot.send("d-v2", f"反馈 {topic.number} {DONE}")  # another village's department
    early = advance(db, services, new_topic(db, services, text="村西头装路灯", openid="u-li"), TopicState.APPROVED)
    assert "还没有协商结果" in bot.send("d-t1", f"反馈 {early.number} 装好了")
    db.expire_all()
    assert db.scalars(select(TopicFeedback)).all() == []


def test_r_res_4_feedback_cli_and_exports_in_three_formats(db, services, world, tmp_path):
    topic = agreed_topic(db, services)
    added = run_cli(services, tmp_path, "topic", "feedback", "--org", "v1", "--topic", topic.number, "--done", DONE,
                    "--done-by", "镇交通办 李师傅", "--done-on", "2026-12-20")
    assert added.exit_code == 0 and "已记录结果反馈第 1 条" in added.output, added.output
    run_cli(services, tmp_path, "topic", "feedback", "--org", "v1", "--topic", topic.number, "--done", "路灯已装 12 盏",
            "--done-by", "村委", "--done-on", "2026-12-28")
    assert len(feedback_pushes(db, "c-v1")) == 2
    files = {}
    for fmt in ("docx", "pdf", "csv"):
        out = tmp_path / f"feedback.{fmt}"
        result = run_cli(services, tmp_path, "topic", "feedback-report", "--org", "v1", "--topic", topic.number,
                         "--format", fmt, "--out", str(out))
        assert result.exit_code == 0, result.output
        files[fmt] = out.read_bytes()
    document = docx.Document(io.BytesIO(files["docx"]))
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == "结果反馈清单" and "协商议事室：东风村" in paragraphs
    assert f"议题：{topic.number} {topic.title}" in paragraphs and any(p.startswith("反馈日期：") for p in paragraphs)
    rows = [[c.text for c in r.cells] for r in document.tables[0].rows]
    assert rows[1][1:4] == [DONE, "镇交通办 李师傅", "2026年12月20日"] and rows[2][1] == "路灯已装 12 盏"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(files["pdf"])).pages).replace("\n", "")
    for expected in ("结果反馈清单", "东风村", topic.number, "村东路已硬化", "李师傅", "2026年12月20日"):
        assert expected in text, expected
    parsed = list(csv.reader(io.StringIO(files["csv"].decode("utf-8-sig"))))
    header = parsed.index(["序号", "办理情况", "经办人（单位）", "完成时间", "反馈时间"])
    assert parsed[header + 1][:4] == ["1", DONE, "镇交通办 李师傅", "2026年12月20日"]


def test_r_res_4_feedback_cli_errors_are_one_line(db, services, world, tmp_path):
    topic = agreed_topic(db, services)
    for args, expected in ((("--org", "v2", "--topic", topic.number), "没有找到议题"),
                           (("--org", "v1", "--topic", "99"), "没有找到议题"),
                           (("--org", "v1", "--topic", topic.number, "--done-on", "12/20"), "2026-12-20")):
        result = run_cli(services, tmp_path, "topic", "feedback", *args, "--done", DONE, "--done-by", "村委")
        assert result.exit_code != 0 and expected in result.output and "Traceback" not in result.output, args
    assert db.scalars(select(TopicFeedback)).all() == []


@pytest.mark.parametrize("typed, done, by, day", [
    ("村东路已硬化 经办 李师傅 完成 2026-12-20", "村东路已硬化", "李师傅", date(2026, 12, 20)),
    ("经办：镇交通办 路灯已装 12 盏 完成12月28日", "路灯已装 12 盏", "镇交通办", date(2026, 12, 28)),
    ("经办人员已到位，已完成12月的巡查", "经办人员已到位，已完成12月的巡查", None, date(2026, 3, 2)),
])
def test_r_res_4_feedback_fields_are_read_only_where_marked(typed, done, by, day):
    from handlers.paperwork import parse_fields

    assert parse_fields(typed, date(2026, 3, 2)) == (done, by, day)
