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

    org: Mapped[Organisation] = relationship()
    topic: Mapped[Topic | None] = relationship()
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
