"""Platforms (R-ORG-2, L-三(一)), their convenors (R-ORG-3; X-4..X-6, L-四(一)) and liaising CPPCC members
(L-四(二): "确保每个协商议事平台都有政协委员联系").

An organisation records its platform(s): a room, a member liaison point, a mobile room (with its schedule of
dates and places) or a joint room (with the villages it serves). The first convenor is the organisation's
convenor (role grant: the party secretary or head); at a village, community or enterprise the liaising CPPCC
member is the second convenor (X-5, X-6), so assigning one grants them the convenor role there.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.errors import Conflict, InvalidInput, NotFound
from domain.orgs import people
from models import (
    Organisation,
    OrgKind,
    Person,
    Platform,
    PlatformKind,
    PlatformLiaison,
    PlatformStop,
    PlatformVillage,
    Role,
)

logger = logging.getLogger(__name__)

KIND_LABELS = {PlatformKind.ROOM: "协商议事室", PlatformKind.LIAISON_POINT: "委员协商联系点",
               PlatformKind.MOBILE_ROOM: "流动协商议事室", PlatformKind.JOINT_ROOM: "联合协商议事室"}
KIND_WORDS = {**{label: kind for kind, label in KIND_LABELS.items()}, **{kind.value: kind for kind in PlatformKind}}
SERVED_KINDS = (OrgKind.VILLAGE, OrgKind.COMMUNITY)
SECOND_CONVENOR_KINDS = (OrgKind.VILLAGE, OrgKind.COMMUNITY, OrgKind.ENTERPRISE)
NAME_MAX_CHARS = 100
PLACE_MAX_CHARS = 200


def parse_kind(word: str) -> PlatformKind:
    """room / liaison_point / mobile_room / joint_room, or the Chinese name."""
    kind = KIND_WORDS.get(word.strip())
    if kind is None:
        raise InvalidInput(f"平台类型只能是：{'、'.join(KIND_LABELS.values())}。")
    return kind


def first_convenor_title(org: Organisation, kind: PlatformKind) -> str:
    """Who the first (or only) convenor is by the rules, for this organisation and platform kind."""
    if kind is not PlatformKind.ROOM:
        return "召集人（相关党组织负责人或界别召集人）"  # L-四(一)
    return {OrgKind.VILLAGE: "第一召集人（村党组织书记）", OrgKind.COMMUNITY: "第一召集人（社区党组织书记）",
            OrgKind.ENTERPRISE: "第一召集人（党组织或工会负责人）",
            OrgKind.CPPCC_SECTOR: "召集人（界别召集人）"}.get(org.kind, "召集人（政协工作委员会主任）")


def has_second_convenor(org: Organisation) -> bool:
    """Whether the liaising CPPCC member is the second convenor here (village, community, enterprise)."""
    return org.kind in SECOND_CONVENOR_KINDS


def _clean(text: str, limit: int, what: str) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        raise InvalidInput(f"{what}请控制在 {limit} 字以内。")
    return text


def add_platform(db: Session, org: Organisation, kind: PlatformKind | str, name: str = "", place: str = "") -> Platform:
    """Record a platform of the organisation, numbered 1, 2 … within it."""
    kind = kind if isinstance(kind, PlatformKind) else parse_kind(kind)
    if org.kind is OrgKind.COUNTY_OFFICE:
        raise InvalidInput("县区办公室不设协商议事平台，请在镇（街道）、村（社区）、单位或界别登记。")
    name = _clean(name, NAME_MAX_CHARS, "平台名称") or f"{org.name}{KIND_LABELS[kind]}"
    if db.scalar(select(Platform.id).where(Platform.org_id == org.id, Platform.name == name)) is not None:
        raise Conflict(f"{org.name}已经有“{name}”了。")
    number = (db.scalar(select(func.max(Platform.number)).where(Platform.org_id == org.id)) or 0) + 1
    platform = Platform(org_id=org.id, number=number, kind=kind, name=name, place=_clean(place, PLACE_MAX_CHARS, "地点"))
    db.add(platform)
    db.flush()
    return platform


def get_platform(db: Session, org: Organisation, number: int) -> Platform:
    """The organisation's platform with this number, or NotFound."""
    platform = db.scalar(select(Platform).where(Platform.org_id == org.id, Platform.number == number))
    if platform is None:
        raise NotFound(f"{org.name}没有平台 {number}（shangliang org platform list 查看）。")
    return platform


def platforms_of(db: Session, org: Organisation) -> list[Platform]:
    """The organisation's own platforms, by number."""
    return list(db.scalars(select(Platform).where(Platform.org_id == org.id).order_by(Platform.number)))


def serve(db: Session, platform: Platform, village: Organisation) -> None:
    """Let a joint room serve one more village or community."""
    if platform.kind is not PlatformKind.JOINT_ROOM:
        raise InvalidInput("只有联合协商议事室才登记服务的村（社区）。")
    if village.kind not in SERVED_KINDS:
        raise InvalidInput(f"{village.name}不是村或社区。")
    if db.get(PlatformVillage, (platform.id, village.id)) is not None:
        raise Conflict(f"{platform.name}已经服务{village.name}了。")
    db.add(PlatformVillage(platform_id=platform.id, org_id=village.id))
    db.flush()


