"""Sweeps before a meeting: the topic's public notice (R-TOPIC-6), reminders (R-MEET-2), the implementation
summary for the next meeting (R-RES-3).

Every sweep looks at state, not at what happened since its last run, so the first run after downtime catches
up; every notice it makes carries a source_key, so running it twice makes nothing twice.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from domain.notice_texts import implementation_body, late_notice_body, reminder_body, topic_notice_body
from domain.outbox import audience_ids, convenor_ids, create_notice, create_notice_if_new, public_window_end
from models import Audience, Meeting, MeetingStatus, Notice, NoticeKind, Topic, TopicEvent, TopicState

if TYPE_CHECKING:
    from bot.settings import Settings

logger = logging.getLogger(__name__)

T = TypeVar("T")
NOT_NOTICEABLE = (TopicState.WITHDRAWN, TopicState.RETURNED)
IMPLEMENTED_STATES = (TopicState.IMPLEMENTED, TopicState.EVALUATED)


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


def made_keys(db: Session, keys: list[str]) -> set[str]:
    """Which of these source keys some notice already carries (one query, however many)."""
    if not keys:
        return set()
    found = db.scalars(select(Notice.source_key).where(Notice.source_key == func.any(bindparam("keys", keys,
                                                                                             type_=ARRAY(String)))))
    return {k for k in found if k is not None}


def upcoming(db: Session, now: datetime, *, topic_only: bool = False, within: timedelta | None = None) -> list[Meeting]:
    """Scheduled meetings still ahead, in organisation order (a stable lock order)."""
    stmt = select(Meeting).where(Meeting.status == MeetingStatus.SCHEDULED, Meeting.starts_at > now)
    if topic_only:
        stmt = stmt.where(Meeting.topic_id.is_not(None))
    if within is not None:
        stmt = stmt.where(Meeting.starts_at <= now + within)
    return list(db.scalars(stmt.order_by(Meeting.org_id, Meeting.id)))


# ---- R-TOPIC-6 --------------------------------------------------------------------------------------
def publish_topic_notices(db: Session, now: datetime, settings: Settings) -> list[Notice]:
    """Publish the public notice of every scheduled meeting's topic that has none in force yet."""
    days, tz = settings.rules.topic_notice_days, settings.tz

    def make(meeting: Meeting) -> Notice | None:
        topic = meeting.topic
        if topic is None or topic.state in NOT_NOTICEABLE:
            return None
        if exists(db, Notice.kind == NoticeKind.TOPIC_NOTICE, Notice.topic_id == topic.id, Notice.closed_at.is_(None)):
            return None
        until = max(public_window_end(now, days, tz), meeting.starts_at)
        notice = create_notice_if_new(
            db, org=meeting.org, kind=NoticeKind.TOPIC_NOTICE, audience=Audience.FOLLOWERS,
            title=f"议题 {topic.number} {topic.title}", body=topic_notice_body(topic, meeting, until, tz), now=now,
            topic=topic, meeting_id=meeting.id, public_until=until,
            source_key=f"topic-notice:t{topic.id}:m{meeting.id}:v{meeting.version}",
        )
        earliest = now + timedelta(days=days)
        if notice is not None and meeting.starts_at < earliest:
            create_notice(
                db, org=meeting.org, kind=NoticeKind.REMINDER, audience=Audience.NAMED,
                recipients=convenor_ids([meeting.org_id]), title=f"议题 {topic.number} 公示不足{days}天",
                body=late_notice_body(topic, meeting, earliest, tz), now=now,
                topic=topic, source_key=f"topic-notice-late:m{meeting.id}:v{meeting.version}",
            )
        return notice

    return each(db, upcoming(db, now, topic_only=True), make, "topic notices")


# ---- R-MEET-2 ---------------------------------------------------------------------------------------
def current_offset(offsets: Iterable[int], starts_at: datetime, now: datetime) -> int | None:
    """The reminder whose window ``now`` is in: the smallest offset (hours before start) already reached.

    After downtime only that one goes out, never a pile of missed ones.
    """
    due = [h for h in offsets if starts_at - timedelta(hours=h) <= now < starts_at]
    return min(due) if due else None


