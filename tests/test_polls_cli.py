"""``shangliang poll …`` and ``shangliang questionnaire …``: create from files, audit, exports read back."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import select, update

from bot.cli import main
from domain.votes import polls, questionnaires
from models import Poll, PollBallot, Questionnaire, Role, TopicState
from tests.test_polls_support import SETTINGS, TZ, meeting, person, poll, questionnaire, villagers, villages

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def cli(services, tmp_path):
    """Run ``shangliang --config <test config> …``."""
    s = services.settings
    config = tmp_path / "config.toml"
    config.write_text(
        f"[database]\nurl = {json.dumps(s.database.url)}\n"
        f"[redis]\nurl = {json.dumps(s.redis.url)}\nkey_prefix = {json.dumps(s.redis.key_prefix)}\n"
        f"[wechat]\napi_base_url = {json.dumps(s.wechat.api_base_url)}\n", encoding="utf-8")
    runner = CliRunner()
    return lambda *args: runner.invoke(main, ["--config", str(config), *args], catch_exceptions=False)


def _one_error_line(result) -> str:
    assert result.exit_code != 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_r_topic_3_questionnaire_and_poll_created_from_the_example_files(cli, db):
    _, v1, _ = villages(db)
    villagers(db, v1, 3)
    db.commit()
    made = cli("questionnaire", "create", "--org", "v1", "--file", str(EXAMPLES / "questionnaire.toml"))
    assert made.exit_code == 0, made.output
    assert made.output.startswith("已创建问卷 1（东风村）：村道修缮意见征集，共 4 题") and "应答 3 人" in made.output
    again = cli("poll", "create", "--org", "v1", "--file", str(EXAMPLES / "poll.toml"))
    assert again.output.startswith("已创建投票 1（东风村）") and "可投票 3 人" in again.output
    assert "已创建投票 2" in cli("poll", "create", "--org", "v1", "--file", str(EXAMPLES / "poll.toml")).output
    listing = cli("poll", "list", "--org", "v1").output
    assert "   1  进行中" in listing and "   2  进行中" in listing
    assert "村道修缮意见征集（4 题）" in cli("questionnaire", "list", "--org", "v1").output


def test_a_bad_file_is_one_line_and_creates_nothing(cli, db, tmp_path):
    _, _, v2 = villages(db)
    convenor_elsewhere = person(db, "c2", v2, (v2, Role.CONVENOR))
    db.commit()
    bad = tmp_path / "q.toml"
    bad.write_text('title = "调查"\n\n[[questions]]\nkind = "single"\ntext = "选"\noptions = ["只有一个"]\n', encoding="utf-8")
    line = _one_error_line(cli("questionnaire", "create", "--org", "v1", "--file", str(bad)))
    assert line == "Error: q.toml 第 6 行，questions[1].options：至少需要两个选项"
    gbk = tmp_path / "p.toml"
    gbk.write_bytes('question = "问"\n'.encode("gbk"))
    assert "不是 UTF-8" in _one_error_line(cli("poll", "create", "--org", "v1", "--file", str(gbk)))
    assert "没有代码为 nope" in _one_error_line(cli("poll", "create", "--org", "nope", "--file",
                                                   str(EXAMPLES / "poll.toml")))
    assert "只有东风村的召集人" in _one_error_line(cli("poll", "create", "--org", "v1", "--file", str(EXAMPLES / "poll.toml"),
                                                "--by", convenor_elsewhere.openid))
    db.expire_all()
    assert db.scalar(select(Questionnaire.id)) is None and db.scalar(select(Poll.id)) is None


def _closed_poll(db, **fields):
    _, v1, _ = villages(db)
    folks = villagers(db, v1, 4)
    now = datetime.now(UTC)
    p = poll(db, v1, now=now - timedelta(hours=1), **fields)
    receipts = [polls.cast_vote(db, p, who, [c], now - timedelta(minutes=5), tz=TZ).receipt
                for who, c in zip(folks, [1, 2, 2, 3], strict=True)]
    polls.close_poll(db, p, None, now, TZ)
    db.commit()
    return p, folks, receipts, v1


def test_audit_listing_recomputes_the_published_tally_hash(cli, db, tmp_path):
    p, _, receipts, _ = _closed_poll(db)
    result = cli("poll", "audit", "--org", "v1", "--poll", "1", "--out", str(tmp_path / "listing.txt"))
    assert result.exit_code == 0, result.output
    listing = result.stdout
    assert hashlib.sha256(listing.encode("utf-8")).hexdigest() == p.tally_hash
    assert (tmp_path / "listing.txt").read_bytes() == listing.encode("utf-8")
    assert listing.startswith("shangliang-poll-tally v1\norg v1\npoll 1\nquestion 村口路灯装在哪？\noption 1 东头\n")
    assert "ballots 4\n" in listing and all(f"{r} " in listing for r in receipts)
    assert "与公布的一致" in result.stderr
    db.execute(update(PollBallot).where(PollBallot.receipt == receipts[0]).values(choices=[3]))  # tampering
    db.commit()
    tampered = cli("poll", "audit", "--org", "v1", "--number", "1")
    assert tampered.exit_code == 1 and "不一致" in tampered.stderr


def test_audit_waits_for_the_close(cli, db):
    _, v1, _ = villages(db)
    poll(db, v1, now=datetime.now(UTC))
    db.commit()
    assert "还没结束" in _one_error_line(cli("poll", "audit", "--org", "v1", "--poll", "1"))


def test_poll_exports_read_back(cli, db, tmp_path):
    p, folks, receipts, _ = _closed_poll(db, anonymous=False)
    result_csv, ballots_csv, book = tmp_path / "r.csv", tmp_path / "b.csv", tmp_path / "p.xlsx"
    assert cli("poll", "export", "--org", "v1", "--poll", "1", "--out", str(result_csv)).exit_code == 0
    assert cli("poll", "export", "--org", "v1", "--poll", "1", "--out", str(ballots_csv), "--detail").exit_code == 0
    assert cli("poll", "export", "--org", "v1", "--poll", "1", "--out", str(book)).exit_code == 0
    rows = list(csv.reader(result_csv.open(encoding="utf-8-sig")))
    assert rows[:4] == [["选项", "票数", "占比"], ["1. 东头", "1", "25%"], ["2. 西头", "2", "50%"], ["3. 两头都装", "1", "25%"]]
    assert ["计票指纹 (sha256)", p.tally_hash, ""] in rows
    ballots = list(csv.reader(ballots_csv.open(encoding="utf-8-sig")))
    assert ballots[0] == ["回执", "选项", "投票人"] and len(ballots) == 5
    assert {row[2] for row in ballots[1:]} == {f.display_name for f in folks}
    sheets = load_workbook(book)
    assert sheets.sheetnames == ["结果", "选票"]
    assert [c.value for c in sheets["结果"][2]] == ["1. 东头", 1, "25%"]
    assert sorted(r[0] for r in sheets["选票"].iter_rows(min_row=2, values_only=True)) == sorted(receipts)
    assert "只能导出 .csv 或 .xlsx" in _one_error_line(cli("poll", "export", "--org", "v1", "--poll", "1",
                                                        "--out", str(tmp_path / "x.pdf")))


def test_anonymous_poll_exports_name_nobody_and_hidden_results_wait(cli, db, tmp_path):
    _, _, _, v1 = _closed_poll(db, anonymous=True)
    out = tmp_path / "b.csv"
    cli("poll", "export", "--org", "v1", "--poll", "1", "--out", str(out), "--detail")
    rows = list(csv.reader(out.open(encoding="utf-8-sig")))
    assert rows[0] == ["回执", "选项"] and all(len(r) == 2 for r in rows)
    poll(db, v1, now=datetime.now(UTC), hide_results=True)
    db.commit()
    assert "结束后才公开" in _one_error_line(cli("poll", "export", "--org", "v1", "--poll", "2", "--out", str(out)))
    assert "结束后才公开" in cli("poll", "show", "--org", "v1", "--poll", "2").output


def _answered_questionnaire(db, anonymous):
    _, v1, _ = villages(db)
    folks = villagers(db, v1, 2)
    q = questionnaire(db, v1, now=datetime.now(UTC), anonymous=anonymous)
    for who, answers in zip(folks, [["1", "1 2", "5", "路灯"], ["2", "2", "3", "跳过"]], strict=True):
        sheet, _, _ = questionnaires.begin(db, q, who, datetime.now(UTC))
        for position, text in enumerate(answers, start=1):
            questionnaires.answer(db, q, sheet, questionnaires.question_at(q, position), text, datetime.now(UTC),
                                  SETTINGS.polls, skip=text == "跳过")
        questionnaires.submit(db, q, sheet, datetime.now(UTC))
    db.commit()
    return q, folks


def test_questionnaire_exports_read_back(cli, db, tmp_path):
    _, folks = _answered_questionnaire(db, anonymous=False)
    summary, sheets, book = tmp_path / "s.csv", tmp_path / "d.csv", tmp_path / "q.xlsx"
    for args in (("--out", str(summary)), ("--out", str(sheets), "--detail"), ("--out", str(book))):
        result = cli("questionnaire", "export", "--org", "v1", "--number", "1", *args)
        assert result.exit_code == 0 and "已导出到" in result.output, result.output
    rows = list(csv.reader(summary.open(encoding="utf-8-sig")))
    assert rows[0] == ["题号", "题目", "类型", "项目", "人数", "占比", "平均分"]
    assert ["1", "哪条路先修？", "单选", "村东主路", "1", "50%", ""] in rows
    assert ["3", "现在道路打几分？", "打分", "平均分", "2", "", "4.0"] in rows
    assert ["4", "还有什么建议？", "填写", "路灯", "1", "", ""] in rows
    assert ["4", "还有什么建议？", "填写", "（跳过）", "1", "", ""] in rows
    detail = list(csv.reader(sheets.open(encoding="utf-8-sig")))
    assert detail[0][:4] == ["答卷", "状态", "姓名", "提交时间"] and len(detail) == 3
    assert detail[1][2] == folks[0].display_name and detail[1][4:] == ["1. 村东主路", "1. 出行；2. 噪音", "5 分", "路灯"]
    workbook = load_workbook(book)
    assert workbook.sheetnames == ["汇总", "答卷"]
    assert workbook["答卷"].max_row == 3
    shown = cli("questionnaire", "show", "--org", "v1", "--number", "1").output
    assert "收到 2 份答卷，答完 2 份" in shown and "平均 4.0 分" in shown


def test_anonymous_questionnaire_exports_name_nobody(cli, db, tmp_path):
    _answered_questionnaire(db, anonymous=True)
    out = tmp_path / "d.csv"
    cli("questionnaire", "export", "--org", "v1", "--number", "1", "--out", str(out), "--detail")
    detail = list(csv.reader(out.open(encoding="utf-8-sig")))
    assert detail[0][:3] == ["答卷", "状态", "1. 哪条路先修？"]
    assert not any(f"村民{i}" in cell for row in detail for cell in row for i in (1, 2))


def test_confirm_close_and_close_due_from_the_cli(cli, db):
    _, v1, _ = villages(db)
    convenor = person(db, "conv", v1, (v1, Role.CONVENOR))
    folks = villagers(db, v1, 3)
    held = meeting(db, v1, folks, 3)
    db.commit()
    started = cli("poll", "confirm", "--org", "v1", "--meeting", str(held.id), "--by", convenor.openid, "--minutes", "15")
    assert started.exit_code == 0 and "已发起表决 1" in started.output and "已签到 3 人" in started.output
    for who in folks:
        polls.cast_vote(db, db.scalar(select(Poll)), who, [1], datetime.now(UTC), tz=TZ)
    db.commit()
    refused = cli("poll", "close", "--org", "v1", "--poll", "1", "--by", convenor.openid)
    assert refused.exit_code != 0 and "结束表决" in refused.output  # only the meeting's chair ends it in the chat
    closed = cli("poll", "close", "--org", "v1", "--poll", "1")  # the administrator may
    assert closed.exit_code == 0 and "表决结果：达成共识" in closed.output
    assert db.scalar(select(Poll.outcome)) is TopicState.CONSENSUS
    poll(db, v1, now=datetime.now(UTC), hours=1)
    db.commit()
    assert "没有到期" in cli("poll", "close-due").output
    later = (datetime.now(UTC) + timedelta(hours=2)).astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    assert "poll v1-2" in cli("poll", "close-due", "--now", later).output
    assert "时间格式不对" in _one_error_line(cli("poll", "close-due", "--now", "明天"))
