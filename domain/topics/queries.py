"""Reading topics: a person's own, what awaits a convenor or reviewer, lists per organisation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, select, union_all
from sqlalchemy.orm import Session

from domain.orgs.people import role_orgs
from domain.topics.routes import RECEIVERS
from domain.topics.states import GRASSROOTS, SECTOR, holder, level_of
from models import Organisation, Person, Role, RouteKind, Topic, TopicCosigner, TopicRoute, TopicState

S = TopicState
CLOSED_STATES = {S.EVALUATED, S.WITHDRAWN}
CONVENOR_TODO = {
    S.REGISTERED: "筛选 {ref} 问卷调查",
    S.SCREENING: "报审 {ref}",
    S.RETURNED: "修改后 报审 {ref}，或 撤回 {ref}",
    S.APPROVED: "调研 {ref} 调研情况",
    S.RESEARCHED: "安排会议 {ref} 日期 时间 地点",
    S.CONFIRMED: "落实 {ref}",
    S.IMPLEMENTING: "落实完成 {ref} 落实情况",
}
REVIEWER_TODO = "通过 {ref}，或 退回 {ref} 理由"
CONFIRM_TODO = "确认结果 {ref}"  # R-RES-1
TO_CONFIRM = (S.CONSENSUS, S.BASIC_CONSENSUS)
ROUTE_TODO = {  # R-RES-5: what the receiving level may send
    RouteKind.UP: "议题 {ref} 查看；需要再往上报：上报 {ref} 理由",
    RouteKind.PARTY: "议题 {ref} 查看（供党组织决策参考）",
    RouteKind.PROPOSAL: "议题 {ref} 查看（政协委员提案）",
    RouteKind.OPINION: "议题 {ref} 查看（社情民意信息）",
}
ORIGIN_CHARS = 40


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
    origin: str = ""  # for a topic sent here from elsewhere (R-RES-5): where from, how and why


# One statement, built once: the ids of the person's latest proposals and co-signatures (each branch an index
# range scan), then those topics with the person's co-signature row where there is one.
_MINE_IDS = union_all(
    select(Topic.id).where(Topic.proposer_id == bindparam("pid")).order_by(Topic.id.desc()).limit(bindparam("limit")),
    select(TopicCosigner.topic_id).where(TopicCosigner.person_id == bindparam("pid"))
    .order_by(TopicCosigner.id.desc()).limit(bindparam("limit")),
).subquery()
_MINE = (
    select(Topic, TopicCosigner)
    .outerjoin(TopicCosigner, (TopicCosigner.topic_id == Topic.id) & (TopicCosigner.person_id == bindparam("pid")))
    .where(Topic.id.in_(select(_MINE_IDS.c.id)))
    .order_by(Topic.id.desc())
    .limit(bindparam("limit"))
)


def my_topics(db: Session, person: Person, limit: int) -> list[MyTopic]:
    """Topics the person proposed or co-signed, newest first."""
    found: list[MyTopic] = []
    for topic, signer in db.execute(_MINE, {"pid": person.id, "limit": limit}):
        if topic.proposer_id == person.id or signer is None:
            found.append(MyTopic(topic, "提议", topic.proxy))
        else:
            found.append(MyTopic(topic, "联名", signer.proxy))
    return found


def select_topics(org_ids: list[int], states: Iterable[TopicState]):  # type: ignore[no-untyped-def]
    """The statement for topics of some organisations in some states, oldest first."""
    return select(Topic).where(Topic.org_id.in_(org_ids), Topic.state.in_(list(states))).order_by(Topic.id)


def awaiting(db: Session, person: Person) -> list[Todo]:
    """Topics waiting for this person's action, by the roles they hold where (R-ROLE-4)."""
    todos: list[Todo] = incoming(db, person)
    for org in role_orgs(db, person, Role.PARTY_REVIEWER):
        todos += [Todo(t, REVIEWER_TODO) for t in db.scalars(select_topics([org.id], [S.SUBMITTED]))]
        if level_of(org) != SECTOR:
            todos += [Todo(t, CONFIRM_TODO) for t in db.scalars(select_topics([org.id], TO_CONFIRM))]
        if level_of(org) != GRASSROOTS:
            children = [c.id for c in org.children if level_of(c) in (GRASSROOTS, SECTOR)]
            if children:
                todos += [Todo(t, REVIEWER_TODO) for t in db.scalars(select_topics(children, [S.REVIEWED]))]
            sectors = [c.id for c in org.children if level_of(c) == SECTOR]
            if sectors:
                todos += [Todo(t, CONFIRM_TODO) for t in db.scalars(select_topics(sectors, TO_CONFIRM))]
    for org in role_orgs(db, person, Role.CPPCC_COMMITTEE):  # first review of CPPCC sector topics (L-三(二))
        sectors = [c.id for c in org.children if level_of(c) == SECTOR]
        if sectors:
            todos += [Todo(t, REVIEWER_TODO) for t in db.scalars(select_topics(sectors, [S.SUBMITTED]))]
    convenor_orgs = [o.id for o in role_orgs(db, person, Role.CONVENOR)]
    if convenor_orgs:
        for topic in db.scalars(select_topics(convenor_orgs, CONVENOR_TODO)):
            todos.append(Todo(topic, CONVENOR_TODO[topic.state]))
    unique: dict[int, Todo] = {}
    for todo in todos:
        unique.setdefault(todo.topic.id, todo)
    return sorted(unique.values(), key=lambda t: t.topic.id)


def incoming(db: Session, person: Person) -> list[Todo]:
    """Topics sent to the person's organisations from elsewhere (R-RES-5), while they are still there."""
    found: list[Todo] = []
    for kind, roles in RECEIVERS.items():
        org_ids = [o.id for o in role_orgs(db, person, *roles)]
        if not org_ids:
            continue
        stmt = (select(TopicRoute).join(Topic, Topic.id == TopicRoute.topic_id)
                .where(TopicRoute.to_org_id.in_(org_ids), TopicRoute.kind == kind,
                       Topic.state.not_in(list(CLOSED_STATES))).order_by(TopicRoute.id))
        for made in db.scalars(stmt):
            if made.actor_id == person.id:
                continue
            if kind is RouteKind.UP and holder(db, made.topic).id != made.to_org_id:
                continue  # reported further up since
            if kind is not RouteKind.UP and made.topic.state is not S.NO_CONSENSUS:
                continue  # consulted again meanwhile
            reason = made.reason if len(made.reason) <= ORIGIN_CHARS else made.reason[:ORIGIN_CHARS - 1] + "…"
            found.append(Todo(made.topic, ROUTE_TODO[kind], f"{made.from_org.name}{kind.label}：{reason}"))
    return found


def routes_into(db: Session, orgs: Iterable[Organisation]) -> dict[int, TopicRoute]:
    """The latest route of each topic into these organisations (R-RES-5), by topic id: marks in the lists."""
    ids = [o.id for o in orgs]
    latest: dict[int, TopicRoute] = {}
    for made in db.scalars(select(TopicRoute).where(TopicRoute.to_org_id.in_(ids)).order_by(TopicRoute.id)):
        latest[made.topic_id] = made
    return latest


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
