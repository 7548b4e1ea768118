"""In the room: check-in, the live attendance and opening a meeting at quorum (X-13.2–13.4).

R-MEET-3: a meeting opens only when those present reach ``[rules] quorum_ratio`` (2/3, "三分之二以上"
includes exactly 2/3) of the expected attendees. R-MEET-4: stakeholder representatives are at least
``[rules] stakeholder_min_ratio`` of the people present at a topic's meeting (X-8.2, "不少于总人数的50%").
Only expected attendees count; a late arrival counts from the moment they check in.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from domain.notices import outbox
from domain.orgs import people
from domain.orgs.tree import INVITE_ALPHABET
from domain.topics.text import local_time
from models import (
    AttendeeKind,
    Audience,
    Meeting,
    MeetingAttendee,
    MeetingForm,
    MeetingStatus,
    NoticeKind,
    Person,
    Role,
)

if TYPE_CHECKING:
    from domain.settings import Settings

CODE_LENGTH = 6
CHINESE_DIGITS = "零一二三四五六七八九十"
CHAIR_ROLES = (Role.CONVENOR, Role.CHAIR)


class CheckIn(enum.Enum):
    """What a check-in did."""

    DONE = "done"
    ALREADY = "already"


@dataclass
class Attendance:
    """Who is expected and who is present, right now."""

    expected: int
    present: int
    stakeholders_present: int
    missing: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> Fraction:
        """Present over expected (0 when nobody is expected)."""
        return Fraction(self.present, self.expected) if self.expected else Fraction(0)

    @property
    def stakeholder_share(self) -> Fraction:
        """Stakeholder representatives over the people present."""
        return Fraction(self.stakeholders_present, self.present) if self.present else Fraction(0)


def new_checkin_code(db: Session) -> str:
    """A short unused meeting code, easy to read aloud (no 0/O, 1/I)."""
    while True:
        code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(CODE_LENGTH))
        if db.scalar(select(Meeting.id).where(Meeting.checkin_code == code)) is None:
            return code


def find_by_code(db: Session, code: str) -> Meeting:
    """The meeting with this check-in code (case and spaces ignored)."""
    cleaned = "".join(code.split()).upper()
    meeting = db.scalar(select(Meeting).where(Meeting.checkin_code == cleaned)) if cleaned else None
    if meeting is None:
        raise NotFound("没有找到这个会议码。请核对会场上写的会议码，例如：签到 K7M2QX。")
    return meeting


def _who_to_ask(db: Session, meeting: Meeting) -> str:
    names = [p.display_name for p in people.role_holders(db, meeting.org, Role.CONVENOR)]
    return f"{meeting.org.name}的召集人{'、'.join(names)}" if names else f"{meeting.org.name}的召集人"


def check_in(db: Session, meeting: Meeting, person: Person, now: datetime, settings: Settings) -> CheckIn:
    """Check an expected attendee in; twice is harmless; others are told whom to ask."""
    if meeting.status in (MeetingStatus.CLOSED, MeetingStatus.CANCELLED):
        raise Conflict("这次会议已经结束或取消了，不能再签到。")
    if meeting.form is MeetingForm.ONLINE:
        raise Conflict("这是网络协商，不用签到：发送“意见 支持 您的意见”或“意见 反对 您的意见”就算参加。")
    opens = meeting.starts_at - timedelta(minutes=settings.rules.checkin_opens_minutes)
    if now < opens:
        raise InvalidInput(f"签到从 {local_time(opens, settings.tz)} 开始，请到时再发。")
    row = db.scalar(select(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting.id,
                                                  MeetingAttendee.person_id == person.id).with_for_update())
    if row is None:
        raise PermissionDenied(f"您不在这次会议的应到名单上，签到不计入到会人数。需要参加请联系{_who_to_ask(db, meeting)}。")
    if row.checked_in_at is not None:
        return CheckIn.ALREADY
    row.checked_in_at = now
    db.flush()
    return CheckIn.DONE


def attendance(db: Session, meeting: Meeting) -> Attendance:
    """Expected, present, stakeholders present and the names of those missing."""
    rows = db.execute(
        select(MeetingAttendee.kind, MeetingAttendee.checked_in_at, Person)
        .join(Person, Person.id == MeetingAttendee.person_id)
        .where(MeetingAttendee.meeting_id == meeting.id)
        .order_by(MeetingAttendee.id)
    ).all()
    present = [r for r in rows if r.checked_in_at is not None]
    return Attendance(
        expected=len(rows),
        present=len(present),
        stakeholders_present=sum(1 for r in present if r.kind == AttendeeKind.STAKEHOLDER),
        missing=[r.Person.display_name for r in rows if r.checked_in_at is None],
    )


def may_chair(db: Session, meeting: Meeting, person: Person) -> bool:
    """The meeting's chair, or, when none is named, a convenor or chair of its organisation."""
    if meeting.chair_id is not None:
        return meeting.chair_id == person.id
    return people.has_role(db, person, meeting.org, *CHAIR_ROLES)


