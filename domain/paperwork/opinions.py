"""The 协商意见建议清单 of a meeting (R-RES-4, L-三(六)): built from what the meeting recorded, sent up.

L-三(六): "协商完成后，认真汇总整理协商意见建议，形成简明扼要的协商意见建议清单" and a village's list goes to
the township. Here it goes to the upper-level office (上级办公室) of the parent organisation: automatically
when the chair closes the meeting (闭会), again on a convenor's resend; it waits in their 待办 until read.
"""

from __future__ import annotations

import logging
from datetime import datetime, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.errors import Conflict, NotFound
from domain.notices import outbox
from domain.orgs import people
from domain.paperwork.sheets import Sheet
from models import (
    AttendeeKind,
    Meeting,
    MeetingAttendee,
    MeetingStatus,
    MinuteEntry,
    OpinionList,
    Organisation,
    Person,
    Role,
    Side,
    Speech,
    SpeechStatus,
    TopicEvent,
    TopicState,
)

logger = logging.getLogger(__name__)

RESULTS = (TopicState.CONSENSUS, TopicState.BASIC_CONSENSUS, TopicState.NO_CONSENSUS)
KIND_LABELS = {AttendeeKind.MEMBER: "议事会成员", AttendeeKind.STAKEHOLDER: "利益相关方代表",
               AttendeeKind.INVITED: "列席人员"}
REVISION_PREFIX = "议题修订为："
MAX_ID = 2**31 - 1  # the ids are 32-bit: a longer number typed is simply not found (not a database error)
HEADER = ["序号", "议题", "意见建议", "议题修订", "协商结果"]


def list_number(opinions: OpinionList) -> str:
    """The 编号 of a list: 东风村协商意见〔2026〕3号."""
    return f"{opinions.org.name}协商意见〔{opinions.year}〕{opinions.seq}号"


def for_meeting(db: Session, meeting: Meeting) -> OpinionList | None:
    """The meeting's list, if it was made."""
    return db.scalar(select(OpinionList).where(OpinionList.meeting_id == meeting.id))


def ensure(db: Session, meeting: Meeting, now: datetime, tz: tzinfo) -> OpinionList:
    """The meeting's list, numbered on first use (per organisation and local year)."""
    made = for_meeting(db, meeting)
    if made is not None:
        return made
    db.execute(select(Organisation.id).where(Organisation.id == meeting.org_id).with_for_update())
    year = (meeting.closed_at or now).astimezone(tz).year
    seq = (db.scalar(select(func.max(OpinionList.seq)).where(OpinionList.org_id == meeting.org_id,
                                                              OpinionList.year == year)) or 0) + 1
    made = OpinionList(meeting_id=meeting.id, org_id=meeting.org_id, year=year, seq=seq, created_at=now)
    db.add(made)
    db.flush()
    return made


def send_up(db: Session, meeting: Meeting, now: datetime, tz: tzinfo, by: Person | None = None) -> OpinionList:
    """Push the list to the parent organisation's upper-level office and record it (again on a resend)."""
    if meeting.status is not MeetingStatus.CLOSED:
        raise Conflict("会议结束（闭会）后才能报送协商意见建议清单。")
    upper = meeting.org.parent
    if upper is None:
        raise Conflict(f"{meeting.org.name}没有上级组织，协商意见建议清单不用报送。")
    opinions = ensure(db, meeting, now, tz)
    holders = people.role_holders(db, upper, Role.UPPER_OFFICE)
    opinions.upper_org_id, opinions.sent_at, opinions.sent_count = upper.id, now, opinions.sent_count + 1
    opinions.sent_by_id = by.id if by else None
    opinions.read_at = opinions.read_by_id = None  # a resend waits in the to-do list again
    subject = meeting.topic.title if meeting.topic else meeting.title
    again = "（重新报送）" if opinions.sent_count > 1 else ""
    outbox.push_to(db, holders, org=meeting.org, topic=meeting.topic, now=now,
                   title=f"协商意见建议清单：{meeting.org.name}"[:200],
                   body=(f"【协商意见建议清单】{again}{meeting.org.name}报来 {list_number(opinions)}\n"
                         f"议题：{subject}\n结果：{result_label(db, meeting)}\n发送“清单 {opinions.id}”查看。"),
                   source_key=f"opinion-list:{opinions.id}:{opinions.sent_count}")
    if not holders:
        logger.warning("no upper office in organisation %s for opinion list %s", upper.id, opinions.id)
    db.flush()
    return opinions


