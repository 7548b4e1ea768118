"""What each person did, read from what meetings, topics and polls recorded (R-ORG-6, X-三(四), L-五(二)).

Per person and period: meetings expected and attended (``meeting_attendees``; a meeting counts once it was
opened), speaking turns and online opinions (``meeting_speeches`` given the floor), topics proposed and
co-signed, votes cast and training. Votes are counted from ``poll_voters`` (who voted, never what): a secret
ballot's choice is in ``poll_ballots`` without its voter, and nothing here reads that table.
A period is two local dates, both included.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from domain.errors import InvalidInput
from domain.records import terms
from models import (
    Meeting,
    MeetingAttendee,
    Organisation,
    Person,
    Platform,
    PlatformLiaison,
    Poll,
    PollVoter,
    Role,
    RoleGrant,
    Speech,
    SpeechStatus,
    Topic,
    TopicCosigner,
    TrainingRecord,
)

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")
GIVEN_FLOOR = (SpeechStatus.SPEAKING, SpeechStatus.DONE, SpeechStatus.STOPPED)


@dataclass
class MeetingLine:
    """One meeting a person was expected at."""

    day: date
    org: str
    title: str
    attended: bool
    speeches: int


@dataclass
class TopicLine:
    """A topic the person proposed or co-signed."""

    day: date
    org: str
    number: str
    title: str
    how: str  # 提议 / 联名


@dataclass
class Counts:
    """The numbers of one person in a period."""

    expected: int = 0
    attended: int = 0
    speeches: int = 0
    proposed: int = 0
    cosigned: int = 0
    votes: int = 0
    trainings: int = 0


@dataclass
class PersonRecord:
    """One person's record for a period (履职记录)."""

    person_id: int
    name: str
    since: date
    until: date
    counts: Counts
    meetings: list[MeetingLine] = field(default_factory=list)
    topics: list[TopicLine] = field(default_factory=list)
    trainings: list[tuple[date, str, str]] = field(default_factory=list)  # day, organisation, title
    terms: list[tuple[str, date, date | None]] = field(default_factory=list)  # organisation, entered, exited
    liaisons: list[str] = field(default_factory=list)  # platforms the person liaises with


@dataclass
class SummaryRow:
    """One person's numbers in one organisation."""

    person_id: int
    name: str
    roles: list[str]
    counts: Counts


def period(since: date, until: date, tz: tzinfo = DEFAULT_TZ) -> tuple[datetime, datetime]:
    """The instants [start, end) of two local dates, both included."""
    if until < since:
        raise InvalidInput("结束日期早于开始日期。")
    return datetime.combine(since, time.min, tz), datetime.combine(until + timedelta(days=1), time.min, tz)


def _counts(db: Session, since: date, until: date, tz: tzinfo, *, person_id: int | None = None,
            org_id: int | None = None) -> dict[int, Counts]:
    """Counts per person id, for one person and/or one organisation."""
    start, end = period(since, until, tz)
    result: dict[int, Counts] = {}

    def get(pid: int) -> Counts:
        return result.setdefault(pid, Counts())

    def scoped(stmt, person_col, org_col) -> object:  # noqa: ANN001 - a select under construction
        if person_id is not None:
            stmt = stmt.where(person_col == person_id)
        if org_id is not None:
            stmt = stmt.where(org_col == org_id)
        return stmt

    held = (Meeting.opened_at >= start) & (Meeting.opened_at < end)
    stmt = (select(MeetingAttendee.person_id, func.count(), func.count(MeetingAttendee.checked_in_at))
            .join(Meeting, Meeting.id == MeetingAttendee.meeting_id).where(held)
            .group_by(MeetingAttendee.person_id))
    for pid, expected, attended in db.execute(scoped(stmt, MeetingAttendee.person_id, Meeting.org_id)):
        get(pid).expected, get(pid).attended = expected, attended
    stmt = (select(Speech.person_id, func.count()).join(Meeting, Meeting.id == Speech.meeting_id)
            .where(held, Speech.status.in_(GIVEN_FLOOR)).group_by(Speech.person_id))
    for pid, n in db.execute(scoped(stmt, Speech.person_id, Meeting.org_id)):
        get(pid).speeches = n
    stmt = (select(Topic.proposer_id, func.count()).where(Topic.created_at >= start, Topic.created_at < end)
            .group_by(Topic.proposer_id))
    for pid, n in db.execute(scoped(stmt, Topic.proposer_id, Topic.org_id)):
        get(pid).proposed = n
    stmt = (select(TopicCosigner.person_id, func.count()).join(Topic, Topic.id == TopicCosigner.topic_id)
            .where(TopicCosigner.created_at >= start, TopicCosigner.created_at < end)
            .group_by(TopicCosigner.person_id))
    for pid, n in db.execute(scoped(stmt, TopicCosigner.person_id, Topic.org_id)):
        get(pid).cosigned = n
    stmt = (select(PollVoter.person_id, func.count()).join(Poll, Poll.id == PollVoter.poll_id)
            .where(PollVoter.voted_at >= start, PollVoter.voted_at < end).group_by(PollVoter.person_id))
    for pid, n in db.execute(scoped(stmt, PollVoter.person_id, Poll.org_id)):
        get(pid).votes = n
    stmt = (select(TrainingRecord.person_id, func.count())
            .where(TrainingRecord.held_on >= since, TrainingRecord.held_on <= until)
            .group_by(TrainingRecord.person_id))
    for pid, n in db.execute(scoped(stmt, TrainingRecord.person_id, TrainingRecord.org_id)):
        get(pid).trainings = n
    return result


