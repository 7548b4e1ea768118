"""Evaluations of an implemented topic (R-RES-6, L-三(九)): party comments, member reviews, residents'
ratings and the organiser's analysis, each of the process, the result or both."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, CreatedAt, enum_type
from models.orgs import Organisation
from models.people import Person
from models.topics import Topic


class EvaluationKind(enum.StrEnum):
    """The four ways of L-三(九): 党政点评、委员评议、群众评价、组织者评析."""

    PARTY_COMMENT = "party_comment"  # 党组织点评
    MEMBER_REVIEW = "member_review"  # 成员评议
    RESIDENT_RATING = "resident_rating"  # 群众评价
    ORGANISER_ANALYSIS = "organiser_analysis"  # 组织者评析

    @property
    def label(self) -> str:
        """The Chinese name of the kind."""
        return EVALUATION_KIND_LABELS[self]


EVALUATION_KIND_LABELS = {
    EvaluationKind.PARTY_COMMENT: "党组织点评",
    EvaluationKind.MEMBER_REVIEW: "成员评议",
    EvaluationKind.RESIDENT_RATING: "群众评价",
    EvaluationKind.ORGANISER_ANALYSIS: "组织者评析",
}


class EvaluationAspect(enum.StrEnum):
    """What an evaluation looks at: the process, the result, or both (结果评估与过程评估相结合)."""

    PROCESS = "process"  # 过程
    RESULT = "result"  # 结果
    OVERALL = "overall"  # 过程和结果

    @property
    def label(self) -> str:
        """The Chinese name of the aspect."""
        return {"process": "过程", "result": "结果", "overall": "整体"}[self.value]


class Evaluation(CreatedAt, Base):
    """One person's evaluation of one topic, of one kind and aspect; changed in place within the window.

    A resident's rating is always of the whole (aspect ``overall``), so the unique key makes it once per
    person per topic, even when two copies arrive at the same moment.
    """

    __tablename__ = "topic_evaluations"
    __table_args__ = (
        UniqueConstraint("topic_id", "author_id", "kind", "aspect"),
        CheckConstraint("score IS NULL OR score BETWEEN 1 AND 5", name="score_range"),
        Index("ix_topic_evaluations_org_kind", "org_id", "kind"),  # the supervisors' view: ratings per organisation
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))  # the topic's organisation
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    by_proxy_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # 代办: who typed it
    kind: Mapped[EvaluationKind] = mapped_column(enum_type(EvaluationKind))
    aspect: Mapped[EvaluationAspect] = mapped_column(enum_type(EvaluationAspect), default=EvaluationAspect.OVERALL)
    score: Mapped[int | None]  # 1–5 for ratings and member reviews; None for comments and analyses
    text: Mapped[str] = mapped_column(Text, default="")
    changed_at: Mapped[datetime | None]  # last change within the window (created_at stays the first giving)
    changes: Mapped[int] = mapped_column(default=0)

    topic: Mapped[Topic] = relationship()
    org: Mapped[Organisation] = relationship()
    author: Mapped[Person] = relationship(foreign_keys=[author_id])
