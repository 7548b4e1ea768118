"""Creating notices: one notice row plus one delivery row per recipient, in the caller's transaction.

Nothing is sent here. Sender workers (bot/sender.py) claim due delivery rows and send them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Select, case, func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from models import (
    Audience,
    Delivery,
    DeliveryStatus,
    MeetingAttendee,
    Notice,
    NoticeKind,
    Organisation,
    Person,
    Role,
    RoleGrant,
    Topic,
    TopicCosigner,
)


def audience_ids(
    org: Organisation,
    audience: Audience,
    *,
    topic: Topic | None = None,
    meeting_id: int | None = None,
    person_ids: Iterable[int] = (),
) -> Select[tuple[int]]:
    """A query of the person ids an audience means."""
    if audience is Audience.FOLLOWERS:
        return select(Person.id).where(Person.home_org_id == org.id)
    if audience is Audience.MEMBERS:
        return (
            select(RoleGrant.person_id)
            .where(RoleGrant.org_id == org.id, RoleGrant.role == Role.MEMBER, RoleGrant.revoked_at.is_(None))
            .distinct()
        )
    if audience is Audience.ATTENDEES:
        if meeting_id is None:
            raise ValueError("attendees audience needs a meeting")
        return select(MeetingAttendee.person_id).where(MeetingAttendee.meeting_id == meeting_id)
    if audience is Audience.TOPIC_PEOPLE:
        if topic is None:
            raise ValueError("topic_people audience needs a topic")
        cosigners = select(TopicCosigner.person_id).where(TopicCosigner.topic_id == topic.id)
        return select(Person.id).where((Person.id == topic.proposer_id) | Person.id.in_(cosigners))
    return select(Person.id).where(Person.id.in_(list(person_ids)))


def count_audience(db: Session, query: Select[tuple[int]]) -> int:
    """How many people an audience query reaches (for previews)."""
    return int(db.scalar(select(func.count()).select_from(query.subquery())) or 0)


def next_seq(db: Session, org: Organisation) -> int:
    """The next notice number of an organisation (serialised by a row lock on the organisation)."""
    db.execute(select(Organisation.id).where(Organisation.id == org.id).with_for_update())
    return int(db.scalar(select(func.coalesce(func.max(Notice.seq), 0)).where(Notice.org_id == org.id)) or 0) + 1


def create_notice(
    db: Session,
    *,
    org: Organisation,
    kind: NoticeKind,
    audience: Audience,
    title: str,
    body: str,
    now: datetime,
    recipients: Select[tuple[int]] | None = None,
    topic: Topic | None = None,
    meeting_id: int | None = None,
    public_days: int | None = None,
    created_by: Person | None = None,
    source_key: str | None = None,
    send_at: datetime | None = None,
) -> Notice:
    """Write a notice and its deliveries; with a ``source_key`` already used, return that notice unchanged."""
    if source_key:
        existing = db.scalar(select(Notice).where(Notice.source_key == source_key))
        if existing is not None:
            return existing
    notice = Notice(
        org_id=org.id,
        seq=next_seq(db, org),
        kind=kind,
        audience=audience,
        title=title,
        body=body,
        topic_id=topic.id if topic else None,
        meeting_id=meeting_id,
        public_from=now if public_days is not None else None,
        public_until=now + timedelta(days=public_days) if public_days is not None else None,
        created_by_id=created_by.id if created_by else None,
        source_key=source_key,
    )
    db.add(notice)
    db.flush()
    query = recipients if recipients is not None else audience_ids(org, audience, topic=topic, meeting_id=meeting_id)
    queue_deliveries(db, notice, query, send_at or now)
    return notice


def queue_deliveries(db: Session, notice: Notice, person_ids: Select[tuple[int]], due: datetime) -> int:
    """Insert one pending delivery per person (people who cannot receive are marked skipped)."""
    ids = person_ids.subquery()
    reachable = Person.openid.is_not(None) & Person.subscribed.is_(True)
    status = case(
        (reachable, literal(DeliveryStatus.PENDING.value)),
        else_=literal(DeliveryStatus.SKIPPED.value),
    )
    source = select(
        literal(notice.id), Person.id, Person.openid, status, literal(due), literal(0)
    ).where(Person.id.in_(select(ids.c[0])))
    stmt = (
        insert(Delivery)
        .from_select(["notice_id", "person_id", "openid", "status", "next_attempt_at", "attempts"], source)
        .on_conflict_do_nothing()
    )
    return db.execute(stmt).rowcount or 0


def push_to(
    db: Session,
    people: Iterable[Person],
    *,
    org: Organisation,
    title: str,
    body: str,
    now: datetime,
    kind: NoticeKind = NoticeKind.FEEDBACK,
    topic: Topic | None = None,
    source_key: str | None = None,
) -> Notice:
    """Queue a personal push (e.g. a topic's progress to its proposer and co-signers)."""
    ids = [p.id for p in people]
    return create_notice(
        db,
        org=org,
        kind=kind,
        audience=Audience.NAMED,
        title=title,
        body=body,
        now=now,
        recipients=audience_ids(org, Audience.NAMED, person_ids=ids),
        topic=topic,
        source_key=source_key,
    )
