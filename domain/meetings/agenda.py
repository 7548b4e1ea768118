"""The agenda of an open meeting (R-MEET-5, X-13.5–13.8), its revision, minutes and closing.

X-13: "会议议程按照提出议题、互动协商、议题修订、提请确认等步骤进行"; X-13.5: the chair announces the topic
and the proposer speaks first; X-13.7: the chair and the proposer revise the topic and consult again.
The chair moves the meeting on with 下一步; attendees are told each step.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import Conflict, InvalidInput, PermissionDenied
from domain.meetings import attendance, floor
from domain.meetings.attendance import may_chair, require_chair
from domain.orgs import people
from domain.topics.operations import mark_consulted
from models import (
    AgendaStep,
    Meeting,
    MeetingAttendee,
    MeetingStatus,
    MinuteEntry,
    Person,
    Poll,
    PollKind,
    Role,
    Speech,
    SpeechStatus,
    TopicState,
)

if TYPE_CHECKING:
    from domain.settings import Settings

STEPS = list(AgendaStep)
MINUTE_MAX_CHARS = 1000
REVISION_MAX_CHARS = 500
STEP_HINTS = {
    AgendaStep.PRESENT: "主持人宣布议题。",
    AgendaStep.PROPOSER: "请议题提议人首先发言。",
    AgendaStep.CONSULT: "互动协商：想发言请发送“发言 支持”或“发言 反对”排队。",
    AgendaStep.REVISE: "议题修订：主持人和提议人根据大家的意见修改议题。",
    AgendaStep.CONFIRM: "提请确认：请等待主持人发起表决。",
}


def running_vote(db: Session, meeting: Meeting, now: datetime) -> Poll | None:
    """The meeting's confirmation vote still open, if any."""
    return db.scalar(select(Poll).where(Poll.meeting_id == meeting.id, Poll.kind == PollKind.CONFIRMATION,
                                        Poll.closed_at.is_(None), Poll.closes_at > now)
                     .order_by(Poll.id.desc()).limit(1))


def require_open(meeting: Meeting) -> None:
    """Refuse unless the meeting is open."""
    if meeting.status is MeetingStatus.SCHEDULED:
        raise Conflict("会议还没有开始。人数够了以后，主持人发送“开会”。")
    if meeting.status is not MeetingStatus.OPEN:
        raise Conflict("这次会议已经结束了。")


def next_step(db: Session, meeting: Meeting, chair: Person, now: datetime, settings: Settings) -> AgendaStep:
    """Move to the next step of the agenda and tell the attendees; the proposer gets the floor first."""
    require_chair(db, meeting, chair)
    require_open(meeting)
    current = meeting.step or AgendaStep.PRESENT
    if current is AgendaStep.CONFIRM:
        raise Conflict("已经到提请确认了。请发送“表决 举手”“表决 鼓掌”或“表决 投票”。")
    meeting.step = STEPS[STEPS.index(current) + 1]
    if meeting.step is AgendaStep.PROPOSER:
        _proposer_first(db, meeting, now, settings)
    if meeting.step is AgendaStep.CONSULT and meeting.topic is not None and meeting.topic.state is TopicState.NOTICED:
        by = None if meeting.chair_id is not None else chair  # a delegated chair holds no role: recorded as the meeting
        mark_consulted(db, meeting.topic, by, now, "协商会议召开，进入互动协商")
    attendance.tell_attendees(db, meeting, f"会议进行到：{meeting.step.label}",
                              f"【会议进行到：{meeting.step.label}】{meeting.title}\n{STEP_HINTS[meeting.step]}", now,
                              f"meeting-step:{meeting.id}:{meeting.step.value}:{now.timestamp():.0f}")
    db.flush()
    return meeting.step


def _proposer_first(db: Session, meeting: Meeting, now: datetime, settings: Settings) -> None:
    topic = meeting.topic
    if topic is None:
        return
    here = db.scalar(select(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting.id,
                                                   MeetingAttendee.person_id == topic.proposer_id,
                                                   MeetingAttendee.checked_in_at.is_not(None)))
    if here is None:
        return
    speech = Speech(meeting_id=meeting.id, person_id=topic.proposer_id, status=SpeechStatus.QUEUED, requested_at=now)
    db.add(speech)
    db.flush()
    floor.give_floor(db, meeting, speech, now, settings)


