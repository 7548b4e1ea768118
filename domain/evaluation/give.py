"""Giving an evaluation: who may give which kind, once per person, kind and aspect, changeable within
``rules.rating_change_days``; the party comment or the organiser's analysis moves 已落实 → 已评价."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.errors import Conflict, InvalidInput, PermissionDenied
from domain.orgs import people
from domain.topics import audit
from domain.topics import operations as topics
from domain.topics.scope import may_cosign
from domain.topics.states import IllegalTransition
from models import Evaluation, EvaluationAspect, EvaluationKind, Person, Role, Topic, TopicState

if TYPE_CHECKING:
    from domain.settings import Settings

logger = logging.getLogger(__name__)

K = EvaluationKind
EVALUABLE = frozenset({TopicState.IMPLEMENTED, TopicState.EVALUATED})  # 已落实 and beyond
ROLE_OF = {K.PARTY_COMMENT: Role.PARTY_REVIEWER, K.MEMBER_REVIEW: Role.MEMBER, K.ORGANISER_ANALYSIS: Role.CONVENOR}
MOVES_TO_EVALUATED = frozenset({K.PARTY_COMMENT, K.ORGANISER_ANALYSIS})  # through the table's "evaluate"
SCORED = frozenset({K.RESIDENT_RATING, K.MEMBER_REVIEW})
VERB = {K.RESIDENT_RATING: "评价", K.MEMBER_REVIEW: "评议", K.PARTY_COMMENT: "点评", K.ORGANISER_ANALYSIS: "评析"}


@dataclass(frozen=True)
class Given:
    """What happened: ``new`` (first time), ``changed`` (within the window) or ``same`` (nothing new)."""

    evaluation: Evaluation
    outcome: str
    evaluated_now: bool = False  # this evaluation moved the topic 已落实 → 已评价


def check_evaluable(topic: Topic) -> None:
    """Refuse a topic that is not implemented yet."""
    if topic.state not in EVALUABLE:
        raise IllegalTransition(f"议题 {topic.number} 现在“{topic.state.label}”，还没有落实。落实以后才能评价。")


def check_words(text: str, settings: Settings, *, required: bool, usage: str) -> str:
    """The cleaned comment, or a clear refusal (missing when required, too long)."""
    cleaned = (text or "").strip()
    if required and not cleaned:
        raise InvalidInput(usage)
    limit = settings.rules.topic_max_chars
    if len(cleaned) > limit:
        raise InvalidInput(f"意见太长了（{len(cleaned)} 字），请控制在 {limit} 字以内。")
    return cleaned


def check_score(score: int | None, kind: EvaluationKind) -> None:
    """Ratings and reviews carry 1–5; comments and analyses none."""
    if kind in SCORED and (score is None or not 1 <= score <= 5):
        raise InvalidInput("请打 1 到 5 分：5 分最满意，1 分最不满意。")
    if kind not in SCORED and score is not None:
        raise InvalidInput("点评和评析不打分，直接写意见就行。")


def rate(db: Session, topic: Topic, person: Person, score: int, text: str, now: datetime, *, settings: Settings,
         agent: Person | None = None) -> Given:
    """A resident's rating (群众评价) of an implemented topic of their own organisation."""
    people.require_home(person)
    if not may_cosign(person, topic.org):  # own village; for a township topic, a village below it
        raise PermissionDenied(f"只有{topic.org.name}的群众可以评价议题 {topic.number}。")
    return _give(db, topic, person, K.RESIDENT_RATING, EvaluationAspect.OVERALL, score, text, now, settings, agent)


def comment(db: Session, topic: Topic, actor: Person, kind: EvaluationKind, text: str, now: datetime, *,
            settings: Settings, aspect: EvaluationAspect = EvaluationAspect.OVERALL, score: int | None = None) -> Given:
    """A party comment, a member's review or the organiser's analysis, by the role in the topic's organisation."""
    kind = EvaluationKind(kind)
    if kind is K.RESIDENT_RATING:
        raise InvalidInput("群众评价请用“评价 编号 分数”。")
    role = ROLE_OF[kind]
    if not people.has_role(db, actor, topic.org, role):
        raise PermissionDenied(f"只有{topic.org.name}的{role.label}可以{VERB[kind]}议题 {topic.number}。")
    return _give(db, topic, actor, kind, EvaluationAspect(aspect), score, text, now, settings, None)


def _give(db: Session, topic: Topic, author: Person, kind: EvaluationKind, aspect: EvaluationAspect,
          score: int | None, text: str, now: datetime, settings: Settings, agent: Person | None) -> Given:
    check_score(score, kind)
    if kind in MOVES_TO_EVALUATED:
        audit.lock(db, topic.org_id)  # the state below is read, and maybe moved, under the organisation's lock
        db.refresh(topic)
    check_evaluable(topic)
    values = {"topic_id": topic.id, "org_id": topic.org_id, "author_id": author.id, "kind": kind.value,
              "aspect": aspect.value, "score": score, "text": text, "changes": 0, "created_at": now,
              "by_proxy_id": agent.id if agent else None}
    new_id = db.scalar(insert(Evaluation).values(**values).on_conflict_do_nothing(
        constraint="uq_topic_evaluations_topic_id_author_id_kind_aspect").returning(Evaluation.id))
    if new_id is not None:
        given = db.get(Evaluation, new_id)
        assert given is not None
        moved = _maybe_evaluate(db, topic, author, kind, text, now)
        logger.info("evaluation %s (%s) of topic %s", new_id, kind.value, topic.id)
        return Given(given, "new", moved)
    # An earlier one exists (maybe committed a moment ago by a copy of this message): change it in place.
    earlier = db.scalars(select(Evaluation).where(
        Evaluation.topic_id == topic.id, Evaluation.author_id == author.id, Evaluation.kind == kind,
        Evaluation.aspect == aspect).with_for_update().execution_options(populate_existing=True)).one()
    if earlier.score == score and earlier.text == text:
        return Given(earlier, "same")
    window = timedelta(days=settings.rules.rating_change_days)
    if now > earlier.created_at + window:
        raise Conflict(f"您已经{VERB[kind]}过议题 {topic.number}（{_shown(earlier)}），"
                       f"给出 {settings.rules.rating_change_days} 天内可以修改，现在已经不能改了。")
    earlier.score, earlier.text = score, text
    earlier.changed_at, earlier.changes = now, earlier.changes + 1
    db.flush()
    return Given(earlier, "changed")


def _maybe_evaluate(db: Session, topic: Topic, author: Person, kind: EvaluationKind, text: str,
                    now: datetime) -> bool:
    if kind not in MOVES_TO_EVALUATED or topic.state is not TopicState.IMPLEMENTED:
        return False
    topics.evaluate(db, topic, author, now, f"{kind.label}：{text}")
    return True


def _shown(evaluation: Evaluation) -> str:
    return f"{evaluation.score} 分" if evaluation.score is not None else "已写意见"


def window_end(evaluation: Evaluation, settings: Settings) -> datetime:
    """Until when the evaluation may still be changed."""
    return evaluation.created_at + timedelta(days=settings.rules.rating_change_days)
