"""The life of a topic: ONE table of transitions (from-states, action → to-state, who may, at which level).

Chat, CLI, console and API all move topics through ``apply``; nothing else writes ``Topic.state``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from domain.errors import Conflict, DomainError, InvalidInput, PermissionDenied
from domain.orgs import people
from domain.topics import audit
from domain.topics.labels import ACTION_KEYWORDS, ACTION_LABELS
from models import Organisation, OrgKind, Person, Role, RouteKind, Topic, TopicEvent, TopicRoute, TopicState

logger = logging.getLogger(__name__)

S = TopicState
GRASSROOTS, UPPER = "grassroots", "upper"  # village/community/enterprise vs township/street/park/county
SECTOR = "sector"  # a CPPCC sector room: its committee reviews, the CPPCC party group approves (L-三(二))
BOTH = frozenset({GRASSROOTS, UPPER, SECTOR})  # every level
SELF, PARENT = "self", "parent"  # the role is checked in the topic's organisation, or in its parent
HOLDER = "holder"  # ... or where the topic was last reported up to (R-RES-5), else its own organisation


class IllegalTransition(DomainError):
    """The topic is not in a state where this action is possible."""

    reply = "这个议题现在不能这样处理。"


@dataclass(frozen=True)
class Transition:
    """One row of the table."""

    action: str
    sources: frozenset[TopicState]
    target: TopicState
    roles: tuple[Role, ...]
    scope: str = SELF
    levels: frozenset[str] = BOTH
    proposer_may: bool = False  # the proposer may do it too
    supervisor_may: bool = False  # an upper office above the organisation may do it too (R-RES-7)
    system_ok: bool = False  # code may do it without a person (e.g. a vote tally)
    needs_reason: bool = False


def _t(action: str, sources: set[TopicState], target: TopicState, *roles: Role, **kw: object) -> Transition:
    return Transition(action, frozenset(sources), target, tuple(roles), **kw)  # type: ignore[arg-type]


C, P, CH, SEC = Role.CONVENOR, Role.PARTY_REVIEWER, Role.CHAIR, Role.SECRETARY
COM, UO = Role.CPPCC_COMMITTEE, Role.UPPER_OFFICE
ROUTABLE = (S.NO_CONSENSUS, S.CONFIRMED, S.IMPLEMENTING)  # results a level above may take up (R-RES-5)
NO_CONSENSUS_ROUTES = ("to_party", "to_proposal", "to_opinion")  # a topic without consensus only
NOT_LOCAL = frozenset({GRASSROOTS, UPPER})
TRANSITIONS: tuple[Transition, ...] = (
    _t("screen", {S.REGISTERED}, S.SCREENING, C),  # R-TOPIC-3
    _t("submit", {S.SCREENING, S.RETURNED}, S.SUBMITTED, C),  # R-TOPIC-4
    _t("review", {S.SUBMITTED}, S.REVIEWED, P, levels=frozenset({GRASSROOTS})),  # village party org checks
    _t("review", {S.SUBMITTED}, S.REVIEWED, COM, scope=PARENT, levels=frozenset({SECTOR})),  # CPPCC committee
    _t("approve", {S.REVIEWED}, S.APPROVED, P, scope=PARENT, levels=frozenset({GRASSROOTS, SECTOR})),  # township / CPPCC party group
    _t("approve", {S.SUBMITTED}, S.APPROVED, P, levels=frozenset({UPPER})),  # township topic: own committee
    _t("return", {S.SUBMITTED}, S.RETURNED, P, levels=frozenset({GRASSROOTS, UPPER}), needs_reason=True),
    _t("return", {S.SUBMITTED}, S.RETURNED, COM, scope=PARENT, levels=frozenset({SECTOR}), needs_reason=True),
    _t("return", {S.REVIEWED}, S.RETURNED, P, scope=PARENT, levels=frozenset({GRASSROOTS, SECTOR}), needs_reason=True),
    _t("research", {S.APPROVED}, S.RESEARCHED, C, needs_reason=True),  # R-TOPIC-5
    _t("schedule", {S.RESEARCHED}, S.NOTICED, C),  # R-TOPIC-6 (domain/meetings.py)
    _t("reschedule", {S.NOTICED}, S.NOTICED, C),
    _t("cancel_meeting", {S.NOTICED}, S.RESEARCHED, C, needs_reason=True),
    _t("consult", {S.NOTICED}, S.CONSULTED, C, CH, SEC, system_ok=True),
    _t("result", {S.NOTICED, S.CONSULTED}, S.CONSENSUS, C, CH, SEC, system_ok=True),
    _t("result", {S.NOTICED, S.CONSULTED}, S.BASIC_CONSENSUS, C, CH, SEC, system_ok=True),
    _t("result", {S.NOTICED, S.CONSULTED}, S.NO_CONSENSUS, C, CH, SEC, system_ok=True),
    _t("confirm", {S.CONSENSUS, S.BASIC_CONSENSUS}, S.CONFIRMED, P, levels=NOT_LOCAL),  # R-RES-1: same level
    _t("confirm", {S.CONSENSUS, S.BASIC_CONSENSUS}, S.CONFIRMED, P, scope=PARENT, levels=frozenset({SECTOR})),
    _t("file", {S.CONFIRMED}, S.CONFIRMED, P, levels=NOT_LOCAL),  # R-RES-1: made at once by the confirmation
    _t("file", {S.CONFIRMED}, S.CONFIRMED, P, scope=PARENT, levels=frozenset({SECTOR})),
    _t("implement", {S.CONFIRMED}, S.IMPLEMENTING, C),
    _t("complete", {S.IMPLEMENTING}, S.IMPLEMENTED, C, needs_reason=True),
    _t("evaluate", {S.IMPLEMENTED}, S.EVALUATED, C, P, supervisor_may=True, needs_reason=True),
    _t("reconsult", {S.NO_CONSENSUS}, S.SUBMITTED, C, needs_reason=True),  # R-TOPIC-7
    # R-RES-5: routes are recorded steps (the topic keeps its state); domain/topics/routes.py records where to.
    *(_t("escalate", {s}, s, C, P, UO, scope=HOLDER, needs_reason=True) for s in ROUTABLE),
    *(_t(a, {S.NO_CONSENSUS}, S.NO_CONSENSUS, C, P, scope=HOLDER, needs_reason=True) for a in NO_CONSENSUS_ROUTES),
    _t("withdraw", {S.REGISTERED, S.SCREENING, S.RETURNED}, S.WITHDRAWN, C, proposer_may=True),
)

# Refusals that deserve their own words (the rule behind them, and what to do instead).
SPECIAL_REFUSALS = {
    ("schedule", S.APPROVED): "议题 {n} 还没有调研记录，不能安排会议（不调研不协商）。请先发送“调研 {n} 调研情况”。",
    ("submit", S.REGISTERED): "议题 {n} 还没有筛选，请先发送“筛选 {n} 方式”（问卷调查、直接对话、小组协商、听证、网络投票）。",
    ("reconsult", S.CONSENSUS): "议题 {n} 已经达成共识，不需要再次协商。",
    ("reconsult", S.BASIC_CONSENSUS): "议题 {n} 已经基本达成共识，不需要再次协商。",
    **{("implement", s): "议题 {n} 的协商结果还没有经党组织确认，不能开始落实。"
                         "请{org}党组织审核人发送“确认结果 {n}”。" for s in (S.CONSENSUS, S.BASIC_CONSENSUS)},
    **{("escalate", s): "议题 {n} 的协商结果要先经党组织确认（{org}党组织审核人发送“确认结果 {n}”），"
                        "确认后才能上报。" for s in (S.CONSENSUS, S.BASIC_CONSENSUS)},
    **{(a, s): "议题 {n} 已经达成共识，只有未达成共识的议题才能这样转。需要上级解决的，请发送“上报 {n} 理由”。"
       for a in NO_CONSENSUS_ROUTES
       for s in (S.CONSENSUS, S.BASIC_CONSENSUS, S.CONFIRMED, S.IMPLEMENTING, S.IMPLEMENTED, S.EVALUATED)},
}


def level_of(org: Organisation) -> str:
    """grassroots (village, community, enterprise), sector (a CPPCC sector room) or upper (township and above)."""
    if org.kind is OrgKind.CPPCC_SECTOR:
        return SECTOR
    return GRASSROOTS if org.kind.level == "grassroots" else UPPER


def next_actions(topic: Topic) -> list[str]:
    """Labels of the actions the table allows from the topic's state at its level."""
    level = level_of(topic.org)
    seen: list[str] = []
    for tr in TRANSITIONS:
        if topic.state in tr.sources and level in tr.levels and ACTION_LABELS[tr.action] not in seen:
            seen.append(ACTION_LABELS[tr.action])
    return seen


