"""Operations on the organisation tree (R-ORG-1, R-ORG-2)."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import Conflict, InvalidInput, NotFound
from models import Organisation, OrgKind, PlatformKind

CODE_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}[A-Za-z0-9])?$")
INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: easy to read aloud
INVITE_LENGTH = 10  # 32**10 ≈ 1e15: not guessable

# Which kinds may sit under which (R-ORG-1).
ALLOWED_PARENTS: dict[OrgKind, set[OrgKind | None]] = {
    OrgKind.CITY_OFFICE: {None},
    OrgKind.COUNTY_OFFICE: {None, OrgKind.CITY_OFFICE},
    OrgKind.TOWNSHIP: {OrgKind.COUNTY_OFFICE, None},
    OrgKind.STREET: {OrgKind.COUNTY_OFFICE, None},
    OrgKind.PARK: {OrgKind.COUNTY_OFFICE, None},
    OrgKind.CPPCC_SECTOR: {OrgKind.COUNTY_OFFICE, None},
    OrgKind.VILLAGE: {OrgKind.TOWNSHIP, OrgKind.STREET, OrgKind.PARK},
    OrgKind.COMMUNITY: {OrgKind.TOWNSHIP, OrgKind.STREET, OrgKind.PARK},
    OrgKind.ENTERPRISE: {OrgKind.TOWNSHIP, OrgKind.STREET, OrgKind.PARK, OrgKind.COUNTY_OFFICE},
}

BINDABLE_KINDS = {OrgKind.VILLAGE, OrgKind.COMMUNITY, OrgKind.ENTERPRISE}


def new_invite_code() -> str:
    """A fresh random invite code of 10 unambiguous characters."""
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))


def create_org(
    db: Session,
    *,
    code: str,
    name: str,
    kind: OrgKind | str,
    parent_code: str | None = None,
    platform_kind: PlatformKind | str = PlatformKind.ROOM,
) -> Organisation:
    """Add an organisation under its parent, checking the tree's shape."""
    if not CODE_RE.match(code):
        raise InvalidInput("组织代码只能用字母、数字和连字符（-），最长 40 个字符。")
    try:
        kind = OrgKind(kind)
        platform_kind = PlatformKind(platform_kind)
    except ValueError as exc:
        raise InvalidInput(f"不认识的类型：{exc}") from exc
    if db.scalar(select(Organisation.id).where(Organisation.code == code)) is not None:
        raise Conflict(f"组织代码 {code} 已经存在。")
    parent = get_org(db, parent_code) if parent_code else None
    if (parent.kind if parent else None) not in ALLOWED_PARENTS[kind]:
        under = parent.kind.label if parent else "顶层"
        raise InvalidInput(f"{kind.label}不能放在{under}下面。")
    org = Organisation(
        code=code,
        name=name.strip(),
        kind=kind,
        platform_kind=platform_kind,
        parent=parent,
        invite_code=new_invite_code(),
    )
    db.add(org)
    db.flush()
    return org


def get_org(db: Session, code: str) -> Organisation:
    """The organisation with this code, or NotFound."""
    org = db.scalar(select(Organisation).where(Organisation.code == code))
    if org is None:
        raise NotFound(f"没有代码为 {code} 的组织。")
    return org


def find_by_invite(db: Session, invite_code: str) -> Organisation | None:
    """The organisation whose invite code this is (case-insensitive), if any."""
    cleaned = invite_code.strip().upper()
    if not cleaned:
        return None
    return db.scalar(select(Organisation).where(Organisation.invite_code == cleaned))


def rotate_invite(db: Session, org: Organisation) -> str:
    """Give the organisation a new invite code; the old one stops working."""
    org.invite_code = new_invite_code()
    db.flush()
    return org.invite_code


def list_orgs(db: Session, under: Organisation | None = None) -> list[Organisation]:
    """All organisations, or those at or below one, in tree order."""
    everything = db.scalars(select(Organisation).order_by(Organisation.id)).all()
    by_parent: dict[int | None, list[Organisation]] = {}
    for org in everything:
        by_parent.setdefault(org.parent_id, []).append(org)
    roots = [under] if under else by_parent.get(None, [])
    ordered: list[Organisation] = []
    stack = list(reversed(roots))
    while stack:
        org = stack.pop()
        ordered.append(org)
        stack.extend(reversed(by_parent.get(org.id, [])))
    return ordered


def ancestors(org: Organisation) -> list[Organisation]:
    """The parent, grandparent, … of an organisation (nearest first)."""
    chain: list[Organisation] = []
    node = org.parent
    while node is not None:
        chain.append(node)
        node = node.parent
    return chain


def depth(org: Organisation) -> int:
    """How many levels sit above the organisation."""
    return len(ancestors(org))
