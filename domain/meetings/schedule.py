"""Scheduling a topic's meeting: research first (R-TOPIC-5), public notice at least N days before (R-TOPIC-6).

The rule we apply: ``starts_at - now >= rules.topic_notice_days`` days, measured exactly (not by
calendar dates), because the public notice goes out at ``now``. A moved meeting gets a new
notice, so the same rule holds for the new time. The notice rows are written here (outbox);
the scheduler and the senders deliver them and push the reminders.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from domain.errors import DomainError, InvalidInput, NotFound
from domain.meetings import participants
from domain.meetings.attendance import new_checkin_code
from domain.notices import outbox
from domain.notices.texts import topic_notice_body, topic_notice_title
from domain.topics import states as topic_states
from domain.topics.operations import transition
from domain.topics.states import IllegalTransition
from domain.topics.text import local_time, local_time_with_weekday
from models import (
    Audience,
    Meeting,
    MeetingAttendee,
    MeetingForm,
    MeetingStatus,
    Notice,
    NoticeKind,
    Person,
    Topic,
)

if TYPE_CHECKING:
    from domain.settings import Settings

logger = logging.getLogger(__name__)

MAX_AHEAD = timedelta(days=366)  # further than this is almost surely a typo in the date
PLACE_MAX_CHARS = 200


class NoticeTooShort(DomainError):
    """The meeting is too soon for the public notice period (R-TOPIC-6)."""


def _check_time_and_place(starts_at: datetime, place: str, now: datetime, settings: Settings) -> str:
    if starts_at.tzinfo is None:
        raise InvalidInput("会议时间缺少时区。")
    place = (place or "").strip()
    if not place:
        raise InvalidInput("请写上会议地点，例如：村委会议室。")
    if len(place) > PLACE_MAX_CHARS:
        raise InvalidInput(f"会议地点太长了，请控制在 {PLACE_MAX_CHARS} 字以内。")
    days = settings.rules.topic_notice_days
    if starts_at - now < timedelta(days=days):
        earliest = local_time(now + timedelta(days=days), settings.tz)
        raise NoticeTooShort(f"议题要公示满 {days} 天才能开会。会议最早安排在 {earliest} 以后。")
    if starts_at - now > MAX_AHEAD:
        raise InvalidInput("会议时间在一年以后，请检查日期是否写错。")
    return place


def _precheck(db: Session, topic: Topic, action: str, actor: Person) -> None:
    """Refuse wrong state (e.g. no research yet) or wrong role before looking at the time."""
    tr = topic_states.find(topic, action, db=db, actor=actor)
    topic_states.check_actor(db, tr, topic, actor)


def _public_notice(db: Session, topic: Topic, meeting: Meeting, actor: Person, now: datetime,
                   settings: Settings, moved: bool = False) -> Notice:
    days = max(settings.rules.topic_notice_days, math.ceil((meeting.starts_at - now) / timedelta(days=1)))
    until = outbox.public_window_end(now, days, settings.tz)  # whole local days, as the sweep and withdrawal count
    key = f"topic-notice:{topic.id}:{meeting.id}" + (f":v{meeting.version}" if moved else "")
    return outbox.create_notice(
        db, org=topic.org, kind=NoticeKind.TOPIC_NOTICE, audience=Audience.FOLLOWERS,
        title=topic_notice_title(topic)[:200], body=topic_notice_body(topic, meeting, settings.tz, moved=moved),
        now=now, topic=topic, meeting_id=meeting.id, meeting_version=meeting.version, public_until=until,
        created_by=actor, source_key=key,
    )


def _close_notices(db: Session, meeting: Meeting, now: datetime, why: str) -> None:
    """End the public window of the meeting's earlier topic notices (moved or cancelled)."""
    db.execute(update(Notice).where(Notice.meeting_id == meeting.id, Notice.kind == NoticeKind.TOPIC_NOTICE,
                                    Notice.closed_at.is_(None)).values(closed_at=now, closed_reason=why))