def require_chair(db: Session, meeting: Meeting, person: Person) -> None:
    """Refuse anyone but the chair, naming who chairs."""
    if may_chair(db, meeting, person):
        return
    if meeting.chair_id is not None:
        chair = db.get(Person, meeting.chair_id)
        raise PermissionDenied(f"这次会议由{chair.display_name if chair else '主持人'}主持，只有主持人可以这样做。")
    raise PermissionDenied(f"只有{meeting.org.name}的召集人或会议主持人可以这样做。")


def _need(total: int, ratio: Fraction) -> int:
    """The smallest head count that reaches the ratio of the total."""
    return -(-ratio.numerator * total // ratio.denominator)


def quorum_refusal(att: Attendance, settings: Settings, has_topic: bool) -> str | None:
    """Why the meeting cannot open yet (R-MEET-3, R-MEET-4), or None."""
    rules = settings.rules
    if att.expected == 0:
        return "这次会议没有应到人员名单，不能开会。请召集人先确定应到人员。"
    if att.ratio < rules.quorum_ratio:
        need = _need(att.expected, rules.quorum_ratio)
        return (f"应到 {att.expected} 人，已到 {att.present} 人，不足{_ratio_words(rules.quorum_ratio)}"
                f"（至少要到 {need} 人），还不能开会。")
    if has_topic and att.stakeholder_share < rules.stakeholder_min_ratio:
        need = _need(att.present, rules.stakeholder_min_ratio)
        return (f"到会 {att.present} 人中利益相关方代表 {att.stakeholders_present} 人，不足"
                f"{_ratio_words(rules.stakeholder_min_ratio)}（至少要 {need} 人），还不能开会。")
    return None


def _ratio_words(ratio: Fraction) -> str:
    """2/3 as 三分之二, 1/2 as 一半 (a percentage for larger terms)."""
    if ratio == Fraction(1, 2):
        return "一半"
    if ratio >= 1:
        return "全部"
    if ratio.denominator <= 10:
        return f"{CHINESE_DIGITS[ratio.denominator]}分之{CHINESE_DIGITS[ratio.numerator]}"
    return _percent(ratio)


def attendance_text(att: Attendance, limit: int = 20) -> str:
    """应到、实到、比例 and who is missing, for the chair."""
    lines = [f"应到 {att.expected} 人，已到 {att.present} 人（{_percent(att.ratio)}），"
             f"其中利益相关方代表 {att.stakeholders_present} 人。"]
    if att.missing:
        shown = "、".join(att.missing[:limit]) + (f" 等 {len(att.missing)} 人" if len(att.missing) > limit else "")
        lines.append(f"未到：{shown}")
    return "\n".join(lines)


def _percent(ratio: Fraction) -> str:
    return f"{round(float(ratio) * 100)}%"


def open_meeting(db: Session, meeting: Meeting, actor: Person, now: datetime, settings: Settings) -> Attendance:
    """Open the meeting at quorum and tell every attendee the attendance (X-13.4)."""
    require_chair(db, meeting, actor)
    if meeting.status == MeetingStatus.OPEN:
        raise Conflict("会议已经开始了。")
    if meeting.status != MeetingStatus.SCHEDULED:
        raise Conflict("这次会议已经结束或取消了。")
    earliest = meeting.starts_at - timedelta(minutes=settings.rules.open_early_minutes)
    if now < earliest:
        raise InvalidInput(f"会议最早 {local_time(earliest, settings.tz)} 才能开始。")
    att = attendance(db, meeting)
    refusal = quorum_refusal(att, settings, meeting.topic_id is not None)
    if refusal:
        raise InvalidInput(refusal)
    meeting.status, meeting.opened_at = MeetingStatus.OPEN, now
    tell_attendees(db, meeting, f"会议开始：{meeting.title}", f"【会议开始】{meeting.title}\n{attendance_text(att)}",
                   now, f"meeting-open:{meeting.id}")
    return att


def tell_attendees(db: Session, meeting: Meeting, title: str, body: str, now: datetime, key: str) -> None:
    """Push one message to every expected attendee (once per key), through the outbox's attendees audience."""
    outbox.create_notice(db, org=meeting.org, kind=NoticeKind.MEETING_NOTICE, audience=Audience.ATTENDEES,
                         title=title[:200], body=body, now=now, topic=meeting.topic, meeting_id=meeting.id,
                         source_key=key)


def chair_meeting(db: Session, person: Person, now: datetime, code: str = "", *,
                  roles: tuple[Role, ...] = CHAIR_ROLES, include_closed: bool = False) -> Meeting:
    """The meeting this person runs: the one named by its code, else an open one, else the nearest scheduled."""
    if code:
        meeting = find_by_code(db, code)
        if Role.SECRETARY not in roles:  # minutes check their own right (the secretary, or the chair)
            require_chair(db, meeting, person)
        return meeting
    org_ids = [o.id for o in people.role_orgs(db, person, *roles)]
    mine = (Meeting.chair_id == person.id) | Meeting.org_id.in_(org_ids)
    if Role.SECRETARY in roles:
        mine = mine | (Meeting.secretary_id == person.id)
    window = (now - timedelta(hours=12), now + timedelta(hours=24))
    statuses = [MeetingStatus.SCHEDULED] + ([MeetingStatus.CLOSED] if include_closed else [])
    candidates = db.scalars(select(Meeting).where(mine, (Meeting.status == MeetingStatus.OPEN) | (
        Meeting.status.in_(statuses) & Meeting.starts_at.between(*window)))).all()
    if not candidates:
        raise NotFound("您今天没有要主持的会议。要主持别的会议，请在关键词后面写上会议码（会议通知里有）。")
    running = [m for m in candidates if m.status is MeetingStatus.OPEN]
    if len(running) > 1:
        codes = "、".join(m.checkin_code or str(m.id) for m in running)
        raise InvalidInput(f"您有几个正在开的会议（会议码 {codes}），请在关键词后面写上会议码，例如：下一位 {running[0].checkin_code}。")
    return min(candidates, key=lambda m: (m.status is not MeetingStatus.OPEN, abs(m.starts_at - now)))


def looks_like_code(word: str) -> bool:
    """Whether a word has the shape of a meeting code (6 letters and digits)."""
    return len(word) == CODE_LENGTH and word.isascii() and word.isalnum()


def code_exists(db: Session, word: str) -> bool:
    """Whether a meeting has this code."""
    return db.scalar(select(Meeting.id).where(Meeting.checkin_code == word.upper())) is not None


def meeting_duties(db: Session, person: Person, now: datetime) -> frozenset[Role]:
    """CHAIR and/or SECRETARY when this person was named so for a meeting not yet closed (X-13.1, 13.2)."""
    recently_closed = (Meeting.status == MeetingStatus.CLOSED) & (Meeting.closed_at > now - timedelta(hours=24))
    rows = db.execute(select(Meeting.chair_id, Meeting.secretary_id, Meeting.status).where(
        (Meeting.chair_id == person.id) | (Meeting.secretary_id == person.id),
        Meeting.status.in_((MeetingStatus.SCHEDULED, MeetingStatus.OPEN)) | recently_closed)).all()
    duties = {Role.CHAIR for r in rows if r.chair_id == person.id and r.status is not MeetingStatus.CLOSED}
    duties |= {Role.SECRETARY for r in rows if r.secretary_id == person.id}
    return frozenset(duties)


QR_SCENE_PREFIX = "m_"
QR_MAX_SECONDS = 30 * 24 * 3600  # WeChat's longest temporary QR code


def qr_request(meeting: Meeting, now: datetime) -> dict[str, object]:
    """The body of WeChat's qrcode/create for a temporary code that checks the scanner in."""
    lasts = int((meeting.starts_at - now).total_seconds()) + 24 * 3600
    return {"expire_seconds": max(60, min(lasts, QR_MAX_SECONDS)), "action_name": "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": QR_SCENE_PREFIX + (meeting.checkin_code or "")}}}


def code_from_scene(scene: str | None) -> str | None:
    """The meeting code in a scanned meeting QR scene, or None."""
    if scene and scene.startswith(QR_SCENE_PREFIX):
        return scene[len(QR_SCENE_PREFIX):]
    return None
