"""Sweeps before a meeting: the topic's public notice (R-TOPIC-6), reminders (R-MEET-2), the implementation
summary for the next meeting (R-RES-3).

Every sweep looks at state, not at what happened since its last run, so the first run after downtime catches
up; every notice it makes carries a source_key, so running it twice makes nothing twice. Due rows go in
chunks, each chunk's notices made in bulk (domain/outbox_bulk.py, domain/sweep_chunks.py).
"""

from __future__ import annotations

import inspect
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import String, cast, func, literal, select, text
from sqlalchemy import exists as sql_exists
from sqlalchemy.orm import Session, aliased, contains_eager

from domain.meetings.confirm import announce_expired
from domain.notices.outbox import public_window_end
from domain.notices.outbox_bulk import MadeNotices, NoticeSpec, create_notices
from domain.notices.sweep_chunks import Checkpoint, in_chunks
from domain.notices.texts import (
    implementation_body,
    late_notice_body,
    reminder_body,
    topic_notice_body,
    topic_notice_title,
)
from models import Audience, Meeting, MeetingStatus, Notice, NoticeKind, Topic, TopicEvent, TopicState

if TYPE_CHECKING:
    from domain.settings import Settings

logger = logging.getLogger(__name__)

T = TypeVar("T")
NOT_NOTICEABLE = (TopicState.WITHDRAWN, TopicState.RETURNED)
IMPLEMENTED_STATES = (TopicState.IMPLEMENTED, TopicState.EVALUATED)

# Meetings in a reminder window whose reminder is not made yet. The window is the smallest offset (hours before
# the start) already reached: after downtime only that reminder goes out, never a pile of missed ones.
DUE_REMINDERS = text("""
SELECT m.id, m.org_id, m.version, m.topic_id, m.starts_at, m.title, m.place, m.material, w.hours,
       t.number AS topic_number, t.title AS topic_title
FROM meetings m
CROSS JOIN LATERAL (SELECT min(h) AS hours FROM unnest(CAST(:offsets AS integer[])) AS h
                    WHERE m.starts_at - h * interval '1 hour' <= :now) AS w
LEFT JOIN topics t ON t.id = m.topic_id
WHERE m.status = :scheduled AND m.starts_at > :now AND m.starts_at <= :until AND w.hours IS NOT NULL
  AND (SELECT n.id FROM notices n  -- a probe per meeting (never a hash of every notice)
       WHERE n.source_key = 'meet-remind:m' || m.id || '\\:v' || m.version || '\\:' || w.hours || 'h' LIMIT 1) IS NULL
ORDER BY m.org_id, m.id
""")


def each(db: Session, items: Iterable[T], make: Callable[[T], Notice | None], what: str) -> list[Notice]:
    """Run ``make`` per item in its own savepoint: one bad row is logged and skipped, the rest go on."""
    made: list[Notice] = []
    for item in items:
        savepoint = db.begin_nested()
        try:
            notice = make(item)
            savepoint.commit()
        except Exception:  # noqa: BLE001 - one broken row must not stop the sweep
            savepoint.rollback()
            logger.exception("%s: skipped %r", what, item)
            continue
        if notice is not None:
            made.append(notice)
    return made


def exists(db: Session, *conditions: object) -> bool:
    """Whether a notice matching the conditions exists."""
    return db.scalar(select(Notice.id).where(*conditions).limit(1)) is not None


