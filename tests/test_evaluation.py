"""Evaluation of implemented topics (R-RES-6, L-三(九)): residents' ratings through the chat, once per person and
changeable within rules.rating_change_days; members' reviews, the party comment, the organiser's analysis; the
average and spread convenors and supervisors see; the CLI listing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from domain.evaluation import give
from domain.topics import operations as topics
from models import Evaluation, EvaluationAspect, EvaluationKind, Topic, TopicEvent, TopicState
from tests.driver import live_bot
from tests.topic_world import advance, build, new_topic, run_cli, who


class FrozenClock:
    """The bot's clock, standing still until the test moves it."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def world(db):
    return build(db)


def implemented(db, services, now, title="修一下村东头的路", openid="u-zhang") -> Topic:
    """A topic of 东风村 taken along the real steps to 已落实."""
    topic = advance(db, services, new_topic(db, services, title, openid, now=now), TopicState.CONSULTED, now=now)
    topics.record_result(db, topic, TopicState.CONSENSUS, who(db, "c-v1"), now, "举手表决全票通过")
    if hasattr(TopicState, "CONFIRMED"):  # R-RES-1: the party organisation confirms before implementation
        from domain.topics import routes

        routes.confirm(db, topic, who(db, "p-v1"), now)
    topics.implement(db, topic, who(db, "c-v1"), now)
    topics.complete(db, topic, who(db, "c-v1"), now, "路面已硬化")
    db.commit()
    assert topic.state is TopicState.IMPLEMENTED
    return topic


def ratings(db, topic):
    db.expire_all()
    return list(db.scalars(select(Evaluation).where(Evaluation.topic_id == topic.id,
                                                    Evaluation.kind == EvaluationKind.RESIDENT_RATING)))


def test_r_res_6_rating_twice_counts_once_changes_within_rating_change_days_then_refused(services, db, world):
    clock = FrozenClock()
    topic = implemented(db, services, clock())
    n = topic.number
    with live_bot(services, clock=clock, rules={"rating_change_days": 3}) as bot:
        reply = bot.send("u-zhang", f"评价 {n} 5 路修得很好")
        assert "谢谢您" in reply and "5 分" in reply and "前可以重新发送来修改" in reply
        assert "没有变化" in bot.send("u-zhang", f"评价 {n} 5 路修得很好")
        [row] = ratings(db, topic)
        assert (row.score, row.text, row.changes) == (5, "路修得很好", 0)

        clock.at += timedelta(days=3)  # exactly at the end of the window: still allowed
        assert "改为 4 分" in bot.send("u-zhang", f"评价 {n} 4分 下雨还有积水")
        [row] = ratings(db, topic)
        assert (row.score, row.text, row.changes) == (4, "下雨还有积水", 1)

        clock.at += timedelta(minutes=1)  # one minute past: refused (the default 7 days would still allow it)
        reply = bot.send("u-zhang", f"评价 {n} 2 太差")
        assert "给出 3 天内可以修改" in reply and "不能改了" in reply and "4 分" in reply
        [row] = ratings(db, topic)
        assert row.score == 4


def test_r_res_6_scores_full_width_chinese_numerals_and_bad_scores(bot, db, services, world):
    topic = implemented(db, services, datetime.now(UTC))
    n = topic.number
    assert "5 分" in bot.send("u-zhang", f"评价 {n} ５分 很满意")  # full-width digit
    assert "3 分" in bot.send("u-li", f"评价 {n} 三分")  # Chinese numeral, no comment
    assert "4 分" in bot.send("g-v1", f"评价 {n} 四 还可以")
    for bad in ("6", "0", "10分", "好", "五十"):
        assert "请打 1 到 5 分" in bot.send("m-v1-1", f"评价 {n} {bad}"), bad
    assert "评价 编号 分数" in bot.send("m-v1-1", f"评价 {n}")
    assert "评价 编号 分数" in bot.send("m-v1-1", "评价")
    assert sorted((r.score, r.text) for r in ratings(db, topic)) == [(3, ""), (4, "还可以"), (5, "很满意")]


def test_r_res_6_wrong_village_unbound_and_unimplemented_are_refused(bot, db, services, world):
    topic = implemented(db, services, datetime.now(UTC))
    n = topic.number
    assert "没有找到议题" in bot.send("u-wang", f"评价 {n} 1")  # 红旗村: the number is not among its topics
    assert "只有东风村的群众可以评价" in bot.send("u-wang", f"评价 v1/{n} 1")  # named outright: still refused
    assert "还没有绑定" in bot.send("u-stranger", f"评价 v1/{n} 1")
    pending = advance(db, services, new_topic(db, services, "村口装路灯"), TopicState.CONSULTED)
    assert "还没有落实" in bot.send("u-li", f"评价 {pending.number} 5")
    assert ratings(db, topic) == [] and ratings(db, pending) == []
    # the official kinds: only the role in the topic's own organisation
    assert "您没有这项权限" in bot.send("u-zhang", f"点评 {n} 很好")
    assert "您没有这项权限" in bot.send("u-zhang", f"评议 {n} 5 很好")
    assert "只有东风村的党组织审核人可以点评" in bot.send("p-v2", f"点评 v1/{n} 很好")
    assert "只有东风村的召集人可以评析" in bot.send("c-v2", f"评析 v1/{n} 很好")
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Evaluation)) == 0
    assert db.get(Topic, topic.id).state is TopicState.IMPLEMENTED


