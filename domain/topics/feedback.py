"""Pushes after a topic changes (R-RES-2 feedback starts here), the next actors' to-do, and filing (备案).

Everything goes through domain.outbox (rows in the caller's transaction); nothing is sent here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from domain.notices import outbox
from domain.orgs.people import role_holders
from domain.topics import audit
from domain.topics.states import SECTOR, level_of
from domain.topics.text import agent_title, push_body, short_title
from models import NoticeKind, Organisation, OrgKind, Person, Role, Topic, TopicEvent, TopicState

logger = logging.getLogger(__name__)


def _reachable(person: Person) -> bool:
    return bool(person.openid) and person.subscribed


def topic_people(topic: Topic) -> list[Person]:
    """Proposer and co-signers; a 代办 agent stands in for a proposer who cannot receive pushes."""
    found = [topic.proposer] + [c.person for c in topic.cosigners]
    if topic.proxy is not None and not _reachable(topic.proposer):
        found.append(topic.proxy)
    return found


def _push(db: Session, recipients: Iterable[Person], *, skip: Person | None, org: Organisation, title: str,
          body: str, now: datetime, kind: NoticeKind, topic: Topic, key: str) -> None:
    unique = {p.id: p for p in recipients if skip is None or p.id != skip.id}
    if unique:
        outbox.push_to(db, unique.values(), org=org, title=title, body=body, now=now, kind=kind, topic=topic,
                       source_key=key)


def after_registration(db: Session, topic: Topic, event: TopicEvent, now: datetime) -> None:
    """Tell the convenors a topic came in; tell a villager someone proposed for them (代办)."""
    if event.on_behalf_of_id is not None and event.actor is not None:
        body = (f"{agent_title(db, event.actor, topic.org)}帮您提交了议题“{short_title(topic)}”"
                f"（{topic.org.name} {topic.number}），已登记，有进展会通知您。发送“我的议题”查看。")
        _push(db, [topic.proposer], skip=None, org=topic.org, title=f"议题已登记 {topic.number}", body=body,
              now=now, kind=NoticeKind.FEEDBACK, topic=topic, key=f"topic:{topic.id}:event:{event.id}")
    _push(db, role_holders(db, topic.org, Role.CONVENOR), skip=event.actor, org=topic.org,
          title=f"新议题 {topic.number}", now=now, kind=NoticeKind.REMINDER, topic=topic,
          body=f"{topic.org.name}有新议题 {topic.number}“{short_title(topic)}”，请安排筛选。发送“待审”查看。",
          key=f"topic:{topic.id}:event:{event.id}:todo")


def _next_actors(db: Session, topic: Topic) -> tuple[Organisation, list[Person], str] | None:
    state, org = topic.state, topic.org
    sector = level_of(org) == SECTOR and org.parent is not None
    if state is TopicState.SUBMITTED and sector:
        return org.parent, role_holders(db, org.parent, Role.CPPCC_COMMITTEE), "请政协专委会会同有关部门初审"
    if state is TopicState.SUBMITTED:
        return org, role_holders(db, org, Role.PARTY_REVIEWER), "请审核"
    if state is TopicState.REVIEWED and sector:
        return org.parent, role_holders(db, org.parent, Role.PARTY_REVIEWER), "已经政协专委会初审，请政协党组审定"
    if state is TopicState.REVIEWED and org.parent is not None:
        return org.parent, role_holders(db, org.parent, Role.PARTY_REVIEWER), "已经村党组织审核，请批准"
    if state in (TopicState.CONSENSUS, TopicState.BASIC_CONSENSUS):  # R-RES-1: the party confirms first
        party = org.parent if sector else org
        return party, role_holders(db, party, Role.PARTY_REVIEWER), f"{state.label}，请确认结果（发送“确认结果 编号”）"
    if state is TopicState.CONFIRMED:
        return org, role_holders(db, org, Role.CONVENOR), "结果已经党组织确认，请组织落实（发送“落实 编号”）"
    if state in (TopicState.APPROVED, TopicState.RETURNED, TopicState.NO_CONSENSUS):
        hint = {TopicState.APPROVED: "已批准，请组织调研", TopicState.RETURNED: "被退回，请修改后重新报审或撤回",
                TopicState.NO_CONSENSUS: "未达成共识，如需再次协商请报党组织批准"}[state]
        return org, role_holders(db, org, Role.CONVENOR), hint
    return None


def filing_orgs(topic: Topic) -> list[Organisation]:
    """Where an approved topic is filed (备案, R-TOPIC-4): the parent, and for village-level topics also the county office."""
    targets: list[Organisation] = []
    parent = topic.org.parent
    if parent is not None:
        targets.append(parent)
        grand = parent.parent
        if level_of(topic.org) == "grassroots" and grand is not None and grand.kind is OrgKind.COUNTY_OFFICE:
            targets.append(grand)
    return targets


def file_with_upper_level(db: Session, topic: Topic, approval: TopicEvent, now: datetime) -> TopicEvent | None:
    """Record the filing event and push the filing notice to the upper offices and convenors."""
    targets = filing_orgs(topic)
    if not targets:
        return None
    names = "、".join(o.name for o in targets)
    event = audit.append(db, topic, action="file", from_state=topic.state.value, to_state=topic.state.value,
                         actor=approval.actor, now=now, reason=f"报{names}备案")
    recipients: list[Person] = []
    for org in targets:
        recipients += role_holders(db, org, Role.UPPER_OFFICE, Role.CONVENOR)
    body = (f"【备案】{topic.org.name}议题 {topic.number}“{short_title(topic)}”已批准，报{names}备案。"
            f"发送“议题 {topic.ref}”查看。")
    _push(db, recipients, skip=None, org=targets[0], title=f"议题备案 {topic.org.name} {topic.number}", body=body,
          now=now, kind=NoticeKind.GENERAL, topic=topic, key=f"topic:{topic.id}:event:{event.id}")
    return event


def after_transition(db: Session, topic: Topic, event: TopicEvent, now: datetime) -> None:
    """Push the change to the topic's people, the to-do to whoever acts next, and file approvals."""
    _push(db, topic_people(topic), skip=event.actor, org=topic.org, title=f"议题进展 {topic.number}",
          body=push_body(topic, event), now=now, kind=NoticeKind.FEEDBACK, topic=topic,
          key=f"topic:{topic.id}:event:{event.id}")
    nxt = _next_actors(db, topic) if event.from_state != event.to_state else None  # a recorded step: no new to-do
    if nxt is not None:
        org, holders, what = nxt
        _push(db, holders, skip=event.actor, org=org, title=f"待办议题 {topic.org.name} {topic.number}",
              body=f"{topic.org.name}议题 {topic.number}“{short_title(topic)}”{what}。发送“待审”查看。",
              now=now, kind=NoticeKind.REMINDER, topic=topic, key=f"topic:{topic.id}:event:{event.id}:todo")
    if topic.state is TopicState.APPROVED and event.action == "approve":
        file_with_upper_level(db, topic, event, now)