def next_step_hint(db: Session | None, topic: Topic, actor: Person | None) -> str:
    """What may happen next, said to this actor: the keywords they may send, else who acts next."""
    if db is None or actor is None:
        return ""
    level = level_of(topic.org)
    rows = [tr for tr in TRANSITIONS if topic.state in tr.sources and level in tr.levels]
    if not rows:
        return "这个议题已经办结。"
    mine = list(dict.fromkeys(ACTION_KEYWORDS[tr.action].format(n=topic.number) for tr in rows
                              if tr.action in ACTION_KEYWORDS and may(db, tr, topic, actor)))
    if mine:
        return "您现在可以发送" + "或".join(f"“{m}”" for m in mine) + "。"
    tr = rows[0]
    who = "或".join(dict.fromkeys(r.label for r in tr.roles))
    return f"下一步由{role_org(topic, tr).name}的{who}{ACTION_LABELS[tr.action]}。"


def find(topic: Topic, action: str, target: TopicState | None = None, *, db: Session | None = None,
         actor: Person | None = None) -> Transition:
    """The row for this action from the topic's state, or a clear refusal (naming what the actor may do instead)."""
    level = level_of(topic.org)
    for tr in TRANSITIONS:
        if tr.action == action and topic.state in tr.sources and level in tr.levels:
            if target is None or tr.target == target:
                return tr
    n = topic.number
    special = SPECIAL_REFUSALS.get((action, topic.state))
    if special:
        party = topic.org.parent if level == SECTOR and topic.org.parent is not None else topic.org
        raise IllegalTransition(special.format(n=n, org=party.name))
    if any(tr.action == action and tr.target == topic.state for tr in TRANSITIONS) and action != "reschedule":
        raise Conflict(f"议题 {n} 现在“{topic.state.label}”，这一步已经有人处理过了。")
    hint = next_step_hint(db, topic, actor) if next_actions(topic) else "这个议题已经办结。"
    raise IllegalTransition(f"议题 {n} 现在“{topic.state.label}”，不能{ACTION_LABELS.get(action, action)}。{hint}")


