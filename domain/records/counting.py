"""The participation counts (R-ORG-6), set-based: one query per kind of act, grouped by organisation and person.

Each kind of act belongs to one organisation (the meeting's, the topic's, the poll's, the questionnaire's, the
training's), so the counts of a person over every organisation are the sum of their counts per organisation, and
the supervisors' view reads every organisation below an office with the same few queries as one. Votes come from
``poll_voters`` (who voted, never what). Questionnaires count the sheets a person submitted, one per
questionnaire, never the answers; an anonymous questionnaire is not counted at all: its sheets are cut loose
from people when it closes (R-TOPIC-3), so a count could only be kept while it is open and would then drop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session

from domain.errors import InvalidInput
from models import (
    Meeting,
    MeetingAttendee,
    Poll,
    PollVoter,
    Questionnaire,
    QuestionnaireResponse,
    Speech,
    SpeechStatus,
    Topic,
    TopicCosigner,
    TrainingRecord,
)

GIVEN_FLOOR = (SpeechStatus.SPEAKING, SpeechStatus.DONE, SpeechStatus.STOPPED)


@dataclass
class Counts:
    """The numbers of one person (or of everyone in an organisation) in a period."""

    expected: int = 0
    attended: int = 0
    speeches: int = 0
    proposed: int = 0
    cosigned: int = 0
    votes: int = 0
    trainings: int = 0
    questionnaires: int = 0

    def add(self, other: Counts) -> None:
        """Add another's numbers to these."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def period(since: date, until: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The instants [start, end) of two local dates, both included."""
    if until < since:
        raise InvalidInput("结束日期早于开始日期。")
    return datetime.combine(since, time.min, tz), datetime.combine(until + timedelta(days=1), time.min, tz)


@dataclass
class Source:
    """One kind of act: its rows restricted to the period, the person and organisation columns, what it counts."""

    stmt: Any  # a select of the acts' rows (joined and filtered), without columns chosen yet
    person_col: Any
    org_col: Any
    names: tuple[str, ...]  # the Counts fields the aggregates fill
    aggregates: tuple[Any, ...]


def _sources(since: date, until: date, tz: tzinfo) -> list[Source]:
    start, end = period(since, until, tz)
    held = (Meeting.opened_at >= start) & (Meeting.opened_at < end)
    sheet = QuestionnaireResponse
    return [
        Source(select().select_from(MeetingAttendee).join(Meeting, Meeting.id == MeetingAttendee.meeting_id).where(held),
               MeetingAttendee.person_id, Meeting.org_id, ("expected", "attended"),
               (func.count(), func.count(MeetingAttendee.checked_in_at))),
        Source(select().select_from(Speech).join(Meeting, Meeting.id == Speech.meeting_id)
               .where(held, Speech.status.in_(GIVEN_FLOOR)), Speech.person_id, Meeting.org_id, ("speeches",),
               (func.count(),)),
        Source(select().select_from(Topic).where(Topic.created_at >= start, Topic.created_at < end),
               Topic.proposer_id, Topic.org_id, ("proposed",), (func.count(),)),
        Source(select().select_from(TopicCosigner).join(Topic, Topic.id == TopicCosigner.topic_id)
               .where(TopicCosigner.created_at >= start, TopicCosigner.created_at < end),
               TopicCosigner.person_id, Topic.org_id, ("cosigned",), (func.count(),)),
        Source(select().select_from(PollVoter).join(Poll, Poll.id == PollVoter.poll_id)
               .where(PollVoter.voted_at >= start, PollVoter.voted_at < end), PollVoter.person_id, Poll.org_id,
               ("votes",), (func.count(),)),
        Source(select().select_from(TrainingRecord).where(TrainingRecord.held_on >= since, TrainingRecord.held_on <= until),
               TrainingRecord.person_id, TrainingRecord.org_id, ("trainings",), (func.count(),)),
        Source(select().select_from(sheet).join(Questionnaire, Questionnaire.id == sheet.questionnaire_id)
               .where(sheet.person_id.is_not(None), sheet.submitted_at >= start, sheet.submitted_at < end,
                      Questionnaire.anonymous.is_(False)), sheet.person_id, Questionnaire.org_id,
               ("questionnaires",), (func.count(),)),
    ]


def _scoped(source: Source, person_id: int | None, ids: list[int] | None) -> Any:
    stmt = source.stmt
    if person_id is not None:
        stmt = stmt.where(source.person_col == person_id)
    if ids is not None:
        stmt = stmt.where(source.org_col.in_(ids))
    return stmt


def counts(db: Session, since: date, until: date, tz: tzinfo, *, person_id: int | None = None,
           org_ids: Iterable[int] | None = None) -> dict[tuple[int, int], Counts]:
    """Counts per (organisation id, person id), for one person and/or some organisations (None: all)."""
    ids = None if org_ids is None else list(org_ids)
    result: dict[tuple[int, int], Counts] = {}
    if ids is not None and not ids:
        return result
    for source in _sources(since, until, tz):
        stmt = (_scoped(source, person_id, ids).add_columns(source.org_col, source.person_col, *source.aggregates)
                .group_by(source.org_col, source.person_col))
        for org_id, pid, *values in db.execute(stmt):
            row = result.setdefault((org_id, pid), Counts())
            for name, value in zip(source.names, values, strict=True):
                setattr(row, name, value)
    return result


def sums_by_org(db: Session, org_ids: Iterable[int], since: date, until: date, tz: tzinfo, *,
                also: Any = None) -> dict[int, tuple[int, Counts]]:
    """Per organisation: how many people acted there (or are in ``also``, a select of organisation and person
    ids) and everyone's counts summed, all grouped in the database (GROUP BY organisation): the rows read grow
    with the organisations, not with the people."""
    ids = list(org_ids)
    sums = {org_id: Counts() for org_id in ids}
    people = dict.fromkeys(ids, 0)
    if not ids:
        return {}
    sources = _sources(since, until, tz)
    for source in sources:
        stmt = _scoped(source, None, ids).add_columns(source.org_col, *source.aggregates).group_by(source.org_col)
        for org_id, *values in db.execute(stmt):
            for name, value in zip(source.names, values, strict=True):
                setattr(sums[org_id], name, value)
    pairs = [_scoped(s, None, ids).add_columns(s.org_col.label("org_id"), s.person_col.label("person_id"))
             for s in sources]
    acted = union(*pairs, *([also] if also is not None else [])).subquery()  # UNION: each person once
    for org_id, n in db.execute(select(acted.c.org_id, func.count()).group_by(acted.c.org_id)):
        people[org_id] = n
    return {org_id: (people[org_id], sums[org_id]) for org_id in ids}


def of_person(db: Session, person_id: int, since: date, until: date, tz: tzinfo) -> Counts:
    """One person's numbers over every organisation."""
    total = Counts()
    for row in counts(db, since, until, tz, person_id=person_id).values():
        total.add(row)
    return total
