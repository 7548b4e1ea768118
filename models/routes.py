"""Where a topic's result was sent beyond its council (R-RES-5, X-14): up a level, to the party, to the CPPCC."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, enum_type
from models.orgs import Organisation
from models.people import Person
from models.topics import Topic, TopicEvent


class RouteKind(enum.StrEnum):
    """How a topic leaves its council: up the tree, or (without consensus) to the party or the CPPCC."""

    UP = "up"  # 上报上一级 (village → township → county → city, L-三(六))
    PARTY = "party"  # 提交同级党组织决策参考
    PROPOSAL = "proposal"  # 政协委员提案，报县（市）区政协
    OPINION = "opinion"  # 社情民意信息，报县（市）区政协

    @property
    def label(self) -> str:
        """The Chinese name of the route."""
        return ROUTE_LABELS[self]


ROUTE_LABELS = {
    RouteKind.UP: "上报",
    RouteKind.PARTY: "转党组织决策参考",
    RouteKind.PROPOSAL: "转政协提案",
    RouteKind.OPINION: "转社情民意",
}


class TopicRoute(Base):
    """One route of one topic: from which organisation to which, why, by whom (its audit event)."""

    __tablename__ = "topic_routes"
    __table_args__ = (
        Index("ix_topic_routes_to_org", "to_org_id", "id"),  # the receiving level's list
        Index("ix_topic_routes_topic", "topic_id", "id"),  # where a topic is held now
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"))
    kind: Mapped[RouteKind] = mapped_column(enum_type(RouteKind))
    from_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    to_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("topic_events.id"))
    at: Mapped[datetime]

    topic: Mapped[Topic] = relationship()
    from_org: Mapped[Organisation] = relationship(foreign_keys=[from_org_id])
    to_org: Mapped[Organisation] = relationship(foreign_keys=[to_org_id])
    actor: Mapped[Person | None] = relationship(foreign_keys=[actor_id])
    event: Mapped[TopicEvent] = relationship()
