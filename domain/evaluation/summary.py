"""What convenors and supervisors see of a topic's evaluations (R-RES-6): the average, the spread and the
comments; and the ratings of many organisations at once (the supervisors' view, R-RES-7)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.orgs import people
from domain.orgs.tree import ancestors
from models import Evaluation, EvaluationKind, Person, Role, Topic

VIEWER_ROLES = (Role.CONVENOR, Role.PARTY_REVIEWER, Role.UPPER_OFFICE)
KIND_ORDER = (EvaluationKind.PARTY_COMMENT, EvaluationKind.ORGANISER_ANALYSIS, EvaluationKind.MEMBER_REVIEW,
              EvaluationKind.RESIDENT_RATING)


@dataclass(frozen=True)
class Spread:
    """Scores 1–5: how many, the average, the population standard deviation, the lowest, the highest, each count."""

    count: int = 0
    mean: float | None = None
    stdev: float | None = None
    low: int | None = None
    high: int | None = None
    counts: dict[int, int] = field(default_factory=lambda: dict.fromkeys(range(1, 6), 0))


def spread(scores: Iterable[int]) -> Spread:
    """The spread of some scores (an empty list gives count 0 and no average)."""
    values = [int(s) for s in scores]
    if not values:
        return Spread()
    counts = dict.fromkeys(range(1, 6), 0)
    for value in values:
        counts[value] += 1
    return Spread(len(values), statistics.fmean(values), statistics.pstdev(values), min(values), max(values), counts)


@dataclass(frozen=True)
class Summary:
    """Every evaluation of one topic, with the spread of the residents' ratings and of the members' reviews."""

    topic: Topic
    ratings: Spread
    reviews: Spread
    entries: list[Evaluation]

    def of(self, kind: EvaluationKind) -> list[Evaluation]:
        """The entries of one kind, oldest first."""
        return [e for e in self.entries if e.kind is kind]


def summarise(db: Session, topic: Topic) -> Summary:
    """The topic's evaluations, by kind (party, organiser, members, residents), oldest first within each."""
    rows = list(db.scalars(select(Evaluation).where(Evaluation.topic_id == topic.id).order_by(Evaluation.id)))
    rows.sort(key=lambda e: KIND_ORDER.index(e.kind))
    scores = {kind: [e.score for e in rows if e.kind is kind and e.score is not None]
              for kind in (EvaluationKind.RESIDENT_RATING, EvaluationKind.MEMBER_REVIEW)}
    return Summary(topic, spread(scores[EvaluationKind.RESIDENT_RATING]),
                   spread(scores[EvaluationKind.MEMBER_REVIEW]), rows)


def may_see(db: Session, person: Person, topic: Topic) -> bool:
    """Convenors and party reviewers of the topic's organisation, and those roles or an upper office above it."""
    if people.has_role(db, person, topic.org, Role.CONVENOR, Role.PARTY_REVIEWER, Role.UPPER_OFFICE):
        return True
    return any(people.has_role(db, person, up, *VIEWER_ROLES) for up in ancestors(topic.org))


def ratings_by_org(db: Session, org_ids: Iterable[int]) -> dict[int, Spread]:
    """The residents' ratings of each organisation's topics together (organisations without any are left out)."""
    ids = list(org_ids)
    if not ids:
        return {}
    stmt = (select(Evaluation.org_id, Evaluation.score, func.count())
            .where(Evaluation.org_id.in_(ids), Evaluation.kind == EvaluationKind.RESIDENT_RATING,
                   Evaluation.score.is_not(None))
            .group_by(Evaluation.org_id, Evaluation.score))
    grouped: dict[int, list[int]] = {}
    for org_id, score, n in db.execute(stmt):
        grouped.setdefault(org_id, []).extend([score] * n)
    return {org_id: spread(scores) for org_id, scores in grouped.items()}
