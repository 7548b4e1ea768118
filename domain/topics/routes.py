"""After the result: the party's confirmation and the filing (R-RES-1), and routes beyond the council (R-RES-5).

X-14: a (basic) consensus is confirmed by the same-level party organisation before it is implemented, and filed
with the level above. L-三(六): what the village cannot settle goes up, township → county → city. X-14: a topic
without consensus may go to the same-level party organisation for its decision, or to the county CPPCC as a
proposal or as 社情民意. Every step is a row of the transition table (audited, pushed); routes keep the topic's
state and are recorded in ``topic_routes`` so the receiving level finds them in its lists.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import Conflict, InvalidInput
from domain.notices import outbox
from domain.orgs import people
from domain.orgs.people import role_holders
from domain.orgs.tree import ancestors
from domain.topics import audit, states
from domain.topics.operations import transition
from domain.topics.states import IllegalTransition
from domain.topics.text import short_title
from models import NoticeKind, Organisation, OrgKind, Person, Role, RouteKind, Topic, TopicEvent, TopicRoute

logger = logging.getLogger(__name__)

ROUTE_ACTIONS = {RouteKind.UP: "escalate", RouteKind.PARTY: "to_party", RouteKind.PROPOSAL: "to_proposal",
                 RouteKind.OPINION: "to_opinion"}
# Who at the receiving organisation is told (and finds it in 待办).
RECEIVERS = {
    RouteKind.UP: (Role.CONVENOR, Role.PARTY_REVIEWER, Role.UPPER_OFFICE),
    RouteKind.PARTY: (Role.PARTY_REVIEWER,),
    RouteKind.PROPOSAL: (Role.CPPCC_COMMITTEE, Role.UPPER_OFFICE),
    RouteKind.OPINION: (Role.CPPCC_COMMITTEE, Role.UPPER_OFFICE),
}
UP_ROLES = (Role.CONVENOR, Role.PARTY_REVIEWER, Role.UPPER_OFFICE)  # the table's escalate row
WHERE = {RouteKind.UP: "{org}", RouteKind.PARTY: "{org}党组织", RouteKind.PROPOSAL: "县政协（{org}）",
         RouteKind.OPINION: "县政协（{org}）"}
MAX_REASON_CHARS = 500


def confirm(db: Session, topic: Topic, actor: Person, now: datetime, note: str = "") -> TopicEvent:
    """The same-level party organisation confirms a (basic) consensus; it is filed with the level above at once."""
    check_note(note)
    event = transition(db, topic, "confirm", actor, now, reason=note)
    parent = topic.org.parent
    if parent is not None:
        filed = states.apply(db, topic, "file", actor, now, reason=f"报{parent.name}备案")
        _tell_filing(db, topic, parent, filed, now)
    return event


def check_note(note: str) -> None:
    """A note on a result step (确认结果, 落实, 落实完成) is kept to MAX_REASON_CHARS (it is pushed and audited)."""
    if len((note or "").strip()) > MAX_REASON_CHARS:
        raise InvalidInput(f"说明太长了（{len(note.strip())} 字），请控制在 {MAX_REASON_CHARS} 字以内。")


def _tell_filing(db: Session, topic: Topic, parent: Organisation, event: TopicEvent, now: datetime) -> None:
    recipients = {p.id: p for p in role_holders(db, parent, Role.UPPER_OFFICE, Role.CONVENOR)}
    if not recipients:
        return
    body = (f"【备案】{topic.org.name}议题 {topic.number}“{short_title(topic)}”的协商结果已经党组织确认，"
            f"报{parent.name}备案。发送“议题 {topic.ref}”查看。")
    outbox.push_to(db, recipients.values(), org=parent, title=f"结果备案 {topic.org.name} {topic.number}", body=body,
                   now=now, kind=NoticeKind.GENERAL, topic=topic, source_key=f"topic:{topic.id}:event:{event.id}")


def county_of(org: Organisation) -> Organisation | None:
    """The county (市辖区) office at or above an organisation: where its CPPCC is."""
    return next((o for o in (org, *ancestors(org)) if o.kind is OrgKind.COUNTY_OFFICE), None)


def target(db: Session, topic: Topic, kind: RouteKind) -> Organisation:
    """Where this route takes the topic, or a clear refusal (nothing above a city, no county)."""
    here = states.holder(db, topic)
    if kind is RouteKind.UP:
        if here.parent is None:
            raise IllegalTransition(f"{here.name}已经是最上面一级，议题 {topic.number} 不能再往上报了。")
        return here.parent
    if kind is RouteKind.PARTY:
        return here  # the party organisation of the level holding it (X-14: 同级党组织)
    county = county_of(here)
    if county is None:
        raise IllegalTransition(f"{here.name}不在哪个县（市）区下面，议题 {topic.number} 不能报县政协。")
    return county


def route(db: Session, topic: Topic, kind: RouteKind | str, actor: Person, now: datetime, reason: str) -> TopicRoute:
    """Send the topic beyond its council by one route, with its reason (audited, pushed, listed there)."""
    kind = RouteKind(kind)
    reason = (reason or "").strip()
    if not any(ch.isalnum() for ch in reason):  # empty, or only punctuation ("。。")
        raise InvalidInput(f"请写上{kind.label}的理由，例如：{kind.label} {topic.number} 需要上级协调资金。")
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidInput(f"理由太长了（{len(reason)} 字），请控制在 {MAX_REASON_CHARS} 字以内。")
    audit.lock(db, topic.org_id)  # the holder, the duplicate check and the route row under one lock
    db.refresh(topic)
    if kind is RouteKind.UP:
        _refuse_sent_already(db, topic, actor)
    to = target(db, topic, kind)
    if kind is not RouteKind.UP and db.scalar(select(TopicRoute.id).where(
            TopicRoute.topic_id == topic.id, TopicRoute.kind == kind, TopicRoute.to_org_id == to.id)) is not None:
        raise Conflict(f"议题 {topic.number} 已经{kind.label}过了。")
    origin = states.holder(db, topic)
    where = WHERE[kind].format(org=to.name)
    event = transition(db, topic, ROUTE_ACTIONS[kind], actor, now, reason=f"{reason}（报{where}）")
    made = TopicRoute(topic_id=topic.id, kind=kind, from_org_id=origin.id, to_org_id=to.id, reason=reason,
                      actor_id=actor.id, event_id=event.id, at=now)
    db.add(made)
    db.flush()
    _tell_receivers(db, topic, made, to, where, event, now)
    logger.info("topic %s routed %s to org %s", topic.id, kind.value, to.code)
    return made


def _refuse_sent_already(db: Session, topic: Topic, actor: Person) -> None:
    """A lower level that reported the topic up already: say where it is now (not "you may not")."""
    here = states.holder(db, topic)
    if here.id == topic.org_id or people.has_role(db, actor, here, *UP_ROLES):
        return
    sent_from = db.scalars(select(Organisation).join(TopicRoute, TopicRoute.from_org_id == Organisation.id)
                           .where(TopicRoute.topic_id == topic.id, TopicRoute.kind == RouteKind.UP))
    if any(people.has_role(db, actor, org, *UP_ROLES) for org in sent_from):
        raise Conflict(f"议题 {topic.number} 已经上报到{here.name}了，由{here.name}决定要不要再往上报。")


def _tell_receivers(db: Session, topic: Topic, made: TopicRoute, to: Organisation, where: str,
                    event: TopicEvent, now: datetime) -> None:
    recipients = {p.id: p for p in role_holders(db, to, *RECEIVERS[made.kind]) if p.id != made.actor_id}
    if not recipients:
        return
    body = (f"{made.from_org.name}把议题 {topic.number}“{short_title(topic)}”（{topic.org.name}，"
            f"{topic.state.label}）{made.kind.label}到{where}。理由：{made.reason}\n发送“待办”查看。")
    outbox.push_to(db, recipients.values(), org=to, title=f"{made.kind.label} {topic.org.name} {topic.number}",
                   body=body, now=now, kind=NoticeKind.REMINDER, topic=topic,
                   source_key=f"topic:{topic.id}:event:{event.id}:route")


def routes_of(db: Session, topic: Topic) -> list[TopicRoute]:
    """A topic's routes, oldest first."""
    return list(db.scalars(select(TopicRoute).where(TopicRoute.topic_id == topic.id).order_by(TopicRoute.id)))
