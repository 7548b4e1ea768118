"""The speaking queue (R-MEET-6, X-13.6): ask for the floor, the chair gives it, time limits.

X-13.6: "每人就相同观点发言不超过2次，每次原则上不超过5分钟。主持人有权打断违规或跑题发言，应尽可能让意见
相反的双方轮流发言". The limit counts turns per person *on the same view* (``[rules] speak_max_times``),
each turn lasts ``[rules] speak_max_minutes``; when the chair calls the next speaker, someone of the
opposite view goes first if one is waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from domain.meetings.attendance import CHAIR_ROLES, require_chair
from domain.notices import outbox
from domain.orgs import people
from models import (
    AgendaStep,
    Meeting,
    MeetingAttendee,
    MeetingStatus,
    NoticeKind,
    Person,
    Side,
    Speech,
    SpeechStatus,
)

if TYPE_CHECKING:
    from domain.settings import Settings

TAKEN = (SpeechStatus.SPEAKING, SpeechStatus.DONE, SpeechStatus.STOPPED)
OPPOSITE = {Side.FOR: Side.AGAINST, Side.AGAINST: Side.FOR}
SIDE_WORDS = {"支持": Side.FOR, "赞成": Side.FOR, "同意": Side.FOR, "反对": Side.AGAINST, "不同意": Side.AGAINST,
              "其他": Side.OTHER, "补充": Side.OTHER}


@dataclass(frozen=True)
class Called:
    """Who was given the floor, and how many still wait."""

    speech: Speech | None
    waiting: int


def parse_side(word: str) -> Side:
    """支持 / 反对 / (anything else or nothing) 其他意见."""
    return SIDE_WORDS.get(word.strip(), Side.OTHER)


def attendee_meeting(db: Session, person: Person) -> Meeting:
    """The open meeting this person checked in to (the latest one)."""
    meeting = db.scalar(
        select(Meeting).join(MeetingAttendee, MeetingAttendee.meeting_id == Meeting.id)
        .where(MeetingAttendee.person_id == person.id, MeetingAttendee.checked_in_at.is_not(None),
               Meeting.status == MeetingStatus.OPEN)
        .order_by(Meeting.opened_at.desc()).limit(1)
    )
    if meeting is None:
        raise NotFound("您现在没有正在开的会议。到会场后先发送“签到 会议码”。")
    return meeting


def turns_taken(db: Session, meeting: Meeting, person: Person, side: Side) -> int:
    """Turns this person has had or is waiting for on one view in this meeting."""
    stmt = select(func.count(Speech.id)).where(
        Speech.meeting_id == meeting.id, Speech.person_id == person.id, Speech.side == side,
        Speech.status.in_((*TAKEN, SpeechStatus.QUEUED)))
    return int(db.scalar(stmt) or 0)


def _waiting(db: Session, meeting: Meeting) -> list[Speech]:
    return list(db.scalars(select(Speech).where(Speech.meeting_id == meeting.id, Speech.status == SpeechStatus.QUEUED)
                           .order_by(Speech.requested_at, Speech.id)))


def lock(db: Session, meeting: Meeting) -> None:
    """Serialise changes to one meeting's queue (two chairs pressing 下一位, two quick 发言)."""
    db.execute(select(Meeting.id).where(Meeting.id == meeting.id).with_for_update())


def _speaking(db: Session, meeting: Meeting) -> Speech | None:
    return db.scalar(select(Speech).where(Speech.meeting_id == meeting.id, Speech.status == SpeechStatus.SPEAKING)
                     .with_for_update())


def request_floor(db: Session, meeting: Meeting, person: Person, side: Side, now: datetime,
                  settings: Settings) -> int:
    """Join the queue on one view; returns how many are ahead (R-MEET-6 limit per view)."""
    lock(db, meeting)
    if meeting.status is not MeetingStatus.OPEN:
        raise Conflict("会议还没有开始或已经结束，现在不能申请发言。")
    if meeting.step is AgendaStep.CONFIRM:
        raise Conflict("现在是提请确认环节，不能再申请发言。")
    queued = _waiting(db, meeting)
    ahead = next((i for i, s in enumerate(queued) if s.person_id == person.id), None)
    if ahead is not None:
        raise Conflict(f"您已经在排队了，前面还有 {ahead} 人。")
    current = _speaking(db, meeting)
    if current is not None and current.person_id == person.id:
        raise Conflict("您正在发言。讲完请发送“发言结束”。")
    limit = settings.rules.speak_max_times
    if turns_taken(db, meeting, person, side) >= limit:
        raise PermissionDenied(f"您就“{side.label}”的观点已经发言 {limit} 次了，每人就相同观点最多发言 {limit} 次。")
    db.add(Speech(meeting_id=meeting.id, person_id=person.id, side=side, status=SpeechStatus.QUEUED,
                  requested_at=now))
    db.flush()
    return len(queued)


def _finish(speech: Speech, status: SpeechStatus, now: datetime) -> None:
    speech.status, speech.ended_at = status, now


