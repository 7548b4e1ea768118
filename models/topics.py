"""Topics (议题), their co-signers, their audit trail (R-TOPIC-1..8, hash-chained per organisation) and 代办 sessions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, CreatedAt, enum_type
from models.orgs import Organisation
from models.people import Person


class TopicState(enum.StrEnum):
    """Where a topic stands in its life (domain/topic_states.py holds the transitions)."""

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
    CONFIRMED = "confirmed"  # 结果已确认 (same-level party organisation, R-RES-1); filed upward at once
    IMPLEMENTING = "implementing"  # 落实中
    IMPLEMENTED = "implemented"  # 已落实
    EVALUATED = "evaluated"  # 已评价
    WITHDRAWN = "withdrawn"  # 已撤回

    @property
    def label(self) -> str:
        """The Chinese name of the state."""
        return TOPIC_STATE_LABELS[self]


TOPIC_STATE_LABELS = {
    TopicState.REGISTERED: "已登记",
    TopicState.SCREENING: "筛选中",
    TopicState.SUBMITTED: "待党组织审核",
    TopicState.REVIEWED: "待镇党委批准",
    TopicState.APPROVED: "已批准",
    TopicState.RETURNED: "已退回",
    TopicState.RESEARCHED: "已调研",
    TopicState.NOTICED: "已公示",
    TopicState.CONSULTED: "已协商",
    TopicState.CONSENSUS: "达成共识",
    TopicState.BASIC_CONSENSUS: "基本达成共识",
    TopicState.NO_CONSENSUS: "未达成共识",
    TopicState.CONFIRMED: "结果已确认",
    TopicState.IMPLEMENTING: "落实中",
    TopicState.IMPLEMENTED: "已落实",
    TopicState.EVALUATED: "已评价",
    TopicState.WITHDRAWN: "已撤回",
}


class TopicSource(enum.StrEnum):
    """Where a topic came from (R-TOPIC-1, L: 党委政府点题、委员荐题、群众出题、公开征集)."""

    PARTY_GOVERNMENT = "party_government"  # 党委政府点题
    MEMBER = "member"  # 委员荐题
    RESIDENT = "resident"  # 群众出题
    OPEN_CALL = "open_call"  # 公开征集

    @property
    def label(self) -> str:
        """The Chinese name of the source."""
        return TOPIC_SOURCE_LABELS[self]


TOPIC_SOURCE_LABELS = {
    TopicSource.PARTY_GOVERNMENT: "党委政府点题",
    TopicSource.MEMBER: "委员荐题",
    TopicSource.RESIDENT: "群众出题",
    TopicSource.OPEN_CALL: "公开征集",
}


class ScreeningMethod(enum.StrEnum):
    """How a topic is screened before it goes to a meeting (R-TOPIC-3, X-11)."""

    QUESTIONNAIRE = "questionnaire"  # 问卷调查
    DIALOGUE = "dialogue"  # 直接对话
    GROUP = "group"  # 小组协商
    HEARING = "hearing"  # 听证
    ONLINE_VOTE = "online_vote"  # 网络投票

    @property
    def label(self) -> str:
        """The Chinese name of the method."""
        return SCREENING_LABELS[self]


SCREENING_LABELS = {
    ScreeningMethod.QUESTIONNAIRE: "问卷调查",
    ScreeningMethod.DIALOGUE: "直接对话",
    ScreeningMethod.GROUP: "小组协商",
    ScreeningMethod.HEARING: "听证",
    ScreeningMethod.ONLINE_VOTE: "网络投票",
}


class Topic(CreatedAt, Base):
    """A proposed consultation topic, numbered per organisation and year (e.g. 2026-007)."""

    __tablename__ = "topics"
    __table_args__ = (
        UniqueConstraint("org_id", "number"),
        UniqueConstraint("org_id", "year", "seq"),
        # Same person, same text, same local day (the day is part of the hash): one topic.
        UniqueConstraint("proposer_id", "text_hash"),
        Index("ix_topics_created_at", "created_at"),  # the result-notices sweep: topics of the last days
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    year: Mapped[int]  # calendar year in the configured time zone
    seq: Mapped[int]  # number within the organisation and year
    number: Mapped[str] = mapped_column(String(16))  # "2026-007"
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[TopicSource] = mapped_column(enum_type(TopicSource), default=TopicSource.RESIDENT)
    state: Mapped[TopicState] = mapped_column(enum_type(TopicState), default=TopicState.REGISTERED, index=True)
    proposer_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    proposed_by_proxy_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # 代办: who typed it
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # CLI: who entered it
    text_hash: Mapped[str] = mapped_column(String(64))  # duplicate check: same person, same text, same day
    screening_method: Mapped[ScreeningMethod | None] = mapped_column(enum_type(ScreeningMethod))
    screening_ref: Mapped[str | None] = mapped_column(String(60))  # questionnaire / poll number, as text
    research_note: Mapped[str | None] = mapped_column(Text)
    result_note: Mapped[str | None] = mapped_column(Text)
    return_reason: Mapped[str | None] = mapped_column(Text)
    reconsult_count: Mapped[int] = mapped_column(default=0)
    noticed_at: Mapped[datetime | None]
    consulted_at: Mapped[datetime | None]
    audit_head: Mapped[str | None] = mapped_column(String(64))  # hash of this topic's latest event
    version: Mapped[int] = mapped_column(default=1)  # optimistic lock: concurrent approvals

    org: Mapped[Organisation] = relationship()
    proposer: Mapped[Person] = relationship(foreign_keys=[proposer_id])
    proxy: Mapped[Person | None] = relationship(foreign_keys=[proposed_by_proxy_id])
    cosigners: Mapped[list[TopicCosigner]] = relationship(back_populates="topic", order_by="TopicCosigner.id")

    __mapper_args__ = {"version_id_col": version}

    @property
    def ref(self) -> str:
        """The number qualified by the organisation's name, as a villager types it (``东风村2026-007``)."""
        return f"{self.org.name}{self.number}"


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
    proxy: Mapped[Person | None] = relationship(foreign_keys=[by_proxy_id])


