"""Online consultation (网络协商, R-MEET-8, X-二(四)): a window in the chat instead of a room.

The convenor opens a window on a noticed topic's meeting; its expected attendees send opinions
(``意见 <内容>``, voice works too) within the window, at most ``[rules] speak_max_times`` per person on
one view (R-MEET-6); anyone may read them with opposing views alternating; the chair posts a summary
(``总结``), which ends the window, and the confirmation follows as in a room. Sending an opinion counts
as being present, so those who took part may confirm.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import zip_longest
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from domain.meetings import agenda, attendance, floor
from domain.meetings.attendance import require_chair
from domain.orgs import people
from domain.topics.text import local_time
from models import (
    AgendaStep,
    Meeting,
    MeetingAttendee,
    MeetingForm,
    MeetingStatus,
    Person,
    Role,
    Side,
    Speech,
    SpeechStatus,
    Topic,
    TopicState,
)

if TYPE_CHECKING:
    from domain.settings import Settings

MAX_HOURS = 7 * 24
OPINION_MAX_CHARS = 500


def open_online(db: Session, topic: Topic, convenor: Person, hours: int, now: datetime, settings: Settings) -> Meeting:
    """Turn a noticed topic's meeting into an online consultation open for ``hours``."""
    people.require_role(db, convenor, topic.org, Role.CONVENOR)
    if topic.state is not TopicState.NOTICED:
        raise Conflict(f"议题 {topic.number} 要先调研、安排会议并公示，才能网络协商（现在“{topic.state.label}”）。")
    if not 1 <= hours <= MAX_HOURS:
        raise InvalidInput(f"网络协商的时长请写 1 到 {MAX_HOURS} 小时，例如：网络协商 {topic.number} 48。")
    notice_ends = (topic.noticed_at or now) + timedelta(days=settings.rules.topic_notice_days)
    if now < notice_ends:
        raise Conflict(f"议题公示要满 {settings.rules.topic_notice_days} 天，{local_time(notice_ends, settings.tz)} "
                       f"以后才能开始网络协商。")
    meeting = db.scalar(select(Meeting).where(Meeting.topic_id == topic.id, Meeting.status == MeetingStatus.SCHEDULED)
                        .order_by(Meeting.id.desc()).limit(1))
    if meeting is None:
        raise NotFound(f"议题 {topic.number} 没有安排好的会议。")
    meeting.form, meeting.status = MeetingForm.ONLINE, MeetingStatus.OPEN
    meeting.opened_at, meeting.online_until, meeting.step = now, now + timedelta(hours=hours), AgendaStep.CONSULT
    attendance.tell_attendees(
        db, meeting, f"网络协商：{meeting.title}",
        f"【网络协商】{topic.org.name} 议题 {topic.number}：{topic.title}\n"
        f"请在 {local_time(meeting.online_until, settings.tz)} 前发送“意见 支持 您的意见”或“意见 反对 您的意见”"
        f"（可以说语音）。发送“看意见”看大家的意见。", now, f"online-open:{meeting.id}")
    db.flush()
    return meeting


def participant_meeting(db: Session, person: Person, now: datetime) -> Meeting:
    """The open online consultation this person is invited to (the latest one)."""
    meeting = db.scalar(
        select(Meeting).join(MeetingAttendee, MeetingAttendee.meeting_id == Meeting.id)
        .where(MeetingAttendee.person_id == person.id, Meeting.form == MeetingForm.ONLINE,
               Meeting.status == MeetingStatus.OPEN)
        .order_by(Meeting.opened_at.desc()).limit(1))
    if meeting is None:
        raise NotFound("您现在没有受邀参加的网络协商。")
    return meeting


def add_opinion(db: Session, meeting: Meeting, person: Person, side: Side, text: str, now: datetime,
                settings: Settings) -> int:
    """Record one opinion in the window; returns how many this person has left on that view."""
    if meeting.online_until is None or now >= meeting.online_until or meeting.step is not AgendaStep.CONSULT:
        raise Conflict("这次网络协商已经截止，不能再发表意见。")
    row = db.scalar(select(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting.id,
                                                  MeetingAttendee.person_id == person.id))
    if row is None:
        raise PermissionDenied("您不在这次网络协商的受邀名单上。")
    text = (text or "").strip()
    if not text:
        raise InvalidInput("请写上您的意见，例如：意见 支持 先修村东段。")
    if len(text) > OPINION_MAX_CHARS:
        raise InvalidInput(f"意见请控制在 {OPINION_MAX_CHARS} 字以内。")
    limit = settings.rules.speak_max_times
    if floor.turns_taken(db, meeting, person, side) >= limit:
        raise PermissionDenied(f"您就“{side.label}”的观点已经发表 {limit} 次意见了，每人就相同观点最多 {limit} 次。")
    db.add(Speech(meeting_id=meeting.id, person_id=person.id, side=side, status=SpeechStatus.DONE,
                  requested_at=now, started_at=now, ended_at=now, text=text))
    if row.checked_in_at is None:
        row.checked_in_at = now  # taking part online counts as being present
    db.flush()
    return limit - floor.turns_taken(db, meeting, person, side)


def opinions_text(db: Session, meeting: Meeting, limit: int = 20) -> str:
    """The opinions, 支持 and 反对 alternating, then the others."""
    said = list(db.scalars(select(Speech).where(Speech.meeting_id == meeting.id, Speech.text != "")
                           .order_by(Speech.started_at, Speech.id)))
    if not said:
        return f"{meeting.title}：还没有人发表意见。"
    pro = [s for s in said if s.side is Side.FOR]
    con = [s for s in said if s.side is Side.AGAINST]
    ordered = [s for pair in zip_longest(pro, con) for s in pair if s is not None]
    ordered += [s for s in said if s.side is Side.OTHER]
    lines = [f"{meeting.title}：共 {len(said)} 条意见（支持 {len(pro)}，反对 {len(con)}）"]
    lines += [f"【{s.side.label}】{s.person.display_name}：{s.text}" for s in ordered[:limit]]
    if len(ordered) > limit:
        lines.append(f"……还有 {len(ordered) - limit} 条。")
    if meeting.summary:
        lines.append(f"主持人总结：{meeting.summary}")
    return "\n".join(lines)


def summarise(db: Session, meeting: Meeting, chair: Person, text: str, now: datetime) -> None:
    """The chair's summary: ends the window, tells the participants, and the confirmation follows."""
    require_chair(db, meeting, chair)
    agenda.require_open(meeting)
    if meeting.form is not MeetingForm.ONLINE:
        raise Conflict("总结用于网络协商。会场里请用“下一步”进入提请确认。")
    text = (text or "").strip()
    if not text:
        raise InvalidInput("请写上总结，例如：总结 多数人同意先修村东段。")
    if len(text) > OPINION_MAX_CHARS * 2:
        raise InvalidInput(f"总结请控制在 {OPINION_MAX_CHARS * 2} 字以内。")
    meeting.summary, meeting.step = text, AgendaStep.CONFIRM
    meeting.online_until = min(meeting.online_until or now, now)
    attendance.tell_attendees(db, meeting, f"网络协商总结：{meeting.title}",
                              f"【网络协商总结】{meeting.title}\n{text}\n接下来请等待表决。", now, f"online-summary:{meeting.id}")
    db.flush()
