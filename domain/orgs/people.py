"""Followers, binding to a home organisation, and role grants (R-ROLE-1..4)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.errors import Conflict, InvalidInput, NotBound, NotFound, PermissionDenied
from domain.orgs import membership
from domain.orgs.tree import BINDABLE_KINDS, ancestors, find_by_invite
from domain.settings import RulesSettings
from models import Organisation, Person, Role, RoleGrant


def ensure_person(db: Session, openid: str) -> Person:
    """The person behind an openid, created on first contact (safe under concurrency)."""
    person = db.scalar(select(Person).where(Person.openid == openid))
    if person is not None:
        return person
    db.execute(insert(Person).values(openid=openid, subscribed=True).on_conflict_do_nothing())
    return db.scalars(select(Person).where(Person.openid == openid)).one()


# Built once: the webhook runs it for every message, so neither the statement nor its cache key is rebuilt.
_SENDER = select(
    Person,
    select(func.array_agg(RoleGrant.role.distinct()))
    .where(RoleGrant.person_id == Person.id, RoleGrant.revoked_at.is_(None))
    .scalar_subquery(),
).where(Person.openid == bindparam("openid"))


def load_sender(db: Session, openid: str) -> tuple[Person, frozenset[Role]]:
    """The person behind an openid with every role they hold, in one query (created on first contact)."""
    row = db.execute(_SENDER, {"openid": openid}).first()
    if row is None:
        return ensure_person(db, openid), frozenset()
    return row[0], frozenset(Role(r) for r in row[1] or ())


def find_person(db: Session, openid: str) -> Person | None:
    """The person behind an openid, if known."""
    return db.scalar(select(Person).where(Person.openid == openid))


def subscribe(person: Person, now: datetime) -> None:
    """Record that the person follows the account (again)."""
    person.subscribed = True
    person.subscribed_at = now
    person.unsubscribed_at = None


def unsubscribe(person: Person, now: datetime) -> None:
    """Record an unfollow; the person's history and binding stay."""
    person.subscribed = False
    person.unsubscribed_at = now


def bind(db: Session, person: Person, invite_code: str, now: datetime, rules: RulesSettings | None = None,
         tz: tzinfo = UTC) -> tuple[Organisation, bool]:
    """Bind the person to the organisation of an invite code (a move at most once per rules.move_min_days)."""
    rules = rules or RulesSettings()
    org = find_by_invite(db, invite_code)
    if org is None:
        raise NotFound("邀请码不对。请核对村里公布的邀请码，或直接扫描村里的二维码。")
    if org.kind not in BINDABLE_KINDS:
        raise InvalidInput("这个码属于镇或县级单位，请绑定您所在的村、社区或单位。")
    if person.home_org_id == org.id:
        return org, False
    if person.home_org_id is not None:
        membership.check_move_allowed(db, person, rules, now, tz)
    membership.place(db, person, org, now, rules, how=membership.INVITE)
    return org, True


def move(db: Session, person: Person, org: Organisation, now: datetime, rules: RulesSettings, *,
         by: Person) -> Organisation:
    """An early move approved by a convenor of the new organisation (or one above it); recorded with the approver."""
    if org.kind not in BINDABLE_KINDS:
        raise InvalidInput("只能迁到村、社区或单位。")
    if not (has_role(db, by, org, Role.CONVENOR) or supervises(db, by, org)):
        raise PermissionDenied(f"只有{org.name}的召集人可以批准迁入。")
    if person.home_org_id == org.id:
        raise Conflict(f"{person.display_name} 已经在{org.name}了。")
    membership.place(db, person, org, now, rules, how=membership.MOVE, by=by)
    return org


def put_on_roster(db: Session, person: Person, org: Organisation, now: datetime, rules: RulesSettings | None = None,
                  *, by: Person | None = None) -> None:
    """An administrator's placement (roster, demo data): recorded, not limited."""
    db.add(person)
    db.flush()
    if person.home_org_id != org.id:
        membership.place(db, person, org, now, rules or RulesSettings(), how=membership.ROSTER, by=by)


def mark_needs_help(db: Session, person: Person, org: Organisation, now: datetime, *, on: bool = True,
                    by: Person | None = None) -> None:
    """Mark (or unmark) a villager of org as needing help, so grid workers may act for them (代办)."""
    if person.home_org_id != org.id:
        raise InvalidInput(f"{person.display_name} 不在{org.name}的名册里。")
    if by is not None and not (has_role(db, by, org, Role.CONVENOR) or supervises(db, by, org)):
        raise PermissionDenied(f"只有{org.name}的召集人可以登记需要帮助的村民。")
    person.needs_help_at = now if on else None
    person.needs_help_by_id = by.id if on and by is not None else None
    db.flush()