def schedule_meeting(db: Session, topic: Topic, starts_at: datetime, place: str, actor: Person, now: datetime, *,
                     settings: Settings, material: str = "", stakeholder_ids: Iterable[int] = (),
                     invited_ids: Iterable[int] = (), chair_id: int | None = None, secretary_id: int | None = None,
                     online: bool = False) -> Meeting:
    """Schedule the meeting of a researched topic, move it to NOTICED and write its public notice."""
    _precheck(db, topic, "schedule", actor)
    place = _check_time_and_place(starts_at, place, now, settings)
    planned = participants.plan(db, topic.org, stakeholder_ids=stakeholder_ids, invited_ids=invited_ids,
                                chair_id=chair_id, secretary_id=secretary_id)
    participants.check(db, topic.org, planned, settings)
    when = local_time_with_weekday(starts_at, settings.tz)

    def change(t: Topic) -> None:
        t.noticed_at = now

    transition(db, topic, "schedule", actor, now, reason=f"协商会议定于{when}在{place}召开", change=change)
    meeting = Meeting(org_id=topic.org_id, topic=topic, title=topic.title[:200], starts_at=starts_at, place=place,
                      material=(material or "").strip(), status=MeetingStatus.SCHEDULED, created_by_id=actor.id,
                      checkin_code=new_checkin_code(db), chair_id=planned.chair_id,
                      secretary_id=planned.secretary_id, form=MeetingForm.ONLINE if online else MeetingForm.MEETING)
    db.add(meeting)
    db.flush()
    for person_id, kind in planned.kinds.items():
        db.add(MeetingAttendee(meeting=meeting, person_id=person_id, kind=kind))
    _public_notice(db, topic, meeting, actor, now, settings)
    db.flush()
    logger.info("meeting %s scheduled for topic %s", meeting.id, topic.id)
    return meeting


def _scheduled(meeting: Meeting, what: str) -> Topic:
    if meeting.status is not MeetingStatus.SCHEDULED:
        label = {MeetingStatus.OPEN: "已经开始", MeetingStatus.CLOSED: "已经结束",
                 MeetingStatus.CANCELLED: "已经取消"}[meeting.status]
        raise IllegalTransition(f"这次会议{label}了，不能{what}。")
    if meeting.topic is None:
        raise InvalidInput("这次会议没有议题，请在会议管理里调整。")
    return meeting.topic


def reschedule_meeting(db: Session, meeting: Meeting, starts_at: datetime, place: str, actor: Person,
                       now: datetime, *, settings: Settings, reason: str = "") -> Meeting:
    """Move a scheduled meeting; bumps its version and re-notices it (the N-day rule applies again)."""
    topic = _scheduled(meeting, "改期")
    _precheck(db, topic, "reschedule", actor)
    place = _check_time_and_place(starts_at, place or meeting.place, now, settings)
    when = local_time_with_weekday(starts_at, settings.tz)
    why = f"（{reason.strip()}）" if reason.strip() else ""

    def change(t: Topic) -> None:
        t.noticed_at = now

    transition(db, topic, "reschedule", actor, now, reason=f"改为{when}在{place}召开{why}", change=change)
    _close_notices(db, meeting, now, "会议改期")
    meeting.starts_at, meeting.place = starts_at, place
    meeting.version += 1
    db.flush()
    _public_notice(db, topic, meeting, actor, now, settings, moved=True)
    return meeting


def cancel_meeting(db: Session, meeting: Meeting, actor: Person, now: datetime, *, settings: Settings,
                   reason: str) -> Meeting:
    """Cancel a scheduled meeting; the topic goes back to RESEARCHED and followers are told."""
    topic = _scheduled(meeting, "取消")
    if not (reason or "").strip():
        raise InvalidInput("请写上取消会议的原因。")

    def change(t: Topic) -> None:
        t.noticed_at = None

    transition(db, topic, "cancel_meeting", actor, now, reason=reason, change=change)
    _close_notices(db, meeting, now, f"会议取消：{reason.strip()}"[:200])
    meeting.status = MeetingStatus.CANCELLED
    meeting.version += 1
    body = (f"【会议取消】{topic.org.name}原定{local_time_with_weekday(meeting.starts_at, settings.tz)}"
            f"在{meeting.place}召开的协商会议（议题 {topic.number}“{topic.title}”）取消了。原因：{reason.strip()}。"
            f"重新安排后会再公示。")
    outbox.create_notice(db, org=topic.org, kind=NoticeKind.GENERAL, audience=Audience.FOLLOWERS,
                         title=f"会议取消：{topic.title}"[:200], body=body, now=now, topic=topic,
                         meeting_id=meeting.id, created_by=actor, source_key=f"meeting-cancel:{meeting.id}")
    db.flush()
    return meeting


def topic_meeting(db: Session, topic: Topic) -> Meeting:
    """The topic's scheduled meeting, or NotFound."""
    meeting = db.scalar(select(Meeting).where(Meeting.topic_id == topic.id, Meeting.status == MeetingStatus.SCHEDULED)
                        .order_by(Meeting.id.desc()).limit(1))
    if meeting is None:
        raise NotFound(f"议题 {topic.number} 现在没有安排好的会议。")
    return meeting
