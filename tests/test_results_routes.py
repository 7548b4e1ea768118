"""After the result: the party confirms and the result is filed upward (R-RES-1); what the village cannot settle
goes up, and a topic without consensus goes to the party or the county CPPCC (R-RES-5). Through the webhook."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from domain.orgs import people
from domain.orgs import tree as orgs
from domain.topics import audit
from domain.topics import operations as topics
from models import Organisation, OrgKind, Role, Topic, TopicEvent, TopicRoute, TopicState
from tests.topic_world import NOW, advance, build, new_topic, notices_to, person, run_cli, who


@pytest.fixture
def world(db):
    return build(db)


def _with_result(db, services, outcome: TopicState, text: str = "修一下村东头的桥") -> Topic:
    """A 东风村 topic whose meeting recorded this result (the meeting's tally, as confirm.py records it)."""
    topic = advance(db, services, new_topic(db, services, text), TopicState.CONSULTED)
    topics.record_result(db, topic, outcome, None, NOW, "表决结果")
    db.commit()
    return topic


def _fresh(db, topic: Topic) -> Topic:
    db.expire_all()
    return db.get(Topic, topic.id)


def _events(db, topic: Topic) -> list[TopicEvent]:
    db.expire_all()
    return audit.timeline(db, topic)


def _routes(db, topic: Topic) -> int:
    return db.scalar(select(func.count()).select_from(TopicRoute).where(TopicRoute.topic_id == topic.id))


# ---- R-RES-1: the same-level party organisation confirms, then the result is filed upward ----------------------

def test_r_res_1_implementing_before_confirmation_is_refused_naming_who_confirms(bot, db, services, world, tmp_path):
    topic = _with_result(db, services, TopicState.CONSENSUS)
    n = topic.number
    before = len(_events(db, topic))
    reply = bot.send("c-v1", f"落实 {n}")
    assert "还没有经党组织确认" in reply and "东风村党组织审核人" in reply and f"确认结果 {n}" in reply
    cli = run_cli(services, tmp_path, "topic", "implement", n, "--org", "v1", "--by", "c-v1")
    assert cli.exit_code != 0 and f"确认结果 {n}" in cli.output and "Traceback" not in cli.output
    assert _fresh(db, topic).state is TopicState.CONSENSUS and len(_events(db, topic)) == before
    assert f"确认结果 {n}" in bot.send("p-v1", "待审")  # the party reviewer finds it in the to-do list


def test_r_res_1_wrong_people_cannot_confirm(bot, db, services, world):
    topic = _with_result(db, services, TopicState.BASIC_CONSENSUS)
    n = topic.number
    before = len(_events(db, topic))
    assert "党组织审核人" in bot.send("c-v1", f"确认结果 {n}")  # a convenor holds no party role
    assert "已确认" not in bot.send("u-zhang", f"确认结果 {n}")  # a villager
    assert "只有东风村的党组织审核人可以确认结果" in bot.send("p-t1", f"确认结果 v1/{n}")  # the township's, not ours
    assert "已确认" not in bot.send("p-v2", f"确认结果 v1/{n}")  # another village's party branch
    assert "编号写法不对" in bot.send("p-v1", "确认结果 abc")
    assert "请发送“确认结果 编号”" in bot.send("p-v1", "确认结果")
    assert _fresh(db, topic).state is TopicState.BASIC_CONSENSUS and len(_events(db, topic)) == before


def test_r_res_1_confirmation_files_with_the_parent_upper_office_not_another_township(bot, db, services, world):
    town2 = orgs.create_org(db, code="t2", name="太平镇", kind=OrgKind.TOWNSHIP, parent_code="c1")
    people.grant_role(db, person(db, "o-t2", "太平镇协商办"), town2, Role.UPPER_OFFICE)
    people.grant_role(db, person(db, "c-t2", "太平镇政协主任"), town2, Role.CONVENOR)
    db.commit()
    topic = _with_result(db, services, TopicState.CONSENSUS)
    n = topic.number
    reply = bot.send("p-v1", f"确认结果 {n} 同意按方案实施")
    assert "已确认 东风村 议题" in reply and "已报幸福镇备案" in reply
    confirm, filed = _events(db, topic)[-2:]
    assert (confirm.action, confirm.from_state, confirm.to_state, confirm.reason) == (
        "confirm", "consensus", "confirmed", "同意按方案实施")
    assert (filed.action, filed.from_state, filed.to_state, filed.reason) == (
        "file", "confirmed", "confirmed", "报幸福镇备案")
    assert confirm.actor_id == filed.actor_id == who(db, "p-v1").id
    def result_filings(openid):
        return [body for title, body in notices_to(db, openid, topic) if title.startswith("结果备案")]

    assert any("【备案】东风村议题" in body and "协商结果已经党组织确认" in body for body in result_filings("o-t1"))
    assert result_filings("c-t1")  # the township council
    assert notices_to(db, "o-t2", topic) == [] and notices_to(db, "c-t2", topic) == []
    assert result_filings("o-c1") == []  # filed with the level above, not the county
    assert any("已经党组织确认" in body for _, body in notices_to(db, "u-zhang", topic))
    assert any("请组织落实" in body for _, body in notices_to(db, "c-v1", topic))
    assert "已经有人处理过了" in bot.send("p-v1", f"确认结果 {n}")  # twice: once
    assert len([e for e in _events(db, topic) if e.action == "file"]) == 2  # the approval's and the result's
    assert f"落实 {n}" in bot.send("c-v1", "待审")
    assert "开始落实" in bot.send("c-v1", f"落实 {n}")
    assert _fresh(db, topic).state is TopicState.IMPLEMENTING
    assert audit.verify(db).ok


def test_r_res_1_cli_confirm_then_implement(db, services, world, tmp_path):
    topic = _with_result(db, services, TopicState.CONSENSUS)
    wrong = run_cli(services, tmp_path, "topic", "confirm", topic.number, "--org", "v1", "--by", "c-v1")
    assert wrong.exit_code != 0 and "党组织审核人" in wrong.output
    for args in (["confirm", "--by", "p-v1"], ["implement", "--by", "c-v1"]):
        result = run_cli(services, tmp_path, "topic", args[0], topic.number, "--org", "v1", *args[1:])
        assert result.exit_code == 0, result.output
    assert _fresh(db, topic).state is TopicState.IMPLEMENTING


# ---- R-RES-5: up the tree, level by level; without consensus to the party or the county CPPCC -----------------

def test_r_res_5_village_topic_reaches_the_township_then_the_county(bot, db, services, world):
    topic = _with_result(db, services, TopicState.CONSENSUS)
    n = topic.number
    assert "要先经党组织确认" in bot.send("c-v1", f"上报 {n} 修桥要镇里统筹资金")  # consensus: confirm first
    bot.send("p-v1", f"确认结果 {n}")
    assert "要写明理由" in bot.send("c-v1", f"上报 {n}")
    assert "已把 东风村 议题" in bot.send("c-v1", f"上报 {n} 修桥要镇里统筹资金") and _routes(db, topic) == 1
    township = bot.send("p-t1", "待办")
    assert f"东风村 {n}" in township and "来自：东风村上报：修桥要镇里统筹资金" in township
    assert "东风村上报" in bot.send("c-t1", "议题清单")
    assert "东风村上报" not in bot.send("o-c1", "待办")
    assert any("修桥要镇里统筹资金" in body for _, body in notices_to(db, "c-t1", topic))
    assert "已经上报到幸福镇了" in bot.send("c-v1", f"上报 {n} 再报一次")  # the village cannot send it twice
    assert "已把 东风村 议题" in bot.send("c-t1", f"上报 v1/{n} 跨镇河道需要县里协调")
    county = bot.send("o-c1", "待办")
    assert f"东风村 {n}" in county and "来自：幸福镇上报：跨镇河道需要县里协调" in county
    assert "幸福镇上报" in bot.send("o-c1", "议题清单")
    assert "东风村上报" not in bot.send("p-t1", "待办")  # it left the township for the county
    ups = [e for e in _events(db, topic) if e.action == "escalate"]
    assert [e.reason for e in ups] == ["修桥要镇里统筹资金（报幸福镇）", "跨镇河道需要县里协调（报示范县协商办）"]
    assert [e.actor_id for e in ups] == [who(db, "c-v1").id, who(db, "c-t1").id]
    assert _fresh(db, topic).state is TopicState.CONFIRMED  # a route keeps the topic's own state
    assert any("已上报上级" in body for _, body in notices_to(db, "u-zhang", topic))
    assert audit.verify(db).ok


def test_r_res_5_a_city_level_topic_cannot_go_higher(bot, db, services, world):
    city = orgs.create_org(db, code="s1", name="示范市协商办", kind=OrgKind.CITY_OFFICE)
    db.get(Organisation, world.county).parent = city  # arrange: the county sits under the city
    people.grant_role(db, person(db, "o-s1", "市协商办"), city, Role.UPPER_OFFICE)
    db.commit()
    topic = _with_result(db, services, TopicState.NO_CONSENSUS)
    n = topic.number
    for openid, text in (("c-v1", "村里定不了"), ("c-t1", "镇里定不了"), ("o-c1", "县里定不了")):
        assert "已把 东风村 议题" in bot.send(openid, f"上报 v1/{n} {text}"), openid
    assert "来自：示范县协商办上报：县里定不了" in bot.send("o-s1", "待办")
    before = len(_events(db, topic))
    reply = bot.send("o-s1", f"上报 v1/{n} 再往上")
    assert "示范市协商办已经是最上面一级" in reply and "不能再往上报" in reply
    assert len(_events(db, topic)) == before and _routes(db, topic) == 3


def test_r_res_5_no_consensus_topic_to_the_cppcc_as_social_opinion_keeps_its_reason(bot, db, services, world,
                                                                                       tmp_path):
    topic = _with_result(db, services, TopicState.NO_CONSENSUS)
    n = topic.number
    assert "县政协（示范县协商办）" in bot.send("c-v1", f"转社情民意 {n} 群众反映的河道共性问题")
    event = _events(db, topic)[-1]
    assert (event.action, event.from_state, event.to_state) == ("to_opinion", "no_consensus", "no_consensus")
    assert event.reason == "群众反映的河道共性问题（报县政协（示范县协商办））"
    assert "已经转社情民意过了" in bot.send("c-v1", f"转社情民意 {n} 再转一次")
    assert "来自：东风村转社情民意：群众反映的河道共性问题" in bot.send("o-c1", "待办")
    assert "社情民意" in "".join(body for _, body in notices_to(db, "o-c1", topic))
    exported = tmp_path / "audit.csv"
    result = run_cli(services, tmp_path, "audit", "export", "--org", "v1", "--out", str(exported))
    assert result.exit_code == 0, result.output
    assert "转社情民意" in exported.read_text(encoding="utf-8-sig") and "河道共性问题" in exported.read_text(
        encoding="utf-8-sig")
    assert "提交东风村党组织作决策参考" in bot.send("c-v1", f"转党组织 {n} 两种意见相持不下")
    assert "来自：东风村转党组织决策参考：两种意见相持不下" in bot.send("p-v1", "待办")
    assert _fresh(db, topic).state is TopicState.NO_CONSENSUS and audit.verify(db).ok


def test_r_res_5_a_consensus_topic_cannot_be_routed_as_without_consensus(bot, db, services, world, tmp_path):
    topic = _with_result(db, services, TopicState.CONSENSUS)
    n = topic.number
    for word in ("转党组织", "转提案", "转社情民意"):
        reply = bot.send("c-v1", f"{word} {n} 想转上去")
        assert "已经达成共识" in reply and "只有未达成共识" in reply and f"上报 {n} 理由" in reply, word
    cli = run_cli(services, tmp_path, "topic", "route", n, "--org", "v1", "--by", "c-v1", "--to", "proposal",
                  "--reason", "想转上去")
    assert cli.exit_code != 0 and "已经达成共识" in cli.output
    assert _routes(db, topic) == 0 and _fresh(db, topic).state is TopicState.CONSENSUS


def test_r_res_5_only_the_council_of_the_holding_level_routes(bot, db, services, world, tmp_path):
    topic = _with_result(db, services, TopicState.NO_CONSENSUS)
    n = topic.number
    assert "只有东风村的召集人或党组织审核人" in bot.send("p-t1", f"转提案 v1/{n} 镇里替村里转")
    assert "已把" not in bot.send("u-zhang", f"上报 {n} 我要上报")
    assert "已把" not in bot.send("c-v2", f"上报 v1/{n} 别村的")
    made = run_cli(services, tmp_path, "topic", "escalate", n, "--org", "v1", "--by", "c-v1", "--reason", "村里定不了")
    assert made.exit_code == 0 and "已上报到幸福镇（t1）" in made.output, made.output
    assert _routes(db, topic) == 1
