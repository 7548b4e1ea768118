"""Participation records, platforms and each room's 六有 (R-ORG-2, R-ORG-3, R-ORG-6, R-ORG-7).

What meetings, topics and polls record is read where it lies (``meeting_attendees``, ``meeting_speeches``,
``topics``, ``topic_cosigners``, ``poll_voters``); these tables hold only what nothing else records:
council terms (entry and exit, X-三(四)), training, the platforms of L-三(一) with their liaising CPPCC
members (L-四(二)), a joint room's villages, a mobile room's schedule, and the entered 六有 items.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, CreatedAt, enum_type
from models.orgs import Organisation, PlatformKind
from models.people import Person


class CouncilTerm(CreatedAt, Base):
    """One stint of a person on an organisation's council: entry and exit dates (X-三(四) 产生退出)."""

    __tablename__ = "council_terms"
    __table_args__ = (
        Index("uq_council_terms_open", "person_id", "org_id", unique=True, postgresql_where=text("exited_on IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    entered_on: Mapped[date] = mapped_column(Date)
    exited_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")

    person: Mapped[Person] = relationship()
    org: Mapped[Organisation] = relationship()


class TrainingRecord(CreatedAt, Base):
    """A training a person attended (学习培训, X-三(四), L-四(二)), entered by an administrator."""

    __tablename__ = "training_records"
    __table_args__ = (UniqueConstraint("person_id", "org_id", "held_on", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))

    person: Mapped[Person] = relationship()
    org: Mapped[Organisation] = relationship()


class Platform(CreatedAt, Base):
    """A consultation platform of an organisation (L-三(一)), numbered within it (平台 1, 2 …)."""

    __tablename__ = "platforms"
    __table_args__ = (UniqueConstraint("org_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    number: Mapped[int]
    kind: Mapped[PlatformKind] = mapped_column(enum_type(PlatformKind))
    name: Mapped[str] = mapped_column(String(100))
    place: Mapped[str] = mapped_column(String(200), default="")

    org: Mapped[Organisation] = relationship()


class PlatformVillage(Base):
    """A village (community) a joint room serves (联合协商议事室)."""

    __tablename__ = "platform_villages"

    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True, index=True)

    org: Mapped[Organisation] = relationship()


class PlatformStop(Base):
    """One date and place on a mobile room's schedule (流动协商议事室)."""

    __tablename__ = "platform_stops"
    __table_args__ = (UniqueConstraint("platform_id", "on_date", "place"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"), index=True)
    on_date: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200))


class PlatformLiaison(CreatedAt, Base):
    """A CPPCC member liaising with a platform (L-四(二)); ``ended_at`` keeps the history."""

    __tablename__ = "platform_liaisons"
    __table_args__ = (
        Index("uq_platform_liaisons_active", "platform_id", "person_id", unique=True,
              postgresql_where=text("ended_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    ended_at: Mapped[datetime | None]
    granted_convenor: Mapped[bool] = mapped_column(default=False)  # we made them 第二召集人

    platform: Mapped[Platform] = relationship()
    person: Mapped[Person] = relationship()


class SixHaveEntry(CreatedAt, Base):
    """An entered 六有 item of a room (制度, 场所, 标识; L-三(一)): the latest row per item counts."""

    __tablename__ = "six_have_entries"
    __table_args__ = (Index("ix_six_have_entries_org_item", "org_id", "item", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    item: Mapped[str] = mapped_column(String(12))  # rules | place | sign
    present: Mapped[bool] = mapped_column(default=True)
    note: Mapped[str] = mapped_column(Text, default="")