# ---- R-TOPIC-6 --------------------------------------------------------------------------------------
def publish_topic_notices(db: Session, now: datetime, settings: Settings, *,
                          checkpoint: Checkpoint | None = None) -> MadeNotices:
    """Publish the public notice of every scheduled meeting's topic that has none in force yet."""
    days, tz = settings.rules.topic_notice_days, settings.tz
    earliest = now + timedelta(days=days)
    key = (literal("topic-notice:t") + cast(Meeting.topic_id, String) + literal(":m") + cast(Meeting.id, String)
           + literal(":v") + cast(Meeting.version, String))
    in_force = select(Notice.id).where(Notice.kind == NoticeKind.TOPIC_NOTICE, Notice.topic_id == Meeting.topic_id,
                                       Notice.closed_at.is_(None))
    candidates = db.scalars(
        select(Meeting).join(Topic, Topic.id == Meeting.topic_id).options(contains_eager(Meeting.topic))
        .where(Meeting.status == MeetingStatus.SCHEDULED, Meeting.starts_at > now,
               Topic.state.not_in(NOT_NOTICEABLE), ~sql_exists(in_force),
               ~sql_exists(select(Notice.id).where(Notice.source_key == key)))
        .order_by(Meeting.org_id, Meeting.id))
    first: dict[int, Meeting] = {}  # one notice per topic: its first meeting's
    for meeting in candidates:
        first.setdefault(meeting.topic_id or 0, meeting)

    def make(meetings: list[Meeting]) -> list[int]:
        specs, late = [], {}
        for meeting in meetings:
            topic = meeting.topic
            assert topic is not None
            until = max(public_window_end(now, days, tz), meeting.starts_at)
            spec = NoticeSpec(
                org_id=meeting.org_id, kind=NoticeKind.TOPIC_NOTICE, audience=Audience.FOLLOWERS,
                title=topic_notice_title(topic), body=topic_notice_body(topic, meeting, tz),
                topic_id=topic.id, meeting_id=meeting.id, public_until=until,
                source_key=f"topic-notice:t{topic.id}:m{meeting.id}:v{meeting.version}")
            specs.append(spec)
            if meeting.starts_at < earliest:
                late[spec.source_key] = NoticeSpec(
                    org_id=meeting.org_id, kind=NoticeKind.REMINDER, audience=Audience.NAMED, to_convenors=True,
                    title=f"议题 {topic.number} 公示不足{days}天", body=late_notice_body(topic, meeting, earliest, tz),
                    topic_id=topic.id, source_key=f"topic-notice-late:m{meeting.id}:v{meeting.version}")
        made = create_notices(db, specs, now)
        create_notices(db, [late[k] for _, k in made if k in late], now)
        return [i for i, _ in made]

    return in_chunks(db, list(first.values()), make, "topic notices", checkpoint)


# ---- R-MEET-2 ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TopicRef:
    """A meeting's topic as its reminder names it."""

    number: str
    title: str


@dataclass(frozen=True, slots=True)
class DueMeeting:
    """What a reminder needs of a meeting (plain rows: a hundred thousand ORM objects would take seconds)."""

    id: int
    org_id: int
    version: int
    topic_id: int | None
    starts_at: datetime
    title: str
    place: str
    material: str
    hours: int
    topic: TopicRef | None


def remind_meetings(db: Session, now: datetime, settings: Settings, *,
                    checkpoint: Checkpoint | None = None) -> MadeNotices:
    """Queue the reminder of the current window: to the attendees and/or all followers, by their offsets."""
    to_attendees = set(settings.scheduler.reminder_offsets_hours)
    to_followers = set(settings.scheduler.follower_reminder_offsets_hours)
    offsets = sorted(to_attendees | to_followers)
    if not offsets:
        return MadeNotices(db)
    rows = db.execute(DUE_REMINDERS, {"offsets": offsets, "now": now, "until": now + timedelta(hours=offsets[-1]),
                                      "scheduled": MeetingStatus.SCHEDULED.value})
    due = [DueMeeting(r.id, r.org_id, r.version, r.topic_id, r.starts_at, r.title, r.place, r.material, r.hours,
                      TopicRef(r.topic_number, r.topic_title) if r.topic_id is not None else None) for r in rows]

    def spec(meeting: DueMeeting) -> NoticeSpec:
        hours = meeting.hours
        audience = (Audience.MEETING_PUBLIC if hours in to_attendees and hours in to_followers
                    else Audience.ATTENDEES if hours in to_attendees else Audience.FOLLOWERS)
        return NoticeSpec(
            org_id=meeting.org_id, kind=NoticeKind.MEETING_NOTICE, audience=audience,
            title=f"会议提醒：{meeting.title}", body=reminder_body(meeting, now, settings.tz),
            topic_id=meeting.topic_id, meeting_id=meeting.id, meeting_version=meeting.version,
            skip_if_acted=f"meeting:{meeting.id}", source_key=f"meet-remind:m{meeting.id}:v{meeting.version}:{hours}h")

    def make(meetings: list[DueMeeting]) -> list[int]:
        return [i for i, _ in create_notices(db, [spec(m) for m in meetings], now)]

    return in_chunks(db, due, make, "meeting reminders", checkpoint)