def served(db: Session, platform: Platform) -> list[Organisation]:
    """The villages a joint room serves."""
    return list(db.scalars(select(Organisation).join(PlatformVillage, PlatformVillage.org_id == Organisation.id)
                           .where(PlatformVillage.platform_id == platform.id).order_by(Organisation.id)))


def serving(db: Session, village: Organisation) -> list[Platform]:
    """The joint rooms that serve a village."""
    return list(db.scalars(select(Platform).join(PlatformVillage, PlatformVillage.platform_id == Platform.id)
                           .where(PlatformVillage.org_id == village.id).order_by(Platform.id)))


def add_stop(db: Session, platform: Platform, on: date, place: str) -> PlatformStop:
    """Add a date and place to a mobile room's schedule."""
    if platform.kind is not PlatformKind.MOBILE_ROOM:
        raise InvalidInput("只有流动协商议事室才有流动安排。")
    place = _clean(place, PLACE_MAX_CHARS, "地点")
    if not place:
        raise InvalidInput("请写上地点。")
    if db.scalar(select(PlatformStop.id).where(PlatformStop.platform_id == platform.id, PlatformStop.on_date == on,
                                               PlatformStop.place == place)) is not None:
        raise Conflict(f"{on:%Y-%m-%d} {place} 已经在安排里了。")
    stop = PlatformStop(platform_id=platform.id, on_date=on, place=place)
    db.add(stop)
    db.flush()
    return stop


def stops(db: Session, platform: Platform, from_day: date | None = None) -> list[PlatformStop]:
    """A mobile room's schedule by date (from a day on, when given)."""
    stmt = select(PlatformStop).where(PlatformStop.platform_id == platform.id)
    if from_day is not None:
        stmt = stmt.where(PlatformStop.on_date >= from_day)
    return list(db.scalars(stmt.order_by(PlatformStop.on_date, PlatformStop.id)))


def liaisons(db: Session, platform: Platform) -> list[Person]:
    """The CPPCC members liaising with the platform now."""
    return list(db.scalars(select(Person).join(PlatformLiaison, PlatformLiaison.person_id == Person.id)
                           .where(PlatformLiaison.platform_id == platform.id, PlatformLiaison.ended_at.is_(None))
                           .order_by(PlatformLiaison.id)))


def _active(db: Session, platform: Platform, person: Person) -> PlatformLiaison | None:
    return db.scalar(select(PlatformLiaison).where(PlatformLiaison.platform_id == platform.id,
                                                   PlatformLiaison.person_id == person.id,
                                                   PlatformLiaison.ended_at.is_(None)))


def assign_liaison(db: Session, platform: Platform, person: Person) -> PlatformLiaison:
    """Name a liaising CPPCC member; at a village, community or enterprise they become second convenor."""
    if _active(db, platform, person) is not None:
        raise Conflict(f"{person.display_name} 已经是{platform.name}的联系委员了。")
    org = db.get(Organisation, platform.org_id)
    grant = has_second_convenor(org) and not people.has_role(db, person, org, Role.CONVENOR)
    if grant:
        people.grant_role(db, person, org, Role.CONVENOR)
    row = PlatformLiaison(platform_id=platform.id, person_id=person.id, granted_convenor=grant)
    db.add(row)
    db.flush()
    logger.info("platform %s: liaison person %s (convenor granted: %s)", platform.id, person.id, grant)
    return row


def end_liaison(db: Session, platform: Platform, person: Person, now: datetime) -> None:
    """End a liaison (kept as history); the convenor role it brought ends with it."""
    row = _active(db, platform, person)
    if row is None:
        raise NotFound(f"{person.display_name} 不是{platform.name}的联系委员。")
    row.ended_at = now
    org = db.get(Organisation, platform.org_id)
    other = db.scalar(select(PlatformLiaison).join(Platform, Platform.id == PlatformLiaison.platform_id).where(
        Platform.org_id == org.id, PlatformLiaison.person_id == person.id, PlatformLiaison.ended_at.is_(None)).limit(1))
    if row.granted_convenor and other is not None:
        other.granted_convenor = True  # still liaising here: the role stays, and ends with the last liaison
    elif row.granted_convenor and people.has_role(db, person, org, Role.CONVENOR):
        people.revoke_role(db, person, org, Role.CONVENOR)
    db.flush()


def convenors(db: Session, platform: Platform) -> list[tuple[str, list[str]]]:
    """(title, names) of the platform's convenors by the rules: the first, then the liaising member."""
    org = db.get(Organisation, platform.org_id)
    linked = liaisons(db, platform)
    linked_ids = {p.id for p in linked}
    first = [p.display_name for p in people.role_holders(db, org, Role.CONVENOR) if p.id not in linked_ids]
    result = [(first_convenor_title(org, platform.kind), first)]
    if has_second_convenor(org):
        result.append(("第二召集人（联系的政协委员）", [p.display_name for p in linked]))
    return result
