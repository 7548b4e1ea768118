"""Reading topics: a person's own, what awaits a convenor or reviewer, lists per organisation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.people import role_orgs
from domain.topic_states import GRASSROOTS, level_of
from models import Organisation, Person, Role, Topic, TopicCosigner, TopicState

S = TopicState
CLOSED_STATES = {S.EVALUATED, S.WITHDRAWN}
CONVENOR_TODO = {
    S.REGISTERED: "筛选 {ref} 问卷调查",
    S.SCREENING: "报审 {ref}",
    S.RETURNED: "修改后 报审 {ref}，或 撤回 {ref}",
    S.APPROVED: "调研 {ref} 调研情况",
    S.RESEARCHED: "安排会议 {ref} 日期 时间 地点",
}
REVIEWER_TODO = "通过 {ref}，或 退回 {ref} 理由"


@dataclass
class MyTopic:
    """A topic as one person relates to it."""

    topic: Topic
    relation: str  # 提议 | 联名
    agent: Person | None  # who did it for them (代办)


@dataclass
class Todo:
    """A topic awaiting someone's action, with what to send."""

    topic: Topic
    hint: str  # a template with {ref}


def my_topics(db: Session, person: Person, limit: int) -> list[MyTopic]:
    """Topics the person proposed or co-signed, newest first."""
    found: dict[int, MyTopic] = {}
    for topic in db.scalars(select(Topic).where(Topic.proposer_id == person.id).order_by(Topic.id.desc()).limit(limit)):
        found[topic.id] = MyTopic(topic, "提议", topic.proxy)
    signed = select(TopicCosigner).where(TopicCosigner.person_id == person.id).order_by(TopicCosigner.id.desc())
    for signer in db.scalars(signed.limit(limit)):
        found.setdefault(signer.topic_id, MyTopic(signer.topic, "联名", signer.proxy))
    return sorted(found.values(), key=lambda m: m.topic.id, reverse=True)[:limit]


def select_topics(org_ids: list[int], states: Iterable[TopicState]):  # type: ignore[no-untyped-def]
    """The statement for topics of some organisations in some states, oldest first."""
    return select(Topic).where(Topic.org_id.in_(org_ids), Topic.state.in_(list(states))).order_by(Topic.id)


def awaiting(db: Session, person: Person) -> list[Todo]:
    """Topics waiting for this person's action, by the roles they hold where (R-ROLE-4)."""
    todos: list[Todo] = []
    for org in role_orgs(db, person, Role.PARTY_REVIEWER):
        todos += [Todo(t, REVIEWER_TODO) for t in db.scalars(select_topics([org.id], [S.SUBMITTED]))]
        if level_of(org) != GRASSROOTS:
            children = [c.id for c in org.children if level_of(c) == GRASSROOTS]
            if children:
                todos += [Todo(t, REVIEWER_TODO) for t in db.scalars(select_topics(children, [S.REVIEWED]))]
    convenor_orgs = [o.id for o in role_orgs(db, person, Role.CONVENOR)]
    if convenor_orgs:
        for topic in db.scalars(select_topics(convenor_orgs, CONVENOR_TODO)):
            todos.append(Todo(topic, CONVENOR_TODO[topic.state]))
    unique: dict[int, Todo] = {}
    for todo in todos:
        unique.setdefault(todo.topic.id, todo)
    return sorted(unique.values(), key=lambda t: t.topic.id)


def list_topics(db: Session, orgs: Iterable[Organisation], *, states: Iterable[TopicState] | None = None,
                year: int | None = None, open_only: bool = False) -> list[Topic]:
    """Topics of some organisations, by organisation and number."""
    ids = [o.id for o in orgs]
    stmt = select(Topic).where(Topic.org_id.in_(ids))
    if states is not None:
        stmt = stmt.where(Topic.state.in_(list(states)))
    if open_only:
        stmt = stmt.where(Topic.state.not_in(list(CLOSED_STATES)))
    if year is not None:
        stmt = stmt.where(Topic.year == year)
    return list(db.scalars(stmt.order_by(Topic.org_id, Topic.year, Topic.seq)))
