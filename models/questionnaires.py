"""Questionnaires (问卷调查, R-TOPIC-3): questions, invitees, one response per person, one answer per question."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, CreatedAt, enum_type
from models.orgs import Organisation
from models.outbox import Audience


class QuestionKind(enum.StrEnum):
    """How a question is answered."""

    SINGLE = "single"  # 单选
    MULTIPLE = "multiple"  # 多选
    RATING = "rating"  # 打分 1–5
    TEXT = "text"  # 文字

    @property
    def label(self) -> str:
        """The Chinese name shown with each question."""
        return QUESTION_KIND_LABELS[self]


QUESTION_KIND_LABELS = {
    QuestionKind.SINGLE: "单选",
    QuestionKind.MULTIPLE: "多选",
    QuestionKind.RATING: "打分",
    QuestionKind.TEXT: "填写",
}


class Questionnaire(CreatedAt, Base):
    """A questionnaire numbered per organisation (问卷 1, 2, 3 …), open between two instants."""

    __tablename__ = "questionnaires"
    __table_args__ = (UniqueConstraint("org_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    intro: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[Audience] = mapped_column(enum_type(Audience))  # followers | members | named
    anonymous: Mapped[bool] = mapped_column(default=False)
    allow_changes: Mapped[bool] = mapped_column(default=False)
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime] = mapped_column(index=True)
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    finalized_at: Mapped[datetime | None] = mapped_column(index=True)  # anonymised, convenors told
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    org: Mapped[Organisation] = relationship()
    questions: Mapped[list[Question]] = relationship(
        back_populates="questionnaire", order_by="Question.position"
    )


class Question(Base):
    """One question, numbered from 1 in the order asked."""

    __tablename__ = "questionnaire_questions"
    __table_args__ = (UniqueConstraint("questionnaire_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    kind: Mapped[QuestionKind] = mapped_column(enum_type(QuestionKind))
    prompt: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(default=True)
    max_choices: Mapped[int | None]  # multiple choice: at most this many
    max_chars: Mapped[int | None]  # free text: at most this many characters

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="questions")


class QuestionnaireInvitee(Base):
    """A person named in the audience of a questionnaire for named people."""

    __tablename__ = "questionnaire_invitees"

    questionnaire_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaires.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True, index=True)


class QuestionnaireResponse(Base):
    """One person's answer sheet; ``person_id`` is cleared when an anonymous questionnaire closes."""

    __tablename__ = "questionnaire_responses"
    __table_args__ = (UniqueConstraint("questionnaire_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    by_proxy_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # 代办: who typed it
    started_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]

    answers: Mapped[list[QuestionnaireAnswer]] = relationship(back_populates="response")


class QuestionnaireAnswer(Base):
    """The answer to one question, written as soon as it is given; unique per (response, question)."""

    __tablename__ = "questionnaire_answers"
    __table_args__ = (UniqueConstraint("response_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_responses.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_questions.id", ondelete="CASCADE"))
    choices: Mapped[list[int] | None] = mapped_column(ARRAY(SmallInteger))  # single / multiple
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    text: Mapped[str | None] = mapped_column(Text)
    skipped: Mapped[bool] = mapped_column(default=False)
    answered_at: Mapped[datetime]

    response: Mapped[QuestionnaireResponse] = relationship(back_populates="answers")
