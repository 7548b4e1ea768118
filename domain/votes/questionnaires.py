"""Questionnaires (问卷调查, R-TOPIC-3): answering one question at a time, closing (creating: questionnaire_create).

Every answer is written at once under the unique (response, question) key, so a dialog that
expires or is cancelled loses nothing: resuming starts at the first unanswered question,
computed from the database. An anonymous questionnaire's answer sheets lose their link to
people when it closes.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Select, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from domain.notices.outbox import push_to
from domain.votes import refs
from domain.votes.answers import parse_choices, parse_rating, parse_text
from domain.votes.audience import (
    audience_label,
    eligible_ids,
    is_in,
    may_manage,
    may_view,
    related_org_ids,
    why_not,
)
from domain.votes.tally import PollPhase
from models import (
    NoticeKind,
    Person,
    Question,
    QuestionKind,
    Questionnaire,
    QuestionnaireAnswer,
    QuestionnaireResponse,
    Role,
    RoleGrant,
)

if TYPE_CHECKING:
    from domain.settings import PollSettings

logger = logging.getLogger(__name__)
MAX_NUMBER = 1_000_000  # larger 'numbers' are typing slips (and overflow the column)


class Mode(enum.StrEnum):
    """Filling a sheet for the first time, or going through a submitted one to change it."""

    FILL = "fill"
    EDIT = "edit"


def phase(q: Questionnaire, now: datetime) -> PollPhase:
    """Upcoming, open or closed (closed once closes_at has passed or it was closed early)."""
    if q.closed_at is not None or q.closes_at <= now:
        return PollPhase.CLOSED
    return PollPhase.UPCOMING if q.opens_at > now else PollPhase.OPEN


def respondents_query(q: Questionnaire) -> Select[tuple[int]]:
    """Who may answer this questionnaire."""
    return eligible_ids(q.org, q.audience, questionnaire_id=q.id, as_of=q.opens_at)


def find_questionnaire(db: Session, person: Person, ref: str) -> Questionnaire:
    """The questionnaire a person means by '2' (home organisation first), '东风村2' or 'demo-v1-2'."""
    parsed = refs.parse(ref, "问卷")
    number = parsed.number
    org_ids = refs.named_orgs(db, parsed, related_org_ids(db, person), "问卷")
    found = list(db.scalars(select(Questionnaire).where(Questionnaire.org_id.in_(org_ids),
                                                        Questionnaire.number == number)))
    if parsed.org_code or parsed.org_name:
        found = [q for q in found if may_view(db, person, q.org)]
    found.sort(key=lambda q: org_ids.index(q.org_id) if q.org_id in org_ids else len(org_ids))
    if not found:
        shown = ref.strip() if parsed.org_code or parsed.org_name else number
        raise NotFound(f"没有找到问卷 {shown}。发送“问卷”查看可以填写的问卷。")
    if len(found) > 1:
        raise refs.ambiguous("问卷", number, [q.org for q in found])
    return found[0]


def response_of(db: Session, q: Questionnaire, person: Person) -> QuestionnaireResponse | None:
    """The person's answer sheet, if they started one."""
    return db.scalar(select(QuestionnaireResponse).where(QuestionnaireResponse.questionnaire_id == q.id,
                                                         QuestionnaireResponse.person_id == person.id))


def open_for(db: Session, person: Person, now: datetime) -> list[tuple[Questionnaire, QuestionnaireResponse | None]]:
    """Open questionnaires the person may answer, with their sheet so far."""
    org_ids = related_org_ids(db, person)
    rows = db.scalars(select(Questionnaire).where(Questionnaire.org_id.in_(org_ids), Questionnaire.closed_at.is_(None),
                                                  Questionnaire.closes_at > now, Questionnaire.opens_at <= now)
                      .order_by(Questionnaire.closes_at))
    return [(q, response_of(db, q, person)) for q in rows if is_in(db, person, respondents_query(q))]


def _require_open(q: Questionnaire, now: datetime) -> None:
    stage = phase(q, now)
    if stage is PollPhase.CLOSED:
        raise InvalidInput(f"问卷 {q.number} 已经结束了，谢谢关心。")
    if stage is PollPhase.UPCOMING:
        raise InvalidInput(f"问卷 {q.number} 还没开始。")


def begin(db: Session, q: Questionnaire, person: Person, now: datetime, *,
          by_proxy: Person | None = None) -> tuple[QuestionnaireResponse, Mode, int | None]:
    """Start or resume: the sheet, the mode and the position to ask (None: everything is answered)."""
    _require_open(q, now)
    if not is_in(db, person, respondents_query(q)):
        raise PermissionDenied(why_not(db, person, q.org, q.audience, q.opens_at, "问卷")
                               or f"问卷 {q.number} 只请{audience_label(q.org, q.audience)}填写。")
    db.execute(insert(QuestionnaireResponse).values(
        questionnaire_id=q.id, person_id=person.id, started_at=now, by_proxy_id=by_proxy.id if by_proxy else None,
    ).on_conflict_do_nothing())
    response = response_of(db, q, person)
    assert response is not None
    if response.submitted_at is not None:
        if not q.allow_changes:
            raise Conflict(f"您已经提交过问卷 {q.number} 了，谢谢！")
        return response, Mode.EDIT, 1
    return response, Mode.FILL, first_unanswered(db, q, response)


def answers_of(db: Session, response: QuestionnaireResponse) -> dict[int, QuestionnaireAnswer]:
    """The sheet's answers by question id."""
    rows = db.scalars(select(QuestionnaireAnswer).where(QuestionnaireAnswer.response_id == response.id))
    return {a.question_id: a for a in rows}