def person_record(db: Session, person: Person, since: date, until: date, tz: tzinfo = DEFAULT_TZ) -> PersonRecord:
    """A person's record over every organisation for a period (for 履职考核)."""
    start, end = period(since, until, tz)
    record = PersonRecord(person.id, person.display_name, since, until,
                          _counts(db, since, until, tz, person_id=person.id).get(person.id, Counts()))
    spoke = Counter(db.scalars(select(Speech.meeting_id).where(Speech.person_id == person.id,
                                                               Speech.status.in_(GIVEN_FLOOR))))
    rows = db.execute(select(Meeting, MeetingAttendee.checked_in_at)
                      .join(MeetingAttendee, MeetingAttendee.meeting_id == Meeting.id)
                      .where(MeetingAttendee.person_id == person.id, Meeting.opened_at >= start,
                             Meeting.opened_at < end).order_by(Meeting.opened_at, Meeting.id))
    record.meetings = [MeetingLine(m.opened_at.astimezone(tz).date(), m.org.name, m.title, at is not None, spoke[m.id])
                       for m, at in rows]
    proposed = db.scalars(select(Topic).where(Topic.proposer_id == person.id, Topic.created_at >= start,
                                              Topic.created_at < end))
    record.topics = [TopicLine(t.created_at.astimezone(tz).date(), t.org.name, t.number, t.title, "提议")
                     for t in proposed]
    cosigned = db.execute(select(TopicCosigner.created_at, Topic).join(Topic, Topic.id == TopicCosigner.topic_id)
                          .where(TopicCosigner.person_id == person.id, TopicCosigner.created_at >= start,
                                 TopicCosigner.created_at < end))
    record.topics += [TopicLine(at.astimezone(tz).date(), t.org.name, t.number, t.title, "联名") for at, t in cosigned]
    record.topics.sort(key=lambda line: (line.day, line.number))
    trained = db.execute(select(TrainingRecord, Organisation.name).join(Organisation)
                         .where(TrainingRecord.person_id == person.id, TrainingRecord.held_on >= since,
                                TrainingRecord.held_on <= until).order_by(TrainingRecord.held_on, TrainingRecord.id))
    record.trainings = [(row.held_on, name, row.title) for row, name in trained]
    record.terms = _terms(db, person, since, until, tz)
    liaised = db.execute(select(Platform, Organisation.name).join(PlatformLiaison, PlatformLiaison.platform_id == Platform.id)
                         .join(Organisation, Organisation.id == Platform.org_id)
                         .where(PlatformLiaison.person_id == person.id, PlatformLiaison.created_at < end,
                                (PlatformLiaison.ended_at.is_(None)) | (PlatformLiaison.ended_at >= start)))
    record.liaisons = sorted({f"{name} {p.name}" for p, name in liaised})
    return record


def _terms(db: Session, person: Person, since: date, until: date, tz: tzinfo) -> list[tuple[str, date, date | None]]:
    """Recorded council terms; where none is recorded, the member or convenor grant's own dates."""
    recorded = terms.terms_of(db, person)
    found = [(t.org.name, t.entered_on, t.exited_on) for t in recorded]
    grants = db.scalars(select(RoleGrant).where(RoleGrant.person_id == person.id,
                                                RoleGrant.role.in_(terms.COUNCIL_ROLES)).order_by(RoleGrant.id))
    covered = {t.org_id for t in recorded}
    for grant in grants:
        if grant.org_id not in covered:
            ended = grant.revoked_at.astimezone(tz).date() if grant.revoked_at else None
            found.append((f"{grant.org.name}（{Role(grant.role).label}，按授予身份日期）",
                          grant.created_at.astimezone(tz).date(), ended))
    return [t for t in found if t[1] <= until and (t[2] is None or t[2] >= since)]


def _involved(org: Organisation) -> ColumnElement[bool]:
    return (RoleGrant.org_id == org.id) & RoleGrant.revoked_at.is_(None)


def participation_summary(db: Session, org: Organisation, since: date, until: date,
                          tz: tzinfo = DEFAULT_TZ) -> list[SummaryRow]:
    """Everyone with a council role in the organisation or a recorded act there, with their numbers there."""
    counts = _counts(db, since, until, tz, org_id=org.id)
    roles: dict[int, list[str]] = {}
    for pid, role in db.execute(select(RoleGrant.person_id, RoleGrant.role).where(_involved(org))
                                .order_by(RoleGrant.id)):
        roles.setdefault(pid, []).append(Role(role).label)
    ids = sorted(set(counts) | set(roles))
    found = {p.id: p for p in db.scalars(select(Person).where(Person.id.in_(ids)))} if ids else {}
    return [SummaryRow(pid, found[pid].display_name, roles.get(pid, []), counts.get(pid, Counts()))
            for pid in ids if pid in found]


def chat_summary(db: Session, person: Person, since: date, until: date, tz: tzinfo = DEFAULT_TZ) -> str:
    """The person's own numbers in a few plain lines (我的履职)."""
    c = _counts(db, since, until, tz, person_id=person.id).get(person.id, Counts())
    return (f"{person.display_name}的履职记录（{since.year}年{since.month}月{since.day}日至"
            f"{until.month}月{until.day}日）：\n"
            f"应到会议 {c.expected} 次，到会 {c.attended} 次\n"
            f"会上发言 {c.speeches} 次\n"
            f"提议 {c.proposed} 件，联名 {c.cosigned} 件\n"
            f"参加表决 {c.votes} 次\n"
            f"参加培训 {c.trainings} 次")
