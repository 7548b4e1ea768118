"""The transition table: every illegal move is refused in Chinese; two reviewers at once: one wins."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from domain.errors import Conflict, DomainError
from domain.topics import operations as topics
from domain.topics import states as topic_states
from domain.topics.states import ACTION_LABELS, TRANSITIONS, IllegalTransition
from models import Person, Topic, TopicEvent, TopicState
from tests.topic_world import NOW, advance, build, new_topic, who

TERMINAL = {TopicState.EVALUATED, TopicState.WITHDRAWN}
ACTIONS = sorted({tr.action for tr in TRANSITIONS})


def test_table_is_complete_and_labelled():
    for tr in TRANSITIONS:
        assert tr.action in ACTION_LABELS and tr.roles
    reachable = {tr.target for tr in TRANSITIONS} | {TopicState.REGISTERED}
    assert reachable == set(TopicState)
    for state in set(TopicState) - TERMINAL:
        assert any(state in tr.sources for tr in TRANSITIONS), f"{state} is a dead end"
    for state in TERMINAL:
        assert not any(state in tr.sources for tr in TRANSITIONS)


def _illegal_states(action: str) -> list[TopicState]:
    return [s for s in TopicState if not any(tr.action == action and s in tr.sources for tr in TRANSITIONS)]


@pytest.mark.parametrize("action", ACTIONS)
def test_r_topic_8_illegal_transitions_refused_in_chinese(db, services, action):
    build(db)
    topic = new_topic(db, services)
    last_event = db.scalar(select(TopicEvent.id).order_by(TopicEvent.id.desc()).limit(1))
    target = TopicState.CONSENSUS if action == "result" else None
    for state in _illegal_states(action):
        savepoint = db.begin_nested()
        topic.state = state  # arrange: put the topic straight into the state under test
        db.flush()
        with pytest.raises((IllegalTransition, Conflict)) as caught:
            topic_states.apply(db, topic, action, who(db, "c-v1"), NOW, target=target, reason="理由")
        savepoint.rollback()
        reply = caught.value.reply
        assert topic.number in reply and any("\u4e00" <= ch <= "\u9fff" for ch in reply), (state, reply)
    db.rollback()
    assert db.scalar(select(TopicEvent.id).order_by(TopicEvent.id.desc()).limit(1)) == last_event
    assert db.get(Topic, topic.id).state is TopicState.REGISTERED


def test_r_topic_4_level_rules_township_topic_has_no_village_review(db, services):
    from models import Organisation, TopicSource

    world = build(db)
    town = db.get(Organisation, world.town)
    topic = topics.register(db, town, "全镇道路提档", source=TopicSource.PARTY_GOVERNMENT, actor=who(db, "c-t1"),
                            now=NOW, settings=services.settings)
    topic.state = TopicState.SUBMITTED
    db.commit()
    with pytest.raises(IllegalTransition):
        topic_states.apply(db, topic, "review", who(db, "p-t1"), NOW)


def test_already_done_is_reported_as_handled(db, services):
    build(db)
    topic = advance(db, services, new_topic(db, services), TopicState.APPROVED)
    with pytest.raises(Conflict, match="已经有人处理过了"):
        topics.approve(db, topic, who(db, "p-t1"), NOW)


def test_r_topic_4_two_township_reviewers_approve_at_once_one_wins(db, services):
    from domain.orgs import people
    from models import Organisation, Role

    world = build(db)
    second = Person(openid="p-t1-b", real_name="镇党委副书记", subscribed=True)
    db.add(second)
    people.grant_role(db, second, db.get(Organisation, world.town), Role.PARTY_REVIEWER)
    topic_id = advance(db, services, new_topic(db, services), TopicState.REVIEWED).id
    db.commit()
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def approve(openid: str) -> None:
        with services.sessions() as session:
            topic = session.get(Topic, topic_id)
            actor = who(session, openid)
            assert topic.state is TopicState.REVIEWED
            barrier.wait(5)  # both have read the topic before either writes
            try:
                topics.approve(session, topic, actor, NOW, f"{openid} 同意")
                session.commit()
                outcomes[openid] = "ok"
            except DomainError as exc:
                session.rollback()
                outcomes[openid] = exc.reply

    threads = [threading.Thread(target=approve, args=(o,)) for o in ("p-t1", "p-t1-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(outcomes.values(), key=len)[0] == "ok"
    loser = next(v for v in outcomes.values() if v != "ok")
    assert "已经有人处理过了" in loser
    db.expire_all()
    approvals = db.scalars(select(TopicEvent).where(TopicEvent.topic_id == topic_id,
                                                    TopicEvent.action == "approve")).all()
    assert len(approvals) == 1 and db.get(Topic, topic_id).state is TopicState.APPROVED


def test_two_proposals_at_once_get_distinct_numbers(db, services):
    build(db)
    barrier = threading.Barrier(2)
    numbers: list[str] = []

    def propose(openid: str, text: str) -> None:
        with services.sessions() as session:
            person = who(session, openid)
            barrier.wait(5)
            numbers.append(topics.propose(session, person, text, NOW, settings=services.settings).number)
            session.commit()

    threads = [threading.Thread(target=propose, args=a) for a in (("u-zhang", "修路"), ("u-li", "装路灯"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(numbers) == ["2026-001", "2026-002"]


def test_r_topic_1_same_person_cosigning_twice_at_once_is_told(db, services):
    build(db)
    topic_id = new_topic(db, services).id
    barrier = threading.Barrier(2)
    replies: list[str] = []

    def sign() -> None:
        with services.sessions() as session:
            topic, person = session.get(Topic, topic_id), who(session, "u-li")
            barrier.wait(5)
            try:
                topics.cosign(session, topic, person, NOW)
                session.commit()
                replies.append("ok")
            except DomainError as exc:
                session.rollback()
                replies.append(exc.reply)

    threads = [threading.Thread(target=sign) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(replies) == sorted(["ok", "您已经联名过议题 2026-001 了。"])
