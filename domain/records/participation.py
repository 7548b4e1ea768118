"""What each person did, read from what meetings, topics and polls recorded (R-ORG-6, X-三(四), L-五(二)).

Per person and period: meetings expected and attended (``meeting_attendees``; a meeting counts once it was
opened), speaking turns and online opinions (``meeting_speeches`` given the floor), topics proposed and
co-signed, votes cast, questionnaires answered and training (counted in ``counting``, set-based). Votes are counted from ``poll_voters`` (who voted, never what): a secret
ballot's choice is in ``poll_ballots`` without its voter, and nothing here reads that table.
A period is two local dates, both included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from domain.errors import NotBound
from domain.records import counting, terms
from domain.records.counting import GIVEN_FLOOR, Counts

__all__ = ["DEFAULT_TZ", "Counts", "PersonRecord", "SummaryRow", "participation_summary", "period", "person_record",
           "totals_by_org"]
from models import (
    Meeting,
    MeetingAttendee,
    Organisation,
    Person,
    Platform,
    PlatformLiaison,
    Role,
    RoleGrant,
    Speech,
    Topic,
    TopicCosigner,
    TrainingRecord,
)

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


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
    return counting.period(since, until, tz)


def person_record(db: Session, person: Person, since: date, until: date, tz: tzinfo = DEFAULT_TZ) -> PersonRecord:
    """A person's record over every organisation for a period (for 履职考核)."""
    start, end = period(since, until, tz)
    record = PersonRecord(person.id, person.display_name, since, until,
                          counting.of_person(db, person.id, since, until, tz))
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


def _holds_any_role(db: Session, person: Person) -> bool:
    return db.scalar(select(RoleGrant.id).where(RoleGrant.person_id == person.id, RoleGrant.revoked_at.is_(None))
                     .limit(1)) is not None


def _involved(org: Organisation) -> ColumnElement[bool]:
    return (RoleGrant.org_id == org.id) & RoleGrant.revoked_at.is_(None)


def participation_summary(db: Session, org: Organisation, since: date, until: date,
                          tz: tzinfo = DEFAULT_TZ) -> list[SummaryRow]:
    """Everyone with a council role in the organisation or a recorded act there, with their numbers there."""
    counts = {pid: c for (_, pid), c in counting.counts(db, since, until, tz, org_ids=[org.id]).items()}
    roles: dict[int, list[str]] = {}
    for pid, role in db.execute(select(RoleGrant.person_id, RoleGrant.role).where(_involved(org))
                                .order_by(RoleGrant.id)):
        roles.setdefault(pid, []).append(Role(role).label)
    ids = sorted(set(counts) | set(roles))
    found = {p.id: p for p in db.scalars(select(Person).where(Person.id.in_(ids)))} if ids else {}
    return [SummaryRow(pid, found[pid].display_name, roles.get(pid, []), counts.get(pid, Counts()))
            for pid in ids if pid in found]


def totals_by_org(db: Session, org_ids: Iterable[int], since: date, until: date,
                  tz: tzinfo = DEFAULT_TZ) -> dict[int, tuple[int, Counts]]:
    """Per organisation: how many people have a record there (as participation_summary) and their numbers summed.

    Set-based, for the supervisors' view: the same handful of queries for one organisation or three hundred.
    """
    ids = list(org_ids)
    council = select(RoleGrant.org_id, RoleGrant.person_id).where(RoleGrant.org_id.in_(ids),
                                                                  RoleGrant.revoked_at.is_(None))
    return counting.sums_by_org(db, ids, since, until, tz, also=council)


def chat_summary(db: Session, person: Person, since: date, until: date, tz: tzinfo = DEFAULT_TZ) -> str:
    """The person's own numbers in a few plain lines (我的履职); someone bound nowhere, with no role and no record
    at all, is told how to bind instead (there is nothing of theirs to show)."""
    c = counting.of_person(db, person.id, since, until, tz)
    if c == Counts() and person.home_org_id is None and not _holds_any_role(db, person):
        raise NotBound("您还没有绑定村（社区），也还没有履职记录。请扫描村里的二维码，或发送“绑定 邀请码”。")
    return (f"{person.display_name}的履职记录（{since.year}年{since.month}月{since.day}日至"
            f"{until.month}月{until.day}日）：\n"
            f"应到会议 {c.expected} 次，到会 {c.attended} 次\n"
            f"会上发言 {c.speeches} 次\n"
            f"提议 {c.proposed} 件，联名 {c.cosigned} 件\n"
            f"参加表决 {c.votes} 次，填写问卷 {c.questionnaires} 份\n"
            f"参加培训 {c.trainings} 次")