# ---- R-RES-3 ----------------------------------------------------------------------------------------
def implemented_by_org(db: Session, org_ids: list[int], until: datetime) -> dict[int, list[tuple[Topic, datetime]]]:
    """Each organisation's implemented topics with when (their last IMPLEMENTED event, before ``until``)."""
    done_at = (select(func.max(TopicEvent.at)).where(TopicEvent.topic_id == Topic.id,
                                                     TopicEvent.to_state == TopicState.IMPLEMENTED.value)
               .scalar_subquery())
    found: dict[int, list[tuple[Topic, datetime]]] = defaultdict(list)
    for topic, at in db.execute(
            select(Topic, done_at).where(Topic.org_id.in_(org_ids), Topic.state.in_(IMPLEMENTED_STATES),
                                         done_at < until).order_by(Topic.id)):
        found[topic.org_id].append((topic, at))
    return found


def summarise_implementation(db: Session, now: datetime, settings: Settings, *,
                             checkpoint: Checkpoint | None = None) -> MadeNotices:
    """Tell each scheduled meeting's attendees which consensus topics were implemented since the last one."""
    key = literal("res3:m") + cast(Meeting.id, String)
    meetings = list(db.scalars(
        select(Meeting).where(Meeting.status == MeetingStatus.SCHEDULED, Meeting.starts_at > now,
                              ~sql_exists(select(Notice.id).where(Notice.source_key == key)))
        .order_by(Meeting.org_id, Meeting.id)))
    before = aliased(Meeting)
    previous = (select(func.max(before.starts_at)).where(
        before.org_id == Meeting.org_id, before.id != Meeting.id, before.status != MeetingStatus.CANCELLED,
        before.starts_at < Meeting.starts_at).scalar_subquery())

    def make(chunk: list[Meeting]) -> list[int]:
        orgs = sorted({m.org_id for m in chunk})
        done = implemented_by_org(db, orgs, now)
        ongoing: dict[int, list[Topic]] = defaultdict(list)
        for topic in db.scalars(select(Topic).where(Topic.org_id.in_(orgs), Topic.state == TopicState.IMPLEMENTING)
                                .order_by(Topic.id)):
            ongoing[topic.org_id].append(topic)
        telling = [m for m in chunk if done.get(m.org_id) or ongoing.get(m.org_id)]
        since = dict(db.execute(select(Meeting.id, previous).where(Meeting.id.in_([m.id for m in telling]))).all()) \
            if telling else {}
        specs = []
        for meeting in telling:
            last = since.get(meeting.id)
            topics = [t for t, at in done.get(meeting.org_id, []) if last is None or at > last]
            if not topics and not ongoing.get(meeting.org_id):
                continue
            specs.append(NoticeSpec(
                org_id=meeting.org_id, kind=NoticeKind.MEETING_NOTICE, audience=Audience.ATTENDEES,
                title=f"落实情况通报：{meeting.title}",
                body=implementation_body(meeting, topics, ongoing.get(meeting.org_id, []), settings.tz),
                meeting_id=meeting.id, source_key=f"res3:m{meeting.id}"))
        return [i for i, _ in create_notices(db, specs, now)]

    return in_chunks(db, meetings, make, "implementation summaries", checkpoint)


# ---- polls and questionnaires -------------------------------------------------------------------------
def close_polls(db: Session, now: datetime, settings: Settings) -> list[object]:
    """Close due polls and questionnaires and push their results, if the polls module offers ``close_due``."""
    try:
        from domain.votes import polls
    except ImportError:
        return []
    close_due = getattr(polls, "close_due", None)
    if not callable(close_due):
        return []
    takes_tz = len(inspect.signature(close_due).parameters) >= 3
    closed = list((close_due(db, now, settings.tz) if takes_tz else close_due(db, now)) or [])
    announce_expired(db, now)  # a meeting's vote closed by time is announced like the chair's 结束表决
    return closed
