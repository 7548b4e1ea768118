"""The numbers of the supervisors' view (R-RES-7), gathered for every organisation below an office at once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.evaluation.summary import Spread, ratings_by_org
from domain.meetings.cadence import NO_COUNCIL, add_months, interval_months
from domain.supervision import sections
from domain.supervision.scope import children
from models import Meeting, MeetingStatus, Organisation, Topic, TopicEvent, TopicFeedback, TopicState

if TYPE_CHECKING:
    from domain.settings import Settings

logger = logging.getLogger(__name__)

YEAR = timedelta(days=365)
CLOSED = frozenset({TopicState.EVALUATED, TopicState.WITHDRAWN})
TO_IMPLEMENT = frozenset(s for s in TopicState if s.value in {"consensus", "basic_consensus", "confirmed",
                                                               "implementing"})
NEEDS_FEEDBACK = frozenset({TopicState.IMPLEMENTING, TopicState.IMPLEMENTED})  # done or doing, no 结果反馈清单
TO_EVALUATE = frozenset({TopicState.IMPLEMENTED})
LOW_RATING = 3.0  # an average below this is pointed out (not a rule: where a supervisor should look first)


@dataclass
class TopicLine:
    """One topic of a child organisation, with its age and what it waits for."""

    topic: Topic
    age_days: int  # since it was registered
    idle_days: int  # since its last recorded step
    waiting: str  # 待落实 / 待反馈 / 待评价 / ""
    has_feedback: bool


@dataclass
class ChildRow:
    """One organisation below the office."""

    org: Organisation
    held: int = 0  # councils held in the last year
    expected: int = 0  # councils the cadence asks for in a year (0: no council of its own)
    last: datetime | None = None
    due: datetime | None = None
    overdue_days: int = 0
    by_state: dict[TopicState, int] = field(default_factory=dict)
    topics: list[TopicLine] = field(default_factory=list)
    ratings: Spread = field(default_factory=Spread)
    six_have_missing: list[str] | None = None  # None: not known
    participation: dict[str, int] | None = None  # sums over the last year (sections.PARTICIPATION); None: not known

    def count(self, waiting: str) -> int:
        """How many of its topics wait for this."""
        return sum(1 for line in self.topics if line.waiting == waiting)

    @property
    def issues(self) -> list[str]:
        """What a supervisor should look at, shortest words first."""
        found: list[str] = []
        if self.expected and self.overdue_days > 0:
            found.append(f"会议超期{self.overdue_days}天" if self.last else "从未开会")
        if self.expected and self.held < self.expected:
            found.append(f"近一年开会{self.held}/{self.expected}次")
        for word in ("待落实", "待反馈", "待评价"):
            if self.count(word):
                found.append(f"{word}{self.count(word)}件")
        if self.ratings.mean is not None and self.ratings.mean < LOW_RATING:
            found.append(f"群众评价{self.ratings.mean:.1f}分")
        if self.six_have_missing:
            found.append("六有缺" + "、".join(label.removeprefix("有") for label in self.six_have_missing))
        return found

    @property
    def badness(self) -> tuple[int, int, int]:
        """Sort key: the worst first (more issues, longer overdue, more waiting)."""
        waiting = sum(1 for line in self.topics if line.waiting)
        return (len(self.issues), self.overdue_days, waiting)


@dataclass
class Overview:
    """Everything the office sees, children worst first."""

    office: Organisation
    now: datetime
    rows: list[ChildRow]


def _meetings(db: Session, rows: dict[int, ChildRow], now: datetime, settings: Settings) -> None:
    """Councils held in the last year and the cadence (as domain/meetings/cadence.due_at), in two queries."""
    councils = {org_id: row for org_id, row in rows.items() if row.org.kind not in NO_COUNCIL}
    if not councils:
        return
    held = (Meeting.org_id.in_(councils), Meeting.status != MeetingStatus.CANCELLED, Meeting.starts_at <= now)
    counts = dict(db.execute(select(Meeting.org_id, func.count()).where(*held, Meeting.starts_at > now - YEAR)
                             .group_by(Meeting.org_id)).all())
    lasts = dict(db.execute(select(Meeting.org_id, func.max(Meeting.starts_at)).where(*held)
                            .group_by(Meeting.org_id)).all())
    for org_id, row in councils.items():
        months = interval_months(row.org, settings.rules)
        row.expected = max(1, 12 // months)
        row.held, row.last = counts.get(org_id, 0), lasts.get(org_id)
        row.due = add_months(row.last or row.org.created_at, months, settings.tz)
        if now > row.due:
            row.overdue_days = (now - row.due).days or 1


def _waiting(state: TopicState, has_feedback: bool) -> str:
    if state in TO_IMPLEMENT:
        return "待落实"
    if state in NEEDS_FEEDBACK and not has_feedback:
        return "待反馈"
    if state in TO_EVALUATE:
        return "待评价"
    return ""


def _topics(db: Session, rows: dict[int, ChildRow], now: datetime) -> None:
    found = list(db.scalars(select(Topic).where(Topic.org_id.in_(rows)).order_by(Topic.org_id, Topic.id)))
    ids = [t.id for t in found]
    last_step = dict(db.execute(select(TopicEvent.topic_id, func.max(TopicEvent.at))
                                .where(TopicEvent.topic_id.in_(ids)).group_by(TopicEvent.topic_id)).all()) if ids else {}
    answered = set(db.scalars(select(TopicFeedback.topic_id).where(TopicFeedback.topic_id.in_(ids)))) if ids else set()
    for topic in found:
        row = rows[topic.org_id]
        row.by_state[topic.state] = row.by_state.get(topic.state, 0) + 1
        step = last_step.get(topic.id) or topic.created_at
        has_feedback = topic.id in answered
        row.topics.append(TopicLine(topic, (now - topic.created_at).days, (now - step).days,
                                    _waiting(topic.state, has_feedback), has_feedback))


def build(db: Session, office: Organisation, now: datetime, settings: Settings, *,
          only: Organisation | None = None) -> Overview:
    """The supervisors' view of everything below the office (or of ``only``, one of them).

    Each section is read for all the organisations together (GROUP BY organisation), so the chat's overview
    of a county of 300 villages, 六有 and participation included, runs as many queries as that of one village.
    """
    rows = {org.id: ChildRow(org) for org in ([only] if only is not None else children(db, office))}
    if rows:
        _meetings(db, rows, now, settings)
        _topics(db, rows, now)
        for org_id, s in ratings_by_org(db, rows).items():
            rows[org_id].ratings = s
        for org_id, gaps in sections.six_have_gaps(db, rows, now, settings).items():
            rows[org_id].six_have_missing = gaps
        for org_id, sums in sections.participation(db, rows, now, settings).items():
            rows[org_id].participation = sums
    ordered = sorted(rows.values(), key=lambda r: r.badness, reverse=True)
    return Overview(office, now, ordered)


def find_row(overview: Overview, code: str) -> ChildRow | None:
    """The row of one organisation below the office, by its code."""
    return next((row for row in overview.rows if row.org.code == code), None)