def revise(db: Session, meeting: Meeting, chair: Person, text: str, now: datetime) -> None:
    """Record the revised wording (X-13.7) and go back to consultation on it."""
    require_chair(db, meeting, chair)
    require_open(meeting)
    text = (text or "").strip()
    if not text:
        raise InvalidInput("请写上修订后的议题内容，例如：修订 村东主路先硬化 500 米。")
    if len(text) > REVISION_MAX_CHARS:
        raise InvalidInput(f"修订内容太长了，请控制在 {REVISION_MAX_CHARS} 字以内。")
    meeting.revised_text = text
    meeting.step = AgendaStep.CONSULT
    db.add(MinuteEntry(meeting_id=meeting.id, author_id=chair.id, at=now, text=f"议题修订为：{text}"))
    attendance.tell_attendees(db, meeting, f"议题已修订：{meeting.title}",
                              f"【议题已修订】{meeting.title}\n修订后：{text}\n请再次协商：发送“发言 支持”或“发言 反对”排队。",
                              now, f"meeting-revised:{meeting.id}:{now.timestamp():.0f}")
    db.flush()


def may_take_minutes(db: Session, meeting: Meeting, person: Person) -> bool:
    """The meeting's secretary, or when none is named a secretary of its organisation; the chair too."""
    if meeting.secretary_id is not None:
        if meeting.secretary_id == person.id:
            return True
    elif people.has_role(db, person, meeting.org, Role.SECRETARY):
        return True
    return may_chair(db, meeting, person)


def add_minute(db: Session, meeting: Meeting, person: Person, text: str, now: datetime) -> int:
    """Append one entry to the minutes (纪要); returns how many entries there are."""
    if not may_take_minutes(db, meeting, person):
        raise PermissionDenied("只有这次会议的秘书或主持人可以记纪要。")
    if meeting.status is MeetingStatus.CANCELLED:
        raise Conflict("这次会议已经取消了。")
    text = (text or "").strip()
    if not text:
        raise InvalidInput("请写上纪要内容，例如：纪要 大家同意先修村东段。")
    if len(text) > MINUTE_MAX_CHARS:
        raise InvalidInput(f"一条纪要请控制在 {MINUTE_MAX_CHARS} 字以内，可以分几条发。")
    db.add(MinuteEntry(meeting_id=meeting.id, author_id=person.id, at=now, text=text))
    db.flush()
    return len(minutes(db, meeting))


def minutes(db: Session, meeting: Meeting) -> list[MinuteEntry]:
    """The minutes in order."""
    return list(db.scalars(select(MinuteEntry).where(MinuteEntry.meeting_id == meeting.id)
                           .order_by(MinuteEntry.at, MinuteEntry.id)))


def close(db: Session, meeting: Meeting, chair: Person, now: datetime) -> None:
    """Close the meeting (闭会); a confirmation vote still running must be ended first."""
    require_chair(db, meeting, chair)
    require_open(meeting)
    if running_vote(db, meeting, now) is not None:
        raise Conflict("表决还在进行。请先发送“结束表决”。")
    current = db.scalar(select(Speech).where(Speech.meeting_id == meeting.id, Speech.status == SpeechStatus.SPEAKING))
    if current is not None:
        current.status, current.ended_at = SpeechStatus.DONE, now
    for waiting in db.scalars(select(Speech).where(Speech.meeting_id == meeting.id,
                                                   Speech.status == SpeechStatus.QUEUED)):
        waiting.status, waiting.ended_at = SpeechStatus.WITHDRAWN, now
    meeting.status, meeting.closed_at = MeetingStatus.CLOSED, now
    attendance.tell_attendees(db, meeting, f"闭会：{meeting.title}", f"【闭会】{meeting.title}\n会议结束，谢谢参加。", now,
                              f"meeting-closed:{meeting.id}")
    db.flush()