def _pick(waiting: list[Speech], last: Side | None) -> Speech:
    """The earliest waiting speech of the view opposite to the last one, else the earliest."""
    wanted = OPPOSITE.get(last) if last else None
    return next((s for s in waiting if wanted and s.side is wanted), waiting[0])


def _last_side(db: Session, meeting: Meeting) -> Side | None:
    stmt = (select(Speech.side).where(Speech.meeting_id == meeting.id, Speech.status.in_(TAKEN),
                                      Speech.side != Side.OTHER)
            .order_by(Speech.started_at.desc().nulls_last(), Speech.id.desc()).limit(1))
    return db.scalar(stmt)


def give_floor(db: Session, meeting: Meeting, speech: Speech, now: datetime, settings: Settings) -> None:
    """Start a turn and tell the speaker how long they have."""
    speech.status, speech.started_at = SpeechStatus.SPEAKING, now
    db.flush()
    minutes = settings.rules.speak_max_minutes
    outbox.push_to(db, [speech.person], org=meeting.org, title="轮到您发言", now=now, kind=NoticeKind.MEETING_NOTICE,
                   body=f"【轮到您发言】{meeting.title}\n请讲，限 {minutes} 分钟。讲完请发送“发言结束”。",
                   source_key=f"floor:{speech.id}")


def call_next(db: Session, meeting: Meeting, chair: Person, now: datetime, settings: Settings) -> Called:
    """The chair ends the current turn and gives the floor to the next, opposite views alternating."""
    require_chair(db, meeting, chair)
    lock(db, meeting)
    if meeting.status is not MeetingStatus.OPEN:
        raise Conflict("会议还没有开始或已经结束。")
    current = _speaking(db, meeting)
    if current is not None:
        _finish(current, SpeechStatus.DONE, now)
        db.flush()
    waiting = _waiting(db, meeting)
    if not waiting:
        return Called(None, 0)
    chosen = _pick(waiting, _last_side(db, meeting))
    give_floor(db, meeting, chosen, now, settings)
    return Called(chosen, len(waiting) - 1)


def end_own_turn(db: Session, meeting: Meeting, person: Person, now: datetime) -> None:
    """The speaker ends their turn (发言结束), or leaves the queue."""
    lock(db, meeting)
    current = _speaking(db, meeting)
    if current is not None and current.person_id == person.id:
        _finish(current, SpeechStatus.DONE, now)
        return
    for waiting in _waiting(db, meeting):
        if waiting.person_id == person.id:
            _finish(waiting, SpeechStatus.WITHDRAWN, now)
            return
    raise InvalidInput("您现在没有在发言，也没有排队。")


def stop_speech(db: Session, meeting: Meeting, chair: Person, now: datetime) -> Speech:
    """The chair interrupts a speech that breaks the rules or strays (X-13.6)."""
    require_chair(db, meeting, chair)
    lock(db, meeting)
    current = _speaking(db, meeting)
    if current is None:
        raise InvalidInput("现在没有人在发言。")
    _finish(current, SpeechStatus.STOPPED, now)
    outbox.push_to(db, [current.person], org=meeting.org, title="发言已被主持人打断", now=now,
                   kind=NoticeKind.MEETING_NOTICE, source_key=f"floor-stopped:{current.id}",
                   body=f"【发言结束】主持人打断了您的发言（{meeting.title}）。如还有意见，可以再发送“发言”排队。")
    return current


def overtime_sweep(db: Session, now: datetime, settings: Settings) -> int:
    """Tell each speaker past the time limit, and their chair, once (R-MEET-6)."""
    limit = timedelta(minutes=settings.rules.speak_max_minutes)
    due = db.scalars(select(Speech).where(Speech.status == SpeechStatus.SPEAKING, Speech.overtime_told_at.is_(None),
                                          Speech.started_at <= now - limit).with_for_update(skip_locked=True)).all()
    for speech in due:
        meeting = db.get(Meeting, speech.meeting_id)
        told = [speech.person] + ([db.get(Person, meeting.chair_id)] if meeting.chair_id else
                                  people.role_holders(db, meeting.org, *CHAIR_ROLES))
        outbox.push_to(db, [p for p in told if p is not None], org=meeting.org, title="发言时间到", now=now,
                       kind=NoticeKind.MEETING_NOTICE, source_key=f"floor-overtime:{speech.id}",
                       body=f"【发言时间到】{speech.person.display_name} 的发言已满 {settings.rules.speak_max_minutes} 分钟，"
                            f"请尽快结束。主持人可发送“下一位”。")
        speech.overtime_told_at = now
    db.flush()
    return len(due)


def queue_text(db: Session, meeting: Meeting) -> str:
    """Who speaks now and who waits, for the chair."""
    current = _speaking(db, meeting)
    lines = [f"正在发言：{current.person.display_name}（{current.side.label}）" if current else "现在没有人发言。"]
    waiting = _waiting(db, meeting)
    if waiting:
        lines.append("排队：" + "、".join(f"{s.person.display_name}（{s.side.label}）" for s in waiting[:15]))
    return "\n".join(lines)
