"""Shared arrangements for the poll, questionnaire and confirmation tests (no tests here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from domain.meetings import attendance
from domain.orgs import people
from domain.orgs import tree as orgs
from domain.settings import Settings
from domain.votes.poll_create import PollDraft, create_poll
from domain.votes.questionnaire_create import QuestionDraft, QuestionnaireDraft, create_questionnaire
from models import (
    Audience,
    Meeting,
    MeetingAttendee,
    MeetingStatus,
    Organisation,
    OrgKind,
    Person,
    Poll,
    QuestionKind,
    Questionnaire,
    Role,
)

SETTINGS = Settings()
TZ = SETTINGS.tz
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 11月23日 10:00 in Asia/Shanghai


def villages(db: Session) -> tuple[Organisation, Organisation, Organisation]:
    """A township with two villages: (town, 东风村 v1, 红旗村 v2)."""
    town = orgs.create_org(db, code="t1", name="幸福镇", kind=OrgKind.TOWNSHIP)
    v1 = orgs.create_org(db, code="v1", name="东风村", kind=OrgKind.VILLAGE, parent_code="t1")
    v2 = orgs.create_org(db, code="v2", name="红旗村", kind=OrgKind.VILLAGE, parent_code="t1")
    db.flush()
    return town, v1, v2


def person(db: Session, openid: str, home: Organisation | None = None, *roles: tuple[Organisation, Role],
           name: str | None = None) -> Person:
    """A follower bound to ``home`` holding the given (organisation, role) grants."""
    who = people.ensure_person(db, openid)
    who.home_org = home
    who.real_name = name
    who.subscribed = True
    for org, role in roles:
        people.grant_role(db, who, org, role)
    db.flush()
    return who


def villagers(db: Session, org: Organisation, count: int, prefix: str = "u") -> list[Person]:
    """``count`` bound followers of an organisation."""
    return [person(db, f"{prefix}{org.code}-{i}", org, name=f"{org.name}村民{i}") for i in range(1, count + 1)]


def poll(db: Session, org: Organisation, now: datetime = NOW, *, options: list[str] | None = None,
         hours: int = 72, actor: Person | None = None, **fields: Any) -> Poll:
    """A poll created through the domain, open from ``now`` for ``hours``."""
    draft = PollDraft(question=fields.pop("question", "村口路灯装在哪？"), options=options or ["东头", "西头", "两头都装"],
                      closes_at=now + timedelta(hours=hours), **fields)
    return create_poll(db, org, draft, actor=actor, now=now, settings=SETTINGS.polls, tz=TZ)


def questionnaire(db: Session, org: Organisation, now: datetime = NOW, *, days: int = 7, **fields: Any) -> Questionnaire:
    """A four-question questionnaire: single, multiple (≤2), rating, optional text."""
    questions = fields.pop("questions", None) or [
        QuestionDraft(QuestionKind.SINGLE, "哪条路先修？", ["村东主路", "学校门口", "机耕路"]),
        QuestionDraft(QuestionKind.MULTIPLE, "最担心什么？", ["出行", "噪音", "农田", "费用"], max_choices=2),
        QuestionDraft(QuestionKind.RATING, "现在道路打几分？"),
        QuestionDraft(QuestionKind.TEXT, "还有什么建议？", required=False, max_chars=50),
    ]
    draft = QuestionnaireDraft(title=fields.pop("title", "村道修缮意见"), questions=questions,
                               closes_at=now + timedelta(days=days), **fields)
    return create_questionnaire(db, org, draft, actor=None, now=now, settings=SETTINGS.polls)


def meeting(db: Session, org: Organisation, attendees: list[Person], checked_in: int, topic: Any = None) -> Meeting:
    """An open meeting of ``org`` whose first ``checked_in`` attendees have checked in."""
    held = Meeting(org_id=org.id, topic_id=topic.id if topic else None, title="村道修缮协商会", starts_at=NOW,
                   place="村委会议室", status=MeetingStatus.OPEN, opened_at=NOW)  # confirmation needs an open meeting
    db.add(held)
    db.flush()
    for who in attendees:
        db.add(MeetingAttendee(meeting_id=held.id, person_id=who.id))
    db.flush()
    for who in attendees[:checked_in]:  # as 签到 does
        attendance.check_in(db, held, who, NOW, SETTINGS)
    return held


__all__ = ["Audience", "NOW", "SETTINGS", "TZ", "meeting", "person", "poll", "questionnaire", "villagers", "villages"]