class TopicEvent(Base):
    """One recorded transition (R-TOPIC-8): append-only, each row carrying the previous row's hash.

    One chain per organisation (the topic's), in id order; ids are drawn under the organisation's
    transaction-level advisory lock (domain/audit.py), so id order within an organisation is chain order.
    """

    __tablename__ = "topic_events"
    __table_args__ = (
        Index("ix_topic_events_topic", "topic_id", "id"),
        Index("ix_topic_events_org", "org_id", "id"),  # the organisation's chain: its last hash, verify
        Index("ix_topic_events_at", "at"),  # the result-notices sweep: transitions of the last days
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))  # the topic's: whose chain it is on
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime]
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    topic: Mapped[Topic] = relationship()
    actor: Mapped[Person | None] = relationship(foreign_keys=[actor_id])
    on_behalf_of: Mapped[Person | None] = relationship(foreign_keys=[on_behalf_of_id])


class ProxySession(Base):
    """代办: a grid worker or cadre acting for a villager who asked them; one row per session (the audit)."""

    __tablename__ = "proxy_sessions"
    __table_args__ = (Index("ix_proxy_sessions_agent_open", "agent_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    villager_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    agent_role: Mapped[str] = mapped_column(String(24))  # the role that allowed it (grid_worker / convenor)
    started_at: Mapped[datetime]
    idle_minutes: Mapped[int]
    expires_at: Mapped[datetime]  # moves forward each time the agent acts (idle timeout)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(16))  # ended | expired | replaced

    org: Mapped[Organisation] = relationship()
    agent: Mapped[Person] = relationship(foreign_keys=[agent_id])
    villager: Mapped[Person] = relationship(foreign_keys=[villager_id])