def first_unanswered(db: Session, q: Questionnaire, response: QuestionnaireResponse, after: int = 0) -> int | None:
    """The first question (after a position, else from the start) without an answer."""
    answered = answers_of(db, response)
    missing = [qu.position for qu in q.questions if qu.id not in answered]
    later = [p for p in missing if p > after]
    return (later or missing or [None])[0]


def question_at(q: Questionnaire, position: int) -> Question:
    """The question at a position (1-based)."""
    for question in q.questions:
        if question.position == position:
            return question
    raise NotFound(f"问卷 {q.number} 没有第 {position} 题。")


def answer(db: Session, q: Questionnaire, response: QuestionnaireResponse, question: Question, text: str,
           now: datetime, settings: PollSettings, *, skip: bool = False) -> QuestionnaireAnswer:
    """Parse and store one answer at once (or a skip of an optional question); a bad answer raises a hint."""
    _require_open(q, now)
    if response.submitted_at is not None and not q.allow_changes:
        raise Conflict(f"您已经提交过问卷 {q.number} 了，谢谢！")
    values: dict[str, object] = {"choices": None, "rating": None, "text": None, "skipped": skip}
    if skip:
        if question.required:
            raise InvalidInput("这一题必须回答，不能跳过。")
    elif question.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        values["choices"] = parse_choices(text, question.options, multiple=question.kind is QuestionKind.MULTIPLE,
                                          max_choices=question.max_choices)
    elif question.kind is QuestionKind.RATING:
        values["rating"] = parse_rating(text)
    else:
        values["text"] = parse_text(text, question.max_chars or settings.text_max_chars)
    stmt = insert(QuestionnaireAnswer).values(response_id=response.id, question_id=question.id, answered_at=now, **values)
    stmt = stmt.on_conflict_do_update(index_elements=["response_id", "question_id"],
                                      set_={**values, "answered_at": now})
    db.execute(stmt)
    response.updated_at = now
    db.flush()
    return db.scalars(select(QuestionnaireAnswer).where(QuestionnaireAnswer.response_id == response.id,
                                                        QuestionnaireAnswer.question_id == question.id)
                      .execution_options(populate_existing=True)).one()


def next_position(db: Session, q: Questionnaire, response: QuestionnaireResponse, after: int, mode: Mode) -> int | None:
    """Where to go after answering ``after``: the next question when editing, else the next unanswered one."""
    if mode is Mode.EDIT:
        return after + 1 if after < len(q.questions) else None
    return first_unanswered(db, q, response, after)


def submit(db: Session, q: Questionnaire, response: QuestionnaireResponse, now: datetime) -> int | None:
    """Mark the sheet submitted; returns the position of a required question still open instead, if any."""
    answered = answers_of(db, response)
    for question in q.questions:
        given = answered.get(question.id)
        if given is None or (question.required and given.skipped):
            return question.position
    response.submitted_at = response.submitted_at or now
    response.updated_at = now
    db.flush()
    return None


def close_questionnaire(db: Session, q: Questionnaire, actor: Person | None, now: datetime) -> Questionnaire:
    """Close at once (a convenor of the organisation or above; None = administrator)."""
    if actor is not None and not may_manage(db, actor, q.org):
        raise PermissionDenied(f"只有{q.org.name}的召集人可以结束问卷。")
    if phase(q, now) is PollPhase.CLOSED:
        raise Conflict(f"问卷 {q.number} 已经结束了。")
    q.closed_at = now
    q.closed_by_id = actor.id if actor else None
    return finalize(db, q, now)


def finalize(db: Session, q: Questionnaire, now: datetime) -> Questionnaire:
    """Once closed: cut anonymous sheets loose from people and tell the convenors; once per questionnaire."""
    stmt = select(Questionnaire).where(Questionnaire.id == q.id).with_for_update().execution_options(populate_existing=True)
    q = db.scalars(stmt).one()
    if q.finalized_at is not None:
        return q
    q.closed_at = q.closed_at or q.closes_at
    if q.anonymous:
        db.execute(update(QuestionnaireResponse).where(QuestionnaireResponse.questionnaire_id == q.id)
                   .values(person_id=None, by_proxy_id=None))
    q.finalized_at = now
    db.flush()
    sheets = list(db.scalars(select(QuestionnaireResponse.submitted_at)
                             .where(QuestionnaireResponse.questionnaire_id == q.id)))
    convenors = list(db.scalars(select(Person).join(RoleGrant, RoleGrant.person_id == Person.id).where(
        RoleGrant.org_id == q.org_id, RoleGrant.role == Role.CONVENOR, RoleGrant.revoked_at.is_(None))))
    if not convenors:
        return q
    push_to(db, convenors, org=q.org, kind=NoticeKind.POLL, title=f"问卷 {q.number} 已结束：{q.title}"[:200],
            body=(f"问卷 {q.number}《{q.title}》已结束，共收到 {len(sheets)} 份答卷（答完 {sum(1 for s in sheets if s)} 份）。"
                  f"发送“问卷结果 {q.number}”查看汇总。"),
            now=now, source_key=f"questionnaire-closed:{q.id}")
    return q


def ensure_final(db: Session, q: Questionnaire, now: datetime) -> Questionnaire:
    """Finalize a questionnaire whose time is up and that nobody has finalized yet."""
    if q.finalized_at is None and phase(q, now) is PollPhase.CLOSED:
        return finalize(db, q, now)
    return q


def close_due(db: Session, now: datetime) -> list[str]:
    """Finalize every questionnaire whose time is up (idempotent)."""
    due = db.scalars(select(Questionnaire).where(Questionnaire.finalized_at.is_(None),
                                                 (Questionnaire.closes_at <= now) | Questionnaire.closed_at.is_not(None))
                     .order_by(Questionnaire.id)).all()
    return [f"questionnaire {finalize(db, q, now).org.code}-{q.number}" for q in due]
