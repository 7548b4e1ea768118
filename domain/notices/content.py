"""What one push says, independent of the channel: the full text and the short fields of a template."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy.orm import Session

from domain.notices.texts import display_title, fmt_until, full_text, reply_hint, shorten
from models import Meeting, Notice, NoticeKind, Organisation


@dataclass(frozen=True)
class PushContent:
    """A push: ``text`` for channels that carry full text, the other fields for template messages."""

    title: str  # 事项
    when: datetime  # 时间: the meeting's start, else when the notice was published
    where: str  # 地点 (meeting place) or the organisation's name
    note: str  # 说明: the public window, or what to do
    hint: str  # 回复: the keyword that shows the whole notice
    text: str  # the whole notice plus the hint


def push_content(db: Session, notice: Notice, tz: tzinfo) -> PushContent:
    """Compose a notice's push: what, when, where, what to do and the keyword to reply with."""
    org = db.get(Organisation, notice.org_id)
    assert org is not None
    meeting = db.get(Meeting, notice.meeting_id) if notice.meeting_id else None
    hint = reply_hint(notice, org)
    when = meeting.starts_at if meeting is not None else (notice.public_from or notice.created_at)
    where = meeting.place if meeting is not None else org.name
    if notice.public_until is not None:
        note = f"{notice.kind.label}至{fmt_until(notice.public_until, tz)}"
    elif meeting is not None and notice.kind is NoticeKind.MEETING_NOTICE:
        note = "请准时参加"
    else:
        note = shorten(notice.body, 20)
    return PushContent(title=display_title(notice), when=when, where=where, note=note, hint=hint,
                       text=f"{full_text(notice, org, tz)}\n{hint}。")


def notice_content(db: Session, notice_id: int, tz: tzinfo) -> PushContent:
    """The push of a notice by id (the sender caches it: every recipient gets the same words)."""
    notice = db.get(Notice, notice_id)
    assert notice is not None
    return push_content(db, notice, tz)