def remind_meetings(db: Session, now: datetime, settings: Settings) -> list[Notice]:
    """Queue the reminder of the current window: to the attendees and/or all followers, by their offsets."""
    to_attendees = set(settings.scheduler.reminder_offsets_hours)
    to_followers = set(settings.scheduler.follower_reminder_offsets_hours)
    longest = max([*to_attendees, *to_followers, 0])

    meetings = upcoming(db, now, within=timedelta(hours=longest))
    keys = {m.id: f"meet-remind:m{m.id}:v{m.version}:{hours}h" for m in meetings
            if (hours := current_offset(to_attendees | to_followers, m.starts_at, now)) is not None}
    done = made_keys(db, list(keys.values()))

    def make(meeting: Meeting) -> Notice | None:
        hours = current_offset(to_attendees | to_followers, meeting.starts_at, now)
        key = keys.get(meeting.id)
        if hours is None or key is None or key in done:
            return None
        audience = (Audience.MEETING_PUBLIC if hours in to_attendees and hours in to_followers
                    else Audience.ATTENDEES if hours in to_attendees else Audience.FOLLOWERS)
        return create_notice_if_new(
            db, org=meeting.org, kind=NoticeKind.MEETING_NOTICE, audience=audience,
            recipients=audience_ids(meeting.org, audience, meeting_id=meeting.id),
            title=f"会议提醒：{meeting.title}", body=reminder_body(meeting, now, settings.tz), now=now,
            topic=meeting.topic, meeting_id=meeting.id, meeting_version=meeting.version,
            skip_if_acted=f"meeting:{meeting.id}", source_key=key,
        )

    return each(db, [m for m in meetings if m.id in keys], make, "meeting reminders")


# ---- R-RES-3 ----------------------------------------------------------------------------------------
def implemented_since(db: Session, org_id: int, since: datetime | None, until: datetime) -> list[Topic]:
    """The organisation's topics implemented after ``since`` (by their recorded IMPLEMENTED event)."""
    done_at = (
        select(TopicEvent.topic_id, func.max(TopicEvent.at).label("at"))
        .where(TopicEvent.to_state == TopicState.IMPLEMENTED.value)
        .group_by(TopicEvent.topic_id)
        .subquery()
    )
    stmt = (
        select(Topic).join(done_at, done_at.c.topic_id == Topic.id)
        .where(Topic.org_id == org_id, Topic.state.in_(IMPLEMENTED_STATES), done_at.c.at < until)
        .order_by(Topic.id)
    )
    if since is not None:
        stmt = stmt.where(done_at.c.at > since)
    return list(db.scalars(stmt))


def summarise_implementation(db: Session, now: datetime, settings: Settings) -> list[Notice]:
    """Tell each scheduled meeting's attendees which consensus topics were implemented since the last one."""

    def make(meeting: Meeting) -> Notice | None:
        key = f"res3:m{meeting.id}"
        if exists(db, Notice.source_key == key):
            return None
        previous = db.scalar(select(func.max(Meeting.starts_at)).where(
            Meeting.org_id == meeting.org_id, Meeting.id != meeting.id,
            Meeting.status != MeetingStatus.CANCELLED, Meeting.starts_at < meeting.starts_at))
        done = implemented_since(db, meeting.org_id, previous, now)
        ongoing = list(db.scalars(select(Topic).where(
            Topic.org_id == meeting.org_id, Topic.state == TopicState.IMPLEMENTING).order_by(Topic.id)))
        if not done and not ongoing:
            return None
        return create_notice_if_new(
            db, org=meeting.org, kind=NoticeKind.MEETING_NOTICE, audience=Audience.ATTENDEES,
            title=f"落实情况通报：{meeting.title}", body=implementation_body(meeting, done, ongoing, settings.tz),
            now=now, meeting_id=meeting.id, source_key=key,
        )

    return each(db, upcoming(db, now), make, "implementation summaries")


# ---- polls and questionnaires -------------------------------------------------------------------------
def close_polls(db: Session, now: datetime, settings: Settings) -> list[object]:
    """Close due polls and questionnaires and push their results, if the polls module offers ``close_due``."""
    try:
        from domain import polls
    except ImportError:
        return []
    close_due = getattr(polls, "close_due", None)
    if not callable(close_due):
        return []
    takes_tz = len(inspect.signature(close_due).parameters) >= 3
    return list((close_due(db, now, settings.tz) if takes_tz else close_due(db, now)) or [])
