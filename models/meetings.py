"""Meetings (会议) and their expected attendees; the rules live in domain/meetings/."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, CreatedAt, enum_type
from models.orgs import Organisation
from models.people import Person
from models.topics import Topic


class MeetingStatus(enum.StrEnum):
    """A meeting's state; a moved meeting bumps ``version`` so old reminders go stale."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class MeetingForm(enum.StrEnum):
    """How a consultation is held (X-二(四), R-MEET-8)."""

    MEETING = "meeting"  # 会议协商
    DIALOGUE = "dialogue"  # 对话协商
    WRITTEN = "written"  # 书面协商
    ONLINE = "online"  # 网络协商, in the chat
    LINKED = "linked"  # 联动协商

    @property
    def label(self) -> str:
        """The Chinese name."""
        return {"meeting": "会议协商", "dialogue": "对话协商", "written": "书面协商", "online": "网络协商",
                "linked": "联动协商"}[self.value]


class AgendaStep(enum.StrEnum):
    """Where an open meeting stands on its topic (R-MEET-5, X-13.5–13.8)."""

    PRESENT = "present"  # 宣布议题
    PROPOSER = "proposer"  # 提议人首先发言
    CONSULT = "consult"  # 互动协商
    REVISE = "revise"  # 议题修订
    CONFIRM = "confirm"  # 提请确认

    @property
    def label(self) -> str:
        """The Chinese name of the step."""
        return {"present": "宣布议题", "proposer": "提议人发言", "consult": "互动协商", "revise": "议题修订",
                "confirm": "提请确认"}[self.value]


class Side(enum.StrEnum):
    """The view a speech or opinion takes (X-13.6: opposing sides alternate)."""

    FOR = "for"  # 支持
    AGAINST = "against"  # 反对
    OTHER = "other"  # 其他意见

    @property
    def label(self) -> str:
        """The Chinese word."""
        return {"for": "支持", "against": "反对", "other": "其他意见"}[self.value]


class SpeechStatus(enum.StrEnum):
    """Where a request for the floor stands."""

    QUEUED = "queued"
    SPEAKING = "speaking"
    DONE = "done"
    STOPPED = "stopped"  # the chair interrupted it
    WITHDRAWN = "withdrawn"


class AttendeeKind(enum.StrEnum):
    """Why someone is expected (R-ROLE-2, R-MEET-4)."""

    MEMBER = "member"
    STAKEHOLDER = "stakeholder"
    INVITED = "invited"


class Meeting(CreatedAt, Base):
    """A council meeting on one topic (or a general meeting when topic is empty)."""

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    place: Mapped[str] = mapped_column(String(200))
    material: Mapped[str] = mapped_column(Text, default="")  # R-MEET-2: what participants receive
    status: Mapped[MeetingStatus] = mapped_column(enum_type(MeetingStatus), default=MeetingStatus.SCHEDULED)
    version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    checkin_code: Mapped[str | None] = mapped_column(String(12), unique=True)  # 签到 <会议码>
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # none: the convenors
    secretary_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    form: Mapped[MeetingForm] = mapped_column(enum_type(MeetingForm), default=MeetingForm.MEETING)
    step: Mapped[AgendaStep | None] = mapped_column(enum_type(AgendaStep))
    online_until: Mapped[datetime | None]  # the window of an online consultation
    revised_text: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")  # the chair's summary of an online consultation
    confirm_method: Mapped[str] = mapped_column(String(20), default="")  # 鼓掌/举手/投票

    org: Mapped[Organisation] = relationship()
    topic: Mapped[Topic | None] = relationship()
    chair: Mapped[Person | None] = relationship(foreign_keys=[chair_id])
    attendees: Mapped[list[MeetingAttendee]] = relationship(back_populates="meeting")


class MeetingAttendee(Base):
    """An expected participant; ``checked_in_at`` set when they check in."""

    __tablename__ = "meeting_attendees"
    __table_args__ = (UniqueConstraint("meeting_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[AttendeeKind] = mapped_column(enum_type(AttendeeKind), default=AttendeeKind.MEMBER)
    checked_in_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")

    meeting: Mapped[Meeting] = relationship(back_populates="attendees")
    person: Mapped[Person] = relationship()


class Speech(Base):
    """A request for the floor, a turn at it, or an online opinion (``text``) (R-MEET-6)."""

    __tablename__ = "meeting_speeches"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    side: Mapped[Side] = mapped_column(enum_type(Side), default=Side.OTHER)
    status: Mapped[SpeechStatus] = mapped_column(enum_type(SpeechStatus), default=SpeechStatus.QUEUED)
    requested_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    overtime_told_at: Mapped[datetime | None]  # the speaker and chair were told time is up
    text: Mapped[str] = mapped_column(Text, default="")

    person: Mapped[Person] = relationship()


class MinuteEntry(Base):
    """One entry of a meeting's minutes (纪要), appended by its secretary."""

    __tablename__ = "meeting_minutes"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)

    author: Mapped[Person | None] = relationship()
