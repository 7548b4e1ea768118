"""The supervisors' view (R-RES-7, X-15): 监督 in the chat for an upper office, short and worst first; the XLSX
workbook from the CLI; a township's office sees nothing of another township."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from domain.orgs import people
from domain.orgs import tree as orgs
from domain.topics import operations as topics
from models import OrgKind, Role, TopicState
from tests.driver import live_bot
from tests.test_evaluation import FrozenClock, implemented
from tests.topic_world import advance, build, new_topic, person, run_cli, who

SHEETS = ["概览", "会议", "议题", "待落实与反馈", "评价", "六有", "参与"]


@pytest.fixture
def world(db):
    """The topic world plus a second township (t2, 河西镇) with one village (v3, 三河村) and its office."""
    made = build(db)
    orgs.create_org(db, code="t2", name="河西镇", kind=OrgKind.TOWNSHIP, parent_code="c1")
    v3 = orgs.create_org(db, code="v3", name="三河村", kind=OrgKind.VILLAGE, parent_code="t2")
    people.grant_role(db, person(db, "o-t2", "河西镇协商办"), orgs.get_org(db, "t2"), Role.UPPER_OFFICE)
    person(db, "u-he", "何六", v3)
    db.commit()
    return made


def test_r_res_7_township_office_sees_only_its_own_villages(bot, db, services, world, tmp_path):
    new_topic(db, services, "三河村修水渠", openid="u-he")
    mine = bot.send("o-t1", "监督")
    assert "幸福镇监督情况：下属 2 个" in mine and "东风村" in mine and "红旗村" in mine
    assert "三河村" not in mine and "河西镇" not in mine
    other = bot.send("o-t2", "监督")
    assert "河西镇监督情况：下属 1 个" in other and "三河村" in other
    assert "东风村" not in other and "红旗村" not in other
    assert "没有代码为 v3 的组织" in bot.send("o-t1", "监督 v3")
    assert "没有代码为 v1 的组织" in bot.send("o-t2", "监督 v1")
    assert "没有代码为 t2 的组织" in bot.send("o-t1", "监督 t2")
    detail = bot.send("o-t2", "监督 v3")
    assert "三河村（v3）监督详情" in detail and "已登记1" in detail
    county = bot.send("o-c1", "监督")
    assert "下属 5 个" in county and all(name in county for name in ("东风村", "三河村", "幸福镇", "河西镇"))
    assert "您没有这项权限" in bot.send("c-v1", "监督")  # a convenor is not an upper office
    assert "您没有这项权限" in bot.send("u-zhang", "监督")
    refused = run_cli(services, tmp_path, "supervise", "--org", "t2", "--out", str(tmp_path / "x.xlsx"),
                      "--by", "o-t1")
    assert refused.exit_code != 0 and "只有河西镇的上级办公室人员" in refused.output
    assert not (tmp_path / "x.xlsx").exists()


def test_r_res_7_chat_overview_worst_first_with_waiting_results_and_ratings(services, db, world):
    clock = FrozenClock()
    now = clock()
    done = implemented(db, services, now)
    confirmed = advance(db, services, new_topic(db, services, "村口装路灯", now=now), TopicState.CONSULTED, now=now)
    topics.record_result(db, confirmed, TopicState.CONSENSUS, who(db, "c-v1"), now, "通过")
    db.commit()
    clock.at = now + timedelta(days=100)  # both villages are past their two-month cadence
    with live_bot(services, clock=clock) as bot:
        for openid, score in (("u-zhang", 2), ("u-li", 1), ("g-v1", 3)):
            assert "谢谢您" in bot.send(openid, f"评价 {done.number} {score}")
        reply = bot.send("o-t1", "监督")
        lines = reply.splitlines()
        assert len(lines) <= 15
        assert lines[1].startswith("· 东风村：") and lines[2].startswith("· 红旗村：")  # worst first
        assert "会议超期" in lines[1] and "近一年开会2/6次" in lines[1] and "待落实1件" in lines[1]
        assert "待反馈1件" in lines[1] and "待评价" not in lines[1] and "群众评价2.0分" in lines[1]
        assert "待落实" not in lines[2] and "从未开会" in lines[2]
        assert "监督 v1" in lines[-1] and "shangliang supervise --org t1" in lines[-1]
        detail = bot.send("o-t1", "监督 v1")
        assert "会议：近一年 2 次（应 6 次）" in detail and "已超期" in detail  # the two meetings advance() held
        assert f"{confirmed.number} 村口装路灯：待落实，100 天没有进展" in detail
        assert "群众评价：3 人，平均 2.0 分（最低 1，最高 3，标准差 0.82）" in detail
        assert "六有：缺" in detail and "有场所" in detail and "参与：" in detail


def test_r_res_7_cadence_follows_village_meeting_interval_months(services, db, world):
    clock = FrozenClock()
    clock.at += timedelta(days=70)
    with live_bot(services, clock=clock, rules={"village_meeting_interval_months": 3}) as bot:
        reply = bot.send("o-t1", "监督")
    assert "从未开会" not in reply and "近一年开会0/4次" in reply


def test_r_res_7_workbook_has_a_sheet_per_section(bot, db, services, world, tmp_path):
    done = implemented(db, services, datetime.now(UTC))
    for openid, score in (("u-zhang", 5), ("u-li", 4), ("g-v1", 4), ("chair-v1", 3)):
        bot.send(openid, f"评价 {done.number} {score}")
    new_topic(db, services, "三河村修水渠", openid="u-he")
    out = tmp_path / "监督.xlsx"
    result = run_cli(services, tmp_path, "supervise", "--org", "t1", "--out", str(out), "--by", "o-t1")
    assert result.exit_code == 0, result.output
    assert "已写入" in result.output and "（2 个组织）" in result.output
    book = load_workbook(out)
    assert book.sheetnames == SHEETS
    overview = [row for row in book["概览"].iter_rows(values_only=True)]
    assert overview[0] == ("组织", "代码", "类型", "需要关注")
    assert [r[1] for r in overview[1:]] == ["v1", "v2"]
    assert "待反馈1件" in overview[1][3] and "待落实" not in overview[1][3]
    topics_rows = list(book["议题"].iter_rows(values_only=True))
    assert [(r[1], r[3]) for r in topics_rows[1:]] == [(done.number, "已落实")]
    assert all("三河村" not in str(cell) for sheet in book for row in sheet.iter_rows(values_only=True)
               for cell in row)  # township B is not in township A's workbook
    waiting = list(book["待落实与反馈"].iter_rows(values_only=True))
    assert waiting[1][1] == done.number and waiting[1][5] == "未反馈"
    rating = list(book["评价"].iter_rows(values_only=True))
    assert rating[1][:6] == ("东风村", 4, 4.0, 0.71, 3, 5) and rating[1][6:] == (1, 2, 1, 0, 0)
    meetings = list(book["会议"].iter_rows(values_only=True))
    assert [r[0] for r in meetings[1:]] == ["东风村", "红旗村"] and meetings[1][3] == 6
    assert list(book["参与"].iter_rows(values_only=True))[0][:4] == ("组织", "代码", "人数", "应到会")
    six = list(book["六有"].iter_rows(values_only=True))
    assert six[1][:2] == ("东风村", "v1") and "有制度" in six[1][2] and "有标识" in six[1][2]  # domain/records
    bad = run_cli(services, tmp_path, "supervise", "--org", "t1", "--out", str(tmp_path / "x.csv"))
    assert bad.exit_code != 0 and "只能导出为 .xlsx" in bad.output
    missing = run_cli(services, tmp_path, "supervise", "--org", "nope", "--out", str(out))
    assert missing.exit_code != 0 and "没有代码为 nope 的组织" in missing.output


def test_r_res_7_chat_stays_short_and_an_office_of_two_names_one(bot, db, services, world):
    for n in range(14):
        orgs.create_org(db, code=f"h{n}", name=f"河西{n}村", kind=OrgKind.VILLAGE, parent_code="t2")
    db.commit()
    reply = bot.send("o-t2", "监督")
    lines = reply.splitlines()
    assert "下属 15 个" in lines[0] and len(lines) <= 15 and len(reply.encode()) <= 2000
    assert "还有 3 个没有列出" in reply and "supervise --org t2" in lines[-1]
    people.grant_role(db, who(db, "o-t1"), orgs.get_org(db, "t2"), Role.UPPER_OFFICE)
    db.commit()
    assert "请发送“监督 代码”" in bot.send("o-t1", "监督") and "河西镇（t2）" in bot.send("o-t1", "监督")
    assert "河西镇监督情况：下属 15 个" in bot.send("o-t1", "监督 t2")
    assert "幸福镇监督情况：下属 2 个" in bot.send("o-t1", "监督 t1")
    assert "三河村（v3）监督详情" in bot.send("o-t1", "监督 v3")  # now within one of its offices