def send_at_close(db: Session, meeting: Meeting, now: datetime, tz: tzinfo) -> OpinionList | None:
    """At 闭会: send the list up once (nothing when the organisation has no parent or it was sent)."""
    made = for_meeting(db, meeting)
    if meeting.org.parent is None or (made is not None and made.sent_at is not None):
        return made
    return send_up(db, meeting, now, tz)


def result_event(db: Session, meeting: Meeting) -> TopicEvent | None:
    """The confirmation recorded on the meeting's topic during the meeting (the latest one)."""
    if meeting.topic_id is None:
        return None
    stmt = select(TopicEvent).where(TopicEvent.topic_id == meeting.topic_id,
                                    TopicEvent.to_state.in_([s.value for s in RESULTS]),
                                    TopicEvent.at >= (meeting.opened_at or meeting.created_at))
    if meeting.closed_at is not None:
        stmt = stmt.where(TopicEvent.at <= meeting.closed_at)
    return db.scalar(stmt.order_by(TopicEvent.id.desc()).limit(1))


def result_label(db: Session, meeting: Meeting) -> str:
    """达成共识 / 基本达成共识 / 未达成共识, with how it was confirmed; or 未确认."""
    event = result_event(db, meeting)
    if event is None:
        return "未确认"
    how = f"（{meeting.confirm_method}表决）" if meeting.confirm_method else ""
    return TopicState(event.to_state).label + how


def opinions_of(db: Session, meeting: Meeting) -> list[str]:
    """The opinions voiced: speeches and online opinions in order, the summary, the minutes."""
    lines = []
    speeches = db.scalars(select(Speech).where(Speech.meeting_id == meeting.id,
                                               Speech.status.in_([SpeechStatus.DONE, SpeechStatus.STOPPED]))
                          .order_by(Speech.started_at, Speech.id))
    for speech in speeches:
        said = f"：{speech.text}" if speech.text else "发言"
        side = "" if speech.side is Side.OTHER else f"（{speech.side.label}）"
        who = "（提议人）" if meeting.topic is not None and speech.person_id == meeting.topic.proposer_id else ""
        lines.append(f"{speech.person.display_name}{who}{side}{said}")
    if meeting.summary:
        lines.append(f"主持人总结：{meeting.summary}")
    lines += [f"纪要：{m.text}" for m in _minutes(db, meeting) if not m.text.startswith(REVISION_PREFIX)]
    return lines


def revisions_of(db: Session, meeting: Meeting) -> list[str]:
    """Each revision of the topic's wording, in order (X-13.7)."""
    revised = [m.text.removeprefix(REVISION_PREFIX) for m in _minutes(db, meeting) if m.text.startswith(REVISION_PREFIX)]
    if not revised and meeting.revised_text:
        revised = [meeting.revised_text]
    return revised


def _minutes(db: Session, meeting: Meeting) -> list[MinuteEntry]:
    return list(db.scalars(select(MinuteEntry).where(MinuteEntry.meeting_id == meeting.id)
                           .order_by(MinuteEntry.at, MinuteEntry.id)))


def participants_line(db: Session, meeting: Meeting) -> str:
    """应到/实到 and who attended, by kind."""
    rows = list(db.scalars(select(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting.id)
                           .order_by(MeetingAttendee.id)))
    present = [r for r in rows if r.checked_in_at is not None]
    parts = [f"应到 {len(rows)} 人，实到 {len(present)} 人"]
    for kind, label in KIND_LABELS.items():
        names = [r.person.display_name for r in present if r.kind is kind]
        if names:
            parts.append(f"{label} {len(names)} 人：{'、'.join(names)}")
    return "参加人员：" + "；".join(parts)


