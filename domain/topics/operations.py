"""Topic operations (R-TOPIC-1..8): propose, co-sign, and each step of the approval chain.

Every state change goes through ``transition``: the table in ``states`` applies and audits it,
then ``feedback`` pushes the news.
Domain errors carry the Chinese reply; callers phrase success themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.errors import Conflict, InvalidInput, PermissionDenied
from domain.notices import outbox
from domain.orgs import people
from domain.topics import audit, states
from domain.topics import feedback as topic_feedback
from domain.topics.refs import format_number
from domain.topics.scope import may_cosign, upper_council
from domain.topics.states import GRASSROOTS, SECTOR, IllegalTransition, level_of
from domain.topics.text import local_time, proxy_note, short_title
from domain.topics.wording import check_text, split_title, text_hash
from models import (
    NoticeKind,
    Organisation,
    Person,
    Role,
    Topic,
    TopicCosigner,
    TopicEvent,
    TopicSource,
    TopicState,
)
from models.topics import ScreeningMethod

if TYPE_CHECKING:
    from domain.settings import Settings

logger = logging.getLogger(__name__)

COSIGN_STATES = {TopicState.REGISTERED, TopicState.SCREENING}
RESULTS = {TopicState.CONSENSUS, TopicState.BASIC_CONSENSUS, TopicState.NO_CONSENSUS}
REGISTRAR_ROLES = (Role.CONVENOR, Role.SECRETARY, Role.PARTY_REVIEWER)
DUPLICATE_KEY = "uq_topics_proposer_id_text_hash"  # same person, same text, same local day


def transition(db: Session, topic: Topic, action: str, actor: Person | None, now: datetime,
               **options: object) -> TopicEvent:
    """Apply one transition of the table (audited), then tell the people it concerns."""
    event = states.apply(db, topic, action, actor, now, **options)  # type: ignore[arg-type]
    topic_feedback.after_transition(db, topic, event, now)
    return event


def _create(db: Session, org: Organisation, proposer: Person, content: str, detail: str, source: TopicSource,
            now: datetime, settings: Settings, *, actor: Person, agent: Person | None = None,
            registrar: Person | None = None) -> Topic:
    audit.lock(db, org.id)  # serialises the organisation's numbering and the duplicate check in its own topics
    title, overflow = split_title(content, settings.topics.max_title_chars)
    detail = "\n".join(part for part in (overflow, detail.strip()) if part)
    digest = text_hash(f"{content}\n{detail}", now, settings)
    earlier = db.scalar(select(Topic).where(Topic.proposer_id == proposer.id, Topic.text_hash == digest))
    if earlier is not None:
        raise Conflict(f"今天已经提过这个议题了，编号 {earlier.number}。发送“议题 {earlier.number}”查看进展。")
    year = now.astimezone(settings.tz).year
    seq = int(db.scalar(select(func.coalesce(func.max(Topic.seq), 0)).where(Topic.org_id == org.id,
                                                                           Topic.year == year)) or 0) + 1
    topic = Topic(org=org, year=year, seq=seq, number=format_number(year, seq), title=title, detail=detail,
                  source=source, state=TopicState.REGISTERED, proposer=proposer, text_hash=digest,
                  proposed_by_proxy_id=agent.id if agent else None,
                  registered_by_id=registrar.id if registrar else None)
    db.add(topic)
    _flush_new(db)
    on_behalf = proposer if actor.id != proposer.id else None
    event = audit.append(db, topic, action="register", from_state=None, to_state=TopicState.REGISTERED.value,
                         actor=actor, now=now, on_behalf_of=on_behalf,
                         reason=f"{source.label}{proxy_note(db, agent, org)}")
    topic_feedback.after_registration(db, topic, event, now)
    logger.info("topic %s registered in org %s", topic.number, org.code)
    return topic


def _flush_new(db: Session) -> None:
    """Insert the new topic, refusing a twin the same person registered in another organisation just now."""
    # The duplicate check in _create runs under this organisation's lock only: a twin registered at the same
    # moment in another organisation is caught by the unique key (proposer, text hash). The caller rolls back.
    try:
        db.flush()
    except IntegrityError as exc:
        if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) != DUPLICATE_KEY:
            raise
        raise Conflict("今天已经提过这个议题了。发送“我的议题”查看进展。") from None


def propose(db: Session, person: Person, content: str, now: datetime, *, settings: Settings, detail: str = "",
            agent: Person | None = None, upper: bool = False) -> Topic:
    """Register a chat proposal for the person's home organisation (群众出题, or 委员荐题 from a member).

    ``upper``: for the township (street, park) above it instead: X-10 lets a person or villages jointly
    propose a township topic.
    """
    org = people.require_home(person)  # R-TOPIC-2: only someone bound to a village takes part there
    if upper:
        org = upper_council(org)
    content = check_text(content, settings)
    if detail.strip():
        detail = check_text(detail, settings, "补充说明")
    source = TopicSource.MEMBER if people.has_role(db, person, org, Role.MEMBER) else TopicSource.RESIDENT
    return _create(db, org, person, content, detail, source, now, settings, actor=agent or person, agent=agent)


def register(db: Session, org: Organisation, content: str, *, source: TopicSource, actor: Person, now: datetime,
             settings: Settings, detail: str = "", proposer: Person | None = None,
             cosigners: Iterable[Person] = ()) -> Topic:
    """Register a topic from the office (党委政府点题, 公开征集, a paper proposal) by a convenor or secretary."""
    if not (people.has_role(db, actor, org, *REGISTRAR_ROLES) or people.supervises(db, actor, org)):
        raise PermissionDenied(f"只有{org.name}的召集人、会议秘书或党组织审核人可以登记议题。")
    content = check_text(content, settings)
    if detail.strip():
        detail = check_text(detail, settings, "补充说明")
    topic = _create(db, org, proposer or actor, content, detail, TopicSource(source), now, settings,
                    actor=actor, registrar=actor)
    for person in cosigners:
        cosign(db, topic, person, now, agent=actor)
    return topic


def cosign(db: Session, topic: Topic, person: Person, now: datetime, *, agent: Person | None = None) -> TopicCosigner:
    """Add a joint proposer (联名, R-TOPIC-1): someone of the same village, or for a township topic of any village
    below it (跨村联名, X-10); once, before the topic is submitted."""
    audit.lock(db, topic.org_id)
    db.refresh(topic)
    if not may_cosign(person, topic.org):
        if level_of(topic.org) == GRASSROOTS:
            raise PermissionDenied(f"只有{topic.org.name}的村民可以联名这个议题。")
        raise PermissionDenied(f"只有{topic.org.name}和它下面各村（社区）的群众可以联名这个议题。")
    if person.id == topic.proposer_id:
        raise Conflict(f"议题 {topic.number} 是您自己提的，不用再联名。")
    signed = select(TopicCosigner.id).where(TopicCosigner.topic_id == topic.id)
    if db.scalar(signed.where(TopicCosigner.person_id == person.id)) is not None:  # read after the lock
        raise Conflict(f"您已经联名过议题 {topic.number} 了。")
    if topic.state not in COSIGN_STATES:
        raise IllegalTransition(f"议题 {topic.number} 现在“{topic.state.label}”，已经不能联名了。")
    signer = TopicCosigner(topic=topic, person=person, by_proxy_id=agent.id if agent else None)
    db.add(signer)
    db.flush()
    event = audit.append(db, topic, action="cosign", from_state=topic.state.value, to_state=topic.state.value,
                         actor=agent or person, now=now, on_behalf_of=person if agent else None,
                         reason=proxy_note(db, agent, topic.org).strip("（）"))
    db.expire(topic, ["cosigners"])
    total = db.scalar(select(func.count()).select_from(signed.subquery())) or 0
    body = (f"{person.display_name}联名支持您的议题“{short_title(topic)}”（{topic.number}），"
            f"现在共有 {total} 人联名。")
    outbox.push_to(db, [topic.proposer], org=topic.org, title=f"有人联名 {topic.number}", body=body, now=now,
                   kind=NoticeKind.FEEDBACK, topic=topic, source_key=f"topic:{topic.id}:event:{event.id}")
    return signer


def screen(db: Session, topic: Topic, actor: Person, now: datetime, method: ScreeningMethod | str,
           ref: str = "") -> TopicEvent:
    """Start screening with a method of R-TOPIC-3 and an optional questionnaire/poll number."""
    try:
        method = ScreeningMethod(method)
    except ValueError:
        raise InvalidInput("筛选方式只能是：问卷调查、直接对话、小组协商、听证、网络投票。") from None
    ref = ref.strip()[:60]

    def change(t: Topic) -> None:
        t.screening_method, t.screening_ref = method, ref or None

    reason = method.label + (f"（{ref}）" if ref else "")
    return transition(db, topic, "screen", actor, now, reason=reason, change=change)


def submit(db: Session, topic: Topic, actor: Person, now: datetime, note: str = "") -> TopicEvent:
    """Submit the topic to the same-level party organisation (R-TOPIC-4)."""
    return transition(db, topic, "submit", actor, now, reason=note)


def approve(db: Session, topic: Topic, actor: Person, now: datetime, note: str = "") -> TopicEvent:
    """The next approval: a first review (village party organisation, or CPPCC committee) or the approval."""
    two_steps = level_of(topic.org) in (GRASSROOTS, SECTOR)
    action = "review" if two_steps and topic.state is TopicState.SUBMITTED else "approve"
    return transition(db, topic, action, actor, now, reason=note)


def return_topic(db: Session, topic: Topic, actor: Person, now: datetime, reason: str) -> TopicEvent:
    """Return the topic to its council with a reason."""

    def change(t: Topic) -> None:
        t.return_reason = reason.strip()

    return transition(db, topic, "return", actor, now, reason=reason, change=change)


def research(db: Session, topic: Topic, actor: Person, now: datetime, note: str) -> TopicEvent:
    """Record the research (policies, facts, stakeholders' wishes) an approved topic needs (R-TOPIC-5)."""

    def change(t: Topic) -> None:
        t.research_note = note.strip()

    return transition(db, topic, "research", actor, now, reason=note, change=change)


def mark_consulted(db: Session, topic: Topic, actor: Person | None, now: datetime, note: str = "") -> TopicEvent:
    """The meeting on a noticed topic took place; the result follows."""

    def change(t: Topic) -> None:
        t.consulted_at = now

    return transition(db, topic, "consult", actor, now, reason=note, change=change)


def record_result(db: Session, topic: Topic, result: TopicState, actor: Person | None, now: datetime,
                  note: str = "") -> TopicEvent:
    """Record 达成共识 / 基本达成共识 / 未达成共识 from NOTICED or CONSULTED (actor None = a vote tally)."""
    if result not in RESULTS:
        raise InvalidInput("协商结果只能是：达成共识、基本达成共识、未达成共识。")

    def change(t: Topic) -> None:
        t.consulted_at = t.consulted_at or now
        t.result_note = note.strip() or None

    return transition(db, topic, "result", actor, now, target=result, reason=note, change=change)


def implement(db: Session, topic: Topic, actor: Person, now: datetime, note: str = "") -> TopicEvent:
    """Start implementing a (basic) consensus."""
    return transition(db, topic, "implement", actor, now, reason=note)


def complete(db: Session, topic: Topic, actor: Person, now: datetime, note: str) -> TopicEvent:
    """Record that the implementation is done (what was done)."""
    return transition(db, topic, "complete", actor, now, reason=note)


def evaluate(db: Session, topic: Topic, actor: Person, now: datetime, note: str) -> TopicEvent:
    """Record the evaluation of an implemented topic (R-RES-6)."""
    return transition(db, topic, "evaluate", actor, now, reason=note)


def consultations_within_a_year(db: Session, topic: Topic, now: datetime) -> list[datetime]:
    """When the topic was consulted (a result recorded) in the year before ``now``, oldest first."""
    since = now - timedelta(days=365)
    return sorted(db.scalars(select(TopicEvent.at).where(TopicEvent.topic_id == topic.id, TopicEvent.action == "result",
                                                         TopicEvent.at > since)))


def reconsult(db: Session, topic: Topic, actor: Person, now: datetime, reason: str, *,
              settings: Settings) -> TopicEvent:
    """Send a no-consensus topic back for approval to be consulted again (R-TOPIC-7, X-14).

    X-14: "同一议题协商次数原则上1年内不超过2次": every consultation within a year counts, the first included.
    """
    audit.lock(db, topic.org_id)
    limit = settings.rules.consult_max_per_year
    held = consultations_within_a_year(db, topic, now)
    if topic.state is TopicState.NO_CONSENSUS and len(held) >= limit:
        again = held[len(held) - limit] + timedelta(days=365)
        raise IllegalTransition(f"议题 {topic.number} 一年内已经协商 {len(held)} 次了，同一议题一年内最多协商 {limit} 次，"
                                f"{local_time(again, settings.tz)} 以后才能再申请。")

    def change(t: Topic) -> None:
        t.reconsult_count += 1
        t.return_reason = None

    return transition(db, topic, "reconsult", actor, now, reason=reason, change=change)


def withdraw(db: Session, topic: Topic, actor: Person, now: datetime, reason: str = "", *,
             on_behalf_of: Person | None = None) -> TopicEvent:
    """Withdraw a topic before it is submitted (the proposer, or the convenor)."""
    return transition(db, topic, "withdraw", actor, now, reason=reason, on_behalf_of=on_behalf_of)