def test_r_res_6_concurrent_duplicate_ratings_make_one_row(services, db, world):
    topic = implemented(db, services, datetime.now(UTC))
    barrier = threading.Barrier(4)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def rate() -> None:
        try:
            with services.sessions() as session:
                person = who(session, "u-zhang")
                row = session.get(Topic, topic.id)
                barrier.wait(5)
                given = give.rate(session, row, person, 5, "好", datetime.now(UTC), settings=services.settings)
                session.commit()
                outcomes.append(given.outcome)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=rate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []
    assert sorted(outcomes) == ["new", "same", "same", "same"]
    assert len(ratings(db, topic)) == 1


def test_r_res_6_average_spread_and_comments_through_the_chat(bot, db, services, world, tmp_path):
    topic = implemented(db, services, datetime.now(UTC))
    n = topic.number
    for openid, text in (("u-zhang", "5 路修好了"), ("u-li", "3 排水沟没挖"), ("m-v1-1", "4"), ("g-v1", "4 不错")):
        assert "谢谢您" in bot.send(openid, f"评价 {n} {text}")
    assert "已记下您对东风村 议题" in bot.send("m-v1-2", f"评议 {n} 过程 4 程序规范，工期稍长")
    reply = bot.send("p-v1", f"点评 {n} 结果 群众满意，要管护好")
    assert "党组织点评（结果）" in reply and "议题现在“已评价”" in reply
    db.expire_all()
    assert db.get(Topic, topic.id).state is TopicState.EVALUATED
    last = db.scalars(select(TopicEvent).where(TopicEvent.topic_id == topic.id).order_by(TopicEvent.id.desc())).first()
    assert (last.action, last.actor.real_name) == ("evaluate", "东风党支部")
    assert "党组织点评：群众满意" in last.reason
    reply = bot.send("c-v1", f"评析 {n} 过程 调研充分，会上分歧较大")
    assert "组织者评析（过程）" in reply and "已评价" not in reply  # the state moved once only
    assert "谢谢您" in bot.send("chair-v1", f"评价 {n} 5")  # rating after 已评价 still counts

    summary = bot.send("c-v1", f"评价结果 {n}")
    # 5, 3, 4, 4, 5: mean 4.2, population standard deviation 0.75
    assert "群众评价：5 人，平均 4.2 分（最低 3，最高 5，标准差 0.75）" in summary
    assert "分布：5分 2人，4分 2人，3分 1人，2分 0人，1分 0人" in summary
    assert "成员评议：1 人，平均 4.0 分" in summary
    assert "东风党支部（结果）：群众满意，要管护好" in summary and "王书记（过程）：调研充分" in summary
    assert "张*" in summary and "张三" not in summary  # residents are masked in the chat
    assert "路修好了" in summary and "排水沟没挖" in summary
    for supervisor in ("o-t1", "o-c1", "p-t1"):
        assert "平均 4.2 分" in bot.send(supervisor, f"评价结果 v1/{n}"), supervisor
    assert "没有找到议题" in bot.send("p-v2", f"评价结果 v1/{n}")
    assert "您没有这项权限" in bot.send("u-zhang", f"评价结果 {n}")

    shown = run_cli(services, tmp_path, "topic", "evaluations", "--org", "v1", "--topic", n)
    assert shown.exit_code == 0, shown.output
    assert "平均 4.2 分" in shown.output and "张三 5分：路修好了" in shown.output
    assert "东风成员2（过程） 4分：程序规范，工期稍长" in shown.output
    bad = run_cli(services, tmp_path, "topic", "evaluations", "--org", "v1", "--topic", "999")
    assert bad.exit_code != 0 and "没有找到议题" in bad.output and "Traceback" not in bad.output


def test_r_res_6_official_evaluation_changes_within_window_and_keeps_aspects_apart(bot, db, services, world):
    topic = implemented(db, services, datetime.now(UTC))
    n = topic.number
    assert "组织者评析（过程）" in bot.send("c-v1", f"评析 {n} 过程 程序完整")
    assert "组织者评析（结果）" in bot.send("c-v1", f"分析 {n} 结果 路面平整")
    assert "已修改您对东风村 议题" in bot.send("c-v1", f"评析 {n} 过程 程序完整，公示充分")
    assert "评析 编号 意见" in bot.send("c-v1", f"评析 {n} 过程")
    db.expire_all()
    rows = db.scalars(select(Evaluation).where(Evaluation.topic_id == topic.id).order_by(Evaluation.id)).all()
    assert [(r.aspect, r.text) for r in rows] == [(EvaluationAspect.PROCESS, "程序完整，公示充分"),
                                                 (EvaluationAspect.RESULT, "路面平整")]
    assert db.get(Topic, topic.id).state is TopicState.EVALUATED


def test_r_res_6_party_comment_and_analysis_at_once_move_the_state_once(services, db, world):
    topic = implemented(db, services, datetime.now(UTC))
    barrier = threading.Barrier(2)
    moved: list[bool] = []
    errors: list[BaseException] = []

    def comment(openid: str, kind: EvaluationKind) -> None:
        try:
            with services.sessions() as session:
                actor, row = who(session, openid), session.get(Topic, topic.id)
                barrier.wait(5)
                given = give.comment(session, row, actor, kind, "很好", datetime.now(UTC), settings=services.settings)
                session.commit()
                moved.append(given.evaluated_now)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=comment, args=("p-v1", EvaluationKind.PARTY_COMMENT)),
               threading.Thread(target=comment, args=("c-v1", EvaluationKind.ORGANISER_ANALYSIS))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == [] and sorted(moved) == [False, True]
    db.expire_all()
    assert db.get(Topic, topic.id).state is TopicState.EVALUATED
    assert db.scalar(select(func.count()).select_from(TopicEvent).where(
        TopicEvent.topic_id == topic.id, TopicEvent.action == "evaluate")) == 1
    assert db.scalar(select(func.count()).select_from(Evaluation).where(Evaluation.topic_id == topic.id)) == 2
