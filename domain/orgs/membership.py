"""Home organisation history: every bind and move is a ``memberships`` row (issue 12, village hopping).

A person's say in a followers poll or questionnaire comes from the organisation they belonged to when
it opened (``domain/votes/audience.py`` reads these rows), so a stint carries ``counts_from``: the first
opening instant at which it counts (``started_at`` + ``rules.vote_membership_hours``; None = any, for a
first binding when ``rules.first_bind_joins_open_polls``). Moves are limited to one per
``rules.move_min_days``; a convenor of the new organisation may approve sooner (``move(..., by=...)``).

People placed before this history existed (``home_org_id`` set, no row) get a ``legacy`` row from their
``bound_at`` the first time they move; until then ``audience.py`` reads them from ``home_org_id``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import Conflict
from domain.settings import RulesSettings
from models import Organisation, Person
from models.people import Membership

logger = logging.getLogger(__name__)

INVITE = "invite"  # the person bound themself (invite code or QR scene)
ROSTER = "roster"  # an administrator put them on a roster
MOVE = "move"  # an early move approved by a convenor
LEGACY = "legacy"  # a binding made before the history existed
HOW_LABELS = {INVITE: "用邀请码绑定", ROSTER: "登记到名册", MOVE: "召集人批准迁入", LEGACY: "早先绑定"}


def current(db: Session, person: Person) -> Membership | None:
    """The person's open stint, writing the legacy row for a home set before the history existed."""
    row = db.scalar(select(Membership).where(Membership.person_id == person.id, Membership.ended_at.is_(None)))
    if row is not None or person.home_org_id is None:
        return row
    since = person.bound_at or person.created_at
    row = Membership(person_id=person.id, org_id=person.home_org_id, started_at=since, counts_from=person.bound_at,
                     how=LEGACY)
    db.add(row)
    db.flush()
    return row


def history(db: Session, person: Person) -> list[Membership]:
    """Every stint of a person, oldest first."""
    stmt = select(Membership).where(Membership.person_id == person.id).order_by(Membership.started_at, Membership.id)
    return list(db.scalars(stmt))


def next_move_at(db: Session, person: Person, rules: RulesSettings) -> datetime | None:
    """When the person may next move by themself (None: now; a home with no known start may move)."""
    row = current(db, person)
    if row is None or (row.how == LEGACY and person.bound_at is None):
        return None
    return row.started_at + timedelta(days=rules.move_min_days)


def check_move_allowed(db: Session, person: Person, rules: RulesSettings, now: datetime, tz: tzinfo) -> None:
    """Conflict when the person bound or moved less than ``rules.move_min_days`` ago."""
    allowed_at = next_move_at(db, person, rules)
    if allowed_at is not None and now < allowed_at:
        local = allowed_at.astimezone(tz)
        raise Conflict(
            f"改绑太频繁了：{rules.move_min_days} 天内只能改绑一次，{local.month}月{local.day}日以后才能再改。"
            "如果确实搬了家，请找新村（社区）的召集人批准。"
        )


def place(db: Session, person: Person, org: Organisation, now: datetime, rules: RulesSettings, *, how: str,
          by: Person | None = None) -> Membership:
    """Make ``org`` the person's home from ``now``: close the open stint and record the new one."""
    old = current(db, person)
    first = old is None and not _has_history(db, person)
    if old is not None:
        old.ended_at = now
        db.flush()  # the open-stint unique index holds one open row per person
    counts_from: datetime | None = now + timedelta(hours=rules.vote_membership_hours)
    if first and rules.first_bind_joins_open_polls:
        counts_from = None
    row = Membership(person_id=person.id, org_id=org.id, from_org_id=old.org_id if old else None, started_at=now,
                     counts_from=counts_from, how=how, by_id=by.id if by else None)
    db.add(row)
    person.home_org = org
    person.bound_at = now
    db.flush()
    logger.info("person %s placed in org %s (%s)", person.id, org.id, how)
    return row


def _has_history(db: Session, person: Person) -> bool:
    return db.scalar(select(Membership.id).where(Membership.person_id == person.id).limit(1)) is not None
