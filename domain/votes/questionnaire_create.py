"""Creating questionnaires: the checked draft from a file, numbering, invitees, the announcement."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from domain.errors import InvalidInput, NotFound
from domain.notices.outbox import create_notice
from domain.orgs.people import find_by_ref, require_role
from domain.votes.poll_create import check_window, find_topic, next_number
from domain.votes.questionnaires import respondents_query
from models import (
    Audience,
    NoticeKind,
    Organisation,
    Person,
    Question,
    QuestionKind,
    Questionnaire,
    QuestionnaireInvitee,
    Role,
)

if TYPE_CHECKING:
    from domain.settings import PollSettings

QUESTIONNAIRE_AUDIENCES = (Audience.FOLLOWERS, Audience.MEMBERS, Audience.NAMED)


@dataclass
class QuestionDraft:
    """One question as written in a questionnaire file."""

    kind: QuestionKind
    prompt: str
    options: list[str] = field(default_factory=list)
    required: bool = True
    max_choices: int | None = None
    max_chars: int | None = None


@dataclass
class QuestionnaireDraft:
    """A whole questionnaire as written in a file, already checked for shape and limits."""

    title: str
    questions: list[QuestionDraft]
    closes_at: datetime
    opens_at: datetime | None = None
    intro: str = ""
    audience: Audience = Audience.FOLLOWERS
    people: list[str] = field(default_factory=list)
    anonymous: bool = False
    allow_changes: bool = False
    topic: str | None = None


def create_questionnaire(db: Session, org: Organisation, draft: QuestionnaireDraft, *, actor: Person | None,
                         now: datetime, settings: PollSettings) -> Questionnaire:
    """Store a questionnaire under the next number and queue its announcement."""
    if actor is not None:
        require_role(db, actor, org, Role.CONVENOR)
    if draft.audience not in QUESTIONNAIRE_AUDIENCES:
        raise InvalidInput("audience: 只能是 followers、members 或 named。")
    check_window(draft.opens_at or now, draft.closes_at, now, settings.max_days)
    topic = find_topic(db, org, draft.topic) if draft.topic else None
    invitees: list[Person] = []
    for index, ref in enumerate(draft.people, start=1):
        try:
            invitees.append(find_by_ref(db, ref))
        except NotFound as exc:
            raise NotFound(f"people[{index}]: {exc.reply}") from None
    if draft.audience is Audience.NAMED and not invitees:
        raise InvalidInput("people: audience = \"named\" 时要列出受邀的人。")
    q = Questionnaire(
        org=org, number=next_number(db, org, Questionnaire), title=draft.title.strip(), intro=draft.intro.strip(),
        audience=draft.audience, anonymous=draft.anonymous, allow_changes=draft.allow_changes,
        opens_at=draft.opens_at or now, closes_at=draft.closes_at, topic_id=topic.id if topic else None,
        created_by_id=actor.id if actor else None,
    )
    q.questions = [
        Question(position=i, kind=d.kind, prompt=d.prompt.strip(), options=[o.strip() for o in d.options],
                 required=d.required, max_choices=d.max_choices, max_chars=d.max_chars)
        for i, d in enumerate(draft.questions, start=1)
    ]
    db.add(q)
    db.flush()
    for person_id in {p.id for p in invitees}:
        db.add(QuestionnaireInvitee(questionnaire_id=q.id, person_id=person_id))
    db.flush()
    _announce(db, q, now)
    return q


def _announce(db: Session, q: Questionnaire, now: datetime) -> None:
    body = (f"{q.org.name}请您填写问卷 {q.number}：{q.title}（共 {len(q.questions)} 题，"
            f"{'匿名' if q.anonymous else '实名'}）。\n{q.intro}\n回复“问卷 {q.number}”开始答题，一题一题回答就行。").replace("\n\n", "\n")
    create_notice(db, org=q.org, kind=NoticeKind.POLL, audience=q.audience, title=f"问卷 {q.number}：{q.title}"[:200],
                  body=body, now=now, recipients=respondents_query(q), source_key=f"questionnaire-open:{q.id}",
                  send_at=max(q.opens_at, now))