def sheet(db: Session, meeting: Meeting, tz: tzinfo, opinions: OpinionList | None = None) -> Sheet:
    """The list laid out as offices file it."""
    day = (meeting.opened_at or meeting.starts_at).astimezone(tz)
    topic = meeting.topic
    subject = f"{topic.number} {topic.title}" if topic else meeting.title
    row = ["1", subject, "\n".join(opinions_of(db, meeting)) or "（无）", "\n".join(revisions_of(db, meeting)) or "（无）",
           result_label(db, meeting)]
    sent = ""
    if opinions is not None and opinions.sent_at is not None and opinions.upper_org is not None:
        at = opinions.sent_at.astimezone(tz)
        sent = f"报送：{opinions.upper_org.name}（{at.year}年{at.month}月{at.day}日）"
    return Sheet(
        title="协商意见建议清单",
        number=list_number(opinions) if opinions else "（未编号）",
        org_line=f"协商议事室：{meeting.org.name}",
        date_line=f"协商日期：{day.year}年{day.month}月{day.day}日",
        extra_lines=[f"协商形式：{meeting.form.label}",
                     f"地点：{meeting.place}", participants_line(db, meeting), *([sent] if sent else [])],
        header=HEADER, rows=[row], widths=[0.6, 2.2, 4.2, 2.4, 1.6])


def find_meeting(db: Session, org: Organisation, meeting_id: int) -> Meeting:
    """The organisation's meeting by its number (#id, as ``meeting list`` prints it)."""
    meeting = db.get(Meeting, meeting_id) if 0 < meeting_id <= MAX_ID else None
    if meeting is None or meeting.org_id != org.id:
        raise NotFound(f"{org.name}没有会议 #{meeting_id}。用 shangliang meeting list --org {org.code} 查看。")
    return meeting


def inbox(db: Session, person: Person) -> list[OpinionList]:
    """Lists sent to an organisation where the person is the upper-level office, not yet read."""
    orgs = [o.id for o in people.role_orgs(db, person, Role.UPPER_OFFICE)]
    if not orgs:
        return []
    return list(db.scalars(select(OpinionList).where(OpinionList.upper_org_id.in_(orgs),
                                                      OpinionList.sent_at.is_not(None),
                                                      OpinionList.read_at.is_(None)).order_by(OpinionList.id)))


def open_received(db: Session, person: Person, list_id: int, now: datetime) -> OpinionList:
    """A list sent to the person's office, marked read (清单 <编号>)."""
    opinions = db.get(OpinionList, list_id) if 0 < list_id <= MAX_ID else None
    if (opinions is None or opinions.upper_org is None
            or not people.has_role(db, person, opinions.upper_org, Role.UPPER_OFFICE)):
        # Another office's list reads as a missing one: its number tells nothing about who sent what.
        raise NotFound(f"没有找到报给您的清单 {list_id}。发送“待办”查看报来的清单。")
    if opinions.read_at is None:
        opinions.read_at, opinions.read_by_id = now, person.id
    db.flush()
    return opinions


def chat_text(db: Session, opinions: OpinionList, tz: tzinfo) -> str:
    """The list, short, for the chat."""
    s = sheet(db, opinions.meeting, tz, opinions)
    _, subject, said, revised, result = s.rows[0]
    return "\n".join([f"【{s.title}】{s.number}", s.org_line, s.date_line, s.extra_lines[0],
                      s.extra_lines[2].split("；")[0], f"议题：{subject}", f"意见建议：\n{said}",
                      f"议题修订：{revised}", f"协商结果：{result}"])


def inbox_lines(db: Session, person: Person) -> list[str]:
    """The 待办 lines of an upper-level office: opinion lists received and not yet read."""
    received = inbox(db, person)
    if not received:
        return []
    return [f"报来的协商意见建议清单（{len(received)} 份）：",
            *(f"· {o.org.name} {list_number(o)}\n  发送：清单 {o.id}" for o in received)]


def latest_closed(db: Session, orgs: list[Organisation], topic_id: int | None = None) -> Meeting:
    """The most recently closed meeting of these organisations (of one topic, when given)."""
    stmt = select(Meeting).where(Meeting.org_id.in_([o.id for o in orgs]), Meeting.status == MeetingStatus.CLOSED)
    if topic_id is not None:
        stmt = stmt.where(Meeting.topic_id == topic_id)
    meeting = db.scalar(stmt.order_by(Meeting.closed_at.desc(), Meeting.id.desc()).limit(1))
    if meeting is None:
        raise NotFound("还没有结束（闭会）的会议，协商意见建议清单在闭会时自动报送。")
    return meeting
