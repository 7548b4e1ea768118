"""The paperwork of a consultation (R-RES-4): opinion lists sent up and result feedback lists."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, CreatedAt
from models.meetings import Meeting
from models.orgs import Organisation
from models.people import Person
from models.topics import Topic


class OpinionList(CreatedAt, Base):
    """A meeting's 协商意见建议清单: numbered per organisation and year, sent to the upper level."""

    __tablename__ = "opinion_lists"
    __table_args__ = (UniqueConstraint("org_id", "year", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    year: Mapped[int]
    seq: Mapped[int]
    upper_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))  # where it was sent
    sent_at: Mapped[datetime | None]
    sent_count: Mapped[int] = mapped_column(default=0)  # 1 at 闭会, +1 for each resend
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    read_at: Mapped[datetime | None]  # the upper office opened it (清单 <编号>)
    read_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    meeting: Mapped[Meeting] = relationship()
    org: Mapped[Organisation] = relationship(foreign_keys=[org_id])
    upper_org: Mapped[Organisation | None] = relationship(foreign_keys=[upper_org_id])


class TopicFeedback(CreatedAt, Base):
    """One entry of a topic's 结果反馈清单: what the department did, who did it, by when (L-三(七))."""

    __tablename__ = "topic_feedbacks"
    __table_args__ = (UniqueConstraint("topic_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), index=True)
    seq: Mapped[int]  # 1, 2, … per topic
    done: Mapped[str] = mapped_column(Text)
    done_by: Mapped[str] = mapped_column(String(100))  # the person or unit that did it
    done_on: Mapped[date]  # when it was (or will be) done
    department_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # None: the administrator (CLI)
    recorded_at: Mapped[datetime]
    via: Mapped[str] = mapped_column(String(10))  # chat, cli

    topic: Mapped[Topic] = relationship()
    recorded_by: Mapped[Person | None] = relationship(foreign_keys=[recorded_by_id])