def require_home(person: Person) -> Organisation:
    """The person's home organisation, or NotBound."""
    if person.home_org is None:
        raise NotBound()
    return person.home_org


def active_grants(db: Session, person: Person) -> list[RoleGrant]:
    """The person's roles that are not revoked, oldest first."""
    stmt = (
        select(RoleGrant)
        .where(RoleGrant.person_id == person.id, RoleGrant.revoked_at.is_(None))
        .order_by(RoleGrant.id)
    )
    return list(db.scalars(stmt))


def has_role(db: Session, person: Person, org: Organisation, *roles: Role) -> bool:
    """Whether the person holds one of the roles in this organisation (R-ROLE-4)."""
    stmt = select(RoleGrant.id).where(
        RoleGrant.person_id == person.id,
        RoleGrant.org_id == org.id,
        RoleGrant.role.in_([Role(r) for r in roles]),
        RoleGrant.revoked_at.is_(None),
    )
    return db.scalar(stmt.limit(1)) is not None


def supervises(db: Session, person: Person, org: Organisation) -> bool:
    """Whether the person is an upper-level office of an ancestor of org (R-ORG-1, R-RES-7)."""
    return any(has_role(db, person, parent, Role.UPPER_OFFICE, Role.CONVENOR) for parent in ancestors(org))


def require_role(db: Session, person: Person, org: Organisation, *roles: Role) -> None:
    """Raise PermissionDenied unless the person holds one of the roles in org."""
    if not has_role(db, person, org, *roles):
        names = "或".join(Role(r).label for r in roles)
        raise PermissionDenied(f"只有{org.name}的{names}可以这样做。")


def grant_role(
    db: Session,
    person: Person,
    org: Organisation,
    role: Role | str,
    *,
    public_servant: bool = False,
    granted_by: Person | None = None,
) -> RoleGrant:
    """Give a role in an organisation; granting an active role twice is a Conflict."""
    role = Role(role)
    if has_role(db, person, org, role):
        raise Conflict(f"{person.display_name} 已经是{org.name}的{role.label}。")
    grant = RoleGrant(
        person=person,
        org=org,
        role=role,
        public_servant=public_servant,
        granted_by_id=granted_by.id if granted_by else None,
    )
    db.add(grant)
    db.flush()
    return grant


def revoke_role(db: Session, person: Person, org: Organisation, role: Role | str) -> RoleGrant:
    """Revoke an active role; the grant stays as history."""
    role = Role(role)
    grant = db.scalar(
        select(RoleGrant).where(
            RoleGrant.person_id == person.id,
            RoleGrant.org_id == org.id,
            RoleGrant.role == role,
            RoleGrant.revoked_at.is_(None),
        )
    )
    if grant is None:
        raise NotFound(f"{person.display_name} 不是{org.name}的{role.label}。")
    grant.revoke()
    db.flush()
    return grant


def find_by_ref(db: Session, ref: str) -> Person:
    """A person by openid or numeric id (for the CLI)."""
    person = db.scalar(select(Person).where(Person.openid == ref))
    if person is None and ref.isdigit():
        person = db.get(Person, int(ref))
    if person is None:
        raise NotFound(f"找不到用户 {ref}。")
    return person


def role_holders(db: Session, org: Organisation, *roles: Role) -> list[Person]:
    """People holding one of the roles in the organisation (active grants)."""
    stmt = (
        select(Person)
        .join(RoleGrant, RoleGrant.person_id == Person.id)
        .where(RoleGrant.org_id == org.id, RoleGrant.role.in_(roles), RoleGrant.revoked_at.is_(None))
        .distinct()
        .order_by(Person.id)
    )
    return list(db.scalars(stmt))


def role_orgs(db: Session, person: Person, *roles: Role) -> list[Organisation]:
    """Organisations in which the person holds one of the roles."""
    stmt = (
        select(Organisation)
        .join(RoleGrant, RoleGrant.org_id == Organisation.id)
        .where(RoleGrant.person_id == person.id, RoleGrant.role.in_(roles), RoleGrant.revoked_at.is_(None))
        .distinct()
        .order_by(Organisation.id)
    )
    return list(db.scalars(stmt))