def holder(db: Session, topic: Topic) -> Organisation:
    """The organisation holding the topic now: the level it was last reported up to (R-RES-5), else its own."""
    to_id = db.scalar(select(TopicRoute.to_org_id).where(TopicRoute.topic_id == topic.id, TopicRoute.kind == RouteKind.UP)
                      .order_by(TopicRoute.id.desc()).limit(1))
    return db.get_one(Organisation, to_id) if to_id is not None else topic.org


def role_org(topic: Topic, tr: Transition, db: Session | None = None) -> Organisation:
    """The organisation in which the transition's roles are checked."""
    if tr.scope == HOLDER:
        return holder(db, topic) if db is not None else topic.org
    if tr.scope == PARENT:
        if topic.org.parent is None:
            raise PermissionDenied(f"{topic.org.name}没有上级组织，无法报批。请联系管理员。")
        return topic.org.parent
    return topic.org


def may(db: Session, tr: Transition, topic: Topic, actor: Person | None, on_behalf_of: Person | None = None) -> bool:
    """Whether the actor (possibly acting for someone, 代办) may make this transition on this topic (R-ROLE-4)."""
    if actor is None:
        return tr.system_ok
    if tr.proposer_may and topic.proposer_id in (actor.id, on_behalf_of.id if on_behalf_of else None):
        return True
    if tr.supervisor_may and people.supervises(db, actor, topic.org):
        return True
    return people.has_role(db, actor, role_org(topic, tr, db), *tr.roles)


def check_actor(db: Session, tr: Transition, topic: Topic, actor: Person | None,
                on_behalf_of: Person | None = None) -> None:
    """Raise PermissionDenied naming who may do it."""
    if may(db, tr, topic, actor, on_behalf_of):
        return
    org = role_org(topic, tr, db)
    names = "或".join(r.label for r in tr.roles)
    who = f"{org.name}的{names}"
    if tr.proposer_may:
        who = f"提议人或{who}"
    raise PermissionDenied(f"只有{who}可以{ACTION_LABELS[tr.action]}议题 {topic.number}。")


def apply(
    db: Session,
    topic: Topic,
    action: str,
    actor: Person | None,
    now: datetime,
    *,
    target: TopicState | None = None,
    reason: str = "",
    on_behalf_of: Person | None = None,
    change: Callable[[Topic], None] | None = None,
) -> TopicEvent:
    """Make one transition: lock, re-check, check the actor, change, record.

    The operation that calls this pushes the news (``operations.transition``); the table does not.
    """
    seen = topic.version
    audit.lock(db, topic.org_id)
    db.refresh(topic)
    if topic.version != seen:
        raise Conflict(f"议题 {topic.number} 刚刚已经有人处理过了（现在“{topic.state.label}”）。"
                       f"发送“议题 {topic.number}”看看最新情况。")
    tr = find(topic, action, target, db=db, actor=actor)
    check_actor(db, tr, topic, actor, on_behalf_of)
    reason = (reason or "").strip()
    if tr.needs_reason and not reason:
        raise InvalidInput(f"请写上{ACTION_LABELS[action]}的说明。")
    before = topic.state
    topic.state = tr.target
    if change is not None:
        change(topic)
    try:
        db.flush()
    except StaleDataError:
        raise Conflict(f"议题 {topic.number} 已经有人处理过了。") from None
    event = audit.append(db, topic, action=action, from_state=before.value, to_state=tr.target.value,
                         actor=actor, now=now, reason=reason, on_behalf_of=on_behalf_of)
    logger.info("topic %s %s: %s -> %s", topic.id, action, before.value, tr.target.value)
    return event
