"""Topics (议题), their co-signers and their append-only, hash-chained audit trail (R-TOPIC-1..8)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, CreatedAt, enum_type
from models.orgs import Organisation
from models.people import Person


class TopicState(enum.StrEnum):
    """Where a topic stands in its life (see domain/topics.py for the transitions)."""

    REGISTERED = "registered"  # 已登记
    SCREENING = "screening"  # 筛选中 (questionnaire / poll attached)
    SUBMITTED = "submitted"  # 已报党组织审核
    REVIEWED = "reviewed"  # 村党组织已审核，待乡镇党委批准
    APPROVED = "approved"  # 已批准
    RETURNED = "returned"  # 已退回
    RESEARCHED = "researched"  # 已调研
    NOTICED = "noticed"  # 已公示
    CONSULTED = "consulted"  # 已协商 (meeting held, result pending)
    CONSENSUS = "consensus"  # 达成共识
    BASIC_CONSENSUS = "basic_consensus"  # 基本达成共识
    NO_CONSENSUS = "no_consensus"  # 未达成共识
    IMPLEMENTING = "implementing"  # 落实中
    IMPLEMENTED = "implemented"  # 已落实
    EVALUATED = "evaluated"  # 已评价
    WITHDRAWN = "withdrawn"  # 已撤回


class TopicSource(enum.StrEnum):
    """Where a topic came from (R-TOPIC-1, L: 党委政府点题、委员荐题、群众出题、公开征集)."""

    PARTY_GOVERNMENT = "party_government"  # 党委政府点题
    MEMBER = "member"  # 委员荐题
    RESIDENT = "resident"  # 群众出题
    OPEN_CALL = "open_call"  # 公开征集


class Topic(CreatedAt, Base):
    """A proposed consultation topic, numbered per organisation and year (e.g. 2026-007)."""

    __tablename__ = "topics"
    __table_args__ = (UniqueConstraint("org_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    number: Mapped[str] = mapped_column(String(16))  # "2026-007"
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[TopicSource] = mapped_column(enum_type(TopicSource), default=TopicSource.RESIDENT)
    state: Mapped[TopicState] = mapped_column(enum_type(TopicState), default=TopicState.REGISTERED, index=True)
    proposer_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    proposed_by_proxy_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # 代办: who typed it
    text_hash: Mapped[str] = mapped_column(String(64))  # duplicate check: same person, same text, same day
    research_note: Mapped[str | None] = mapped_column(Text)
    result_note: Mapped[str | None] = mapped_column(Text)
    return_reason: Mapped[str | None] = mapped_column(Text)
    reconsult_count: Mapped[int] = mapped_column(default=0)
    noticed_at: Mapped[datetime | None]
    consulted_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)  # optimistic lock: concurrent approvals

    org: Mapped[Organisation] = relationship()
    proposer: Mapped[Person] = relationship(foreign_keys=[proposer_id])
    cosigners: Mapped[list[TopicCosigner]] = relationship(back_populates="topic", order_by="TopicCosigner.id")

    __mapper_args__ = {"version_id_col": version}


class TopicCosigner(CreatedAt, Base):
    """A joint proposer (联名), once per person per topic."""

    __tablename__ = "topic_cosigners"
    __table_args__ = (UniqueConstraint("topic_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    by_proxy_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    topic: Mapped[Topic] = relationship(back_populates="cosigners")
    person: Mapped[Person] = relationship(foreign_keys=[person_id])


class TopicEvent(Base):
    """One recorded transition (R-TOPIC-8): append-only, each row carrying the previous row's hash."""

    __tablename__ = "topic_events"
    __table_args__ = (Index("ix_topic_events_topic", "topic_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime]
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
