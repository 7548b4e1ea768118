"""Creating notices: one notice row plus one delivery row per recipient, in the caller's transaction.

Nothing is sent here. Sender workers (bot/sender.py) claim due delivery rows and send them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, time, timedelta, tzinfo

from sqlalchemy import CompoundSelect, Select, case, func, literal, select, text, union
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
from models.outbox import DeliveryPlan

logger = logging.getLogger(__name__)

UNREACHABLE_REASON = "对方未关注公众号或没有微信"
ANALYZE_AFTER_ROWS = 10_000  # copies queued at once after which the planner's statistics are refreshed
REUSED_KEY = "outbox.reused_notice_ids"  # in Session.info: notices create_notice found already made

PersonIds = Select[tuple[int]] | CompoundSelect


def subtree_ids(org: Organisation) -> Select[tuple[int]]:
    """A query of the ids of an organisation and every organisation below it."""
    tree = select(Organisation.id).where(Organisation.id == org.id).cte("org_tree", recursive=True)
    below = select(Organisation.id).join(tree, Organisation.parent_id == tree.c.id)
    tree = tree.union_all(below)
    return select(tree.c.id)


def follower_ids(org: Organisation, bound: Select[tuple[int]] | None = None) -> Select[tuple[int]]:
    """Everyone of an organisation (全体群众): bound to it or below, plus its active role holders.

    The one rule for notices to followers and for who may vote or answer; ``bound`` replaces the
    people bound now (polls pass the people bound when they opened).
    """
    if bound is None:
        bound = select(Person.id).where(Person.home_org_id.in_(subtree_ids(org)))
    roles = select(RoleGrant.person_id).where(RoleGrant.org_id == org.id, RoleGrant.revoked_at.is_(None))
    both = union(bound, roles).subquery()
    return select(both.c[0])


def audience_ids(
    org: Organisation,
    audience: Audience,
    *,
    topic: Topic | None = None,
    meeting_id: int | None = None,
    person_ids: Iterable[int] = (),
) -> PersonIds:
    """A query of the person ids an audience means.

    Followers: ``follower_ids`` (the one rule notices and polls share).
    """
    if audience is Audience.FOLLOWERS:
        return follower_ids(org)
    if audience is Audience.MEMBERS:
        return (
            select(RoleGrant.person_id)
            .where(RoleGrant.org_id == org.id, RoleGrant.role == Role.MEMBER, RoleGrant.revoked_at.is_(None))
            .distinct()
        )
    if audience in (Audience.ATTENDEES, Audience.MEETING_PUBLIC):
        if meeting_id is None:
            raise ValueError("attendees audience needs a meeting")
        attendees = select(MeetingAttendee.person_id).where(MeetingAttendee.meeting_id == meeting_id)
        if audience is Audience.ATTENDEES:
            return attendees
        return union(attendees, follower_ids(org))
    if audience is Audience.TOPIC_PEOPLE:
        if topic is None:
            raise ValueError("topic_people audience needs a topic")
        cosigners = select(TopicCosigner.person_id).where(TopicCosigner.topic_id == topic.id)
        return select(Person.id).where((Person.id == topic.proposer_id) | Person.id.in_(cosigners))
    return select(Person.id).where(Person.id.in_(list(person_ids)))


def convenor_ids(org_ids: Iterable[int]) -> Select[tuple[int]]:
    """A query of the people who are convenors of any of these organisations."""
    return (
        select(RoleGrant.person_id)
        .where(RoleGrant.org_id.in_(list(org_ids)), RoleGrant.role == Role.CONVENOR, RoleGrant.revoked_at.is_(None))
        .distinct()
    )


def count_audience(db: Session, query: PersonIds) -> int:
    """How many people an audience query reaches (for previews)."""
    return int(db.scalar(select(func.count()).select_from(query.subquery())) or 0)


def count_reachable(db: Session, query: PersonIds) -> int:
    """How many of an audience can receive a push (they follow the account and have an openid)."""
    ids = query.subquery()
    stmt = select(func.count(Person.id)).where(
        Person.id.in_(select(ids.c[0])), Person.openid.is_not(None), Person.subscribed.is_(True)
    )
    return int(db.scalar(stmt) or 0)


def public_window_end(start: datetime, days: int, tz: tzinfo) -> datetime:
    """The end of a public window of ``days`` full local days: midnight after the last day.

    Published 11月23日 15:00 for 7 days → in force until 11月30日 24:00 (local), at least 7×24 hours.
    """
    last_day = start.astimezone(tz).date() + timedelta(days=days)
    return datetime.combine(last_day + timedelta(days=1), time(0, 0), tzinfo=tz)


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
    recipients: PersonIds | None = None,
    topic: Topic | None = None,
    meeting_id: int | None = None,
    public_days: int | None = None,
    created_by: Person | None = None,
    source_key: str | None = None,
    send_at: datetime | None = None,
    public_until: datetime | None = None,
    meeting_version: int | None = None,
    skip_if_acted: str | None = None,
    delivery_plan: DeliveryPlan = DeliveryPlan.DIRECT,
) -> Notice:
    """Write a notice and its deliveries; with a ``source_key`` already used, return that notice unchanged.

    ``public_until`` (or ``public_days`` from now) makes it a public notice listed by 通知 until then.
    """
    seq = next_seq(db, org)  # takes the organisation's row lock first: a twin sweep waits here
    if source_key:
        existing = db.scalar(select(Notice).where(Notice.source_key == source_key))
        if existing is not None:
            db.info.setdefault(REUSED_KEY, set()).add(existing.id)
            return existing
    if public_until is None and public_days is not None:
        public_until = now + timedelta(days=public_days)
    notice = Notice(
        org_id=org.id,
        seq=seq,
        kind=kind,
        audience=audience,
        title=title[:200],
        body=body,
        topic_id=topic.id if topic else None,
        meeting_id=meeting_id,
        meeting_version=meeting_version,
        skip_if_acted=skip_if_acted,
        public_from=now if public_until is not None else None,
        public_until=public_until,
        created_by_id=created_by.id if created_by else None,
        source_key=source_key,
        delivery_plan=delivery_plan,
        created_at=now,
    )
    db.add(notice)
    db.flush()
    query = recipients if recipients is not None else audience_ids(org, audience, topic=topic, meeting_id=meeting_id)
    queue_deliveries(db, notice, query, send_at or now)
    return notice


def create_notice_if_new(db: Session, **kwargs: object) -> Notice | None:
    """``create_notice``, but None when its source_key was already used (another run made it)."""
    notice = create_notice(db, **kwargs)  # type: ignore[arg-type]
    return None if notice.id in db.info.get(REUSED_KEY, set()) else notice


def queue_deliveries(db: Session, notice: Notice, person_ids: PersonIds, due: datetime) -> int:
    """Insert one pending delivery per person (people who cannot receive are marked skipped)."""
    ids = person_ids.subquery()
    reachable = Person.openid.is_not(None) & Person.subscribed.is_(True)
    status = case(
        (reachable, literal(DeliveryStatus.PENDING.value)),
        else_=literal(DeliveryStatus.SKIPPED.value),
    )
    reason = case((reachable, literal(None)), else_=literal(UNREACHABLE_REASON))
    source = select(
        literal(notice.id), Person.id, Person.openid, status, literal(due), literal(0), reason
    ).where(Person.id.in_(select(ids.c[0])))
    stmt = (
        insert(Delivery)
        .from_select(
            ["notice_id", "person_id", "openid", "status", "next_attempt_at", "attempts", "last_error"], source
        )
        .on_conflict_do_nothing()
        .returning(literal(1))
        .cte("queued")
    )
    queued = db.scalar(select(func.count()).select_from(stmt)) or 0  # psycopg reports no rowcount here
    if queued >= ANALYZE_AFTER_ROWS:
        refresh_delivery_stats(db)
    return queued


def refresh_delivery_stats(db: Session) -> None:
    """Let the planner know about a large batch of new copies at once (ANALYZE, a sample of the table).

    Until it does, it may think few copies wait and sort them all for every claim instead of walking
    ``ix_deliveries_claim``; autovacuum would catch up later, or never where it is turned off.
    """
    db.execute(text("ANALYZE deliveries"))
    logger.info("deliveries analysed after a large batch")


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
