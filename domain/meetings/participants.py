"""Who is expected at a meeting, per meeting and per topic (X-13.3), and the checks on it.

X-13.3: "根据协商议题，确定每次会议应到会人数". The expected attendees are the council's members, the
stakeholder representatives invited for the topic (X-8.2; by default the organisation's approved
stakeholder representatives), and other invited people (X-8.3). Scheduling is refused, naming the
rule and the numbers, when stakeholders are below ``[rules] stakeholder_min_ratio`` of the expected
participants (R-MEET-4) or the council breaks R-ORG-4 (10–30 members, at most 20% public servants).
The chair is a convenor or, by delegation, a member (X-13.1); the chair names the secretary (X-13.2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import InvalidInput, NotFound
from domain.orgs import people
from domain.orgs.council import composition
from models import AttendeeKind, Organisation, Person, Role, RoleGrant

if TYPE_CHECKING:
    from domain.settings import Settings


@dataclass
class Plan:
    """The people a meeting expects, and who runs it."""

    kinds: dict[int, AttendeeKind] = field(default_factory=dict)
    chair_id: int | None = None
    secretary_id: int | None = None

    @property
    def stakeholders(self) -> int:
        """How many stakeholder representatives are expected."""
        return sum(1 for kind in self.kinds.values() if kind is AttendeeKind.STAKEHOLDER)


def _holders(db: Session, org: Organisation, role: Role) -> list[int]:
    stmt = select(RoleGrant.person_id).where(RoleGrant.org_id == org.id, RoleGrant.role == role,
                                             RoleGrant.revoked_at.is_(None)).order_by(RoleGrant.id)
    return list(dict.fromkeys(db.scalars(stmt)))


def _existing(db: Session, ids: Iterable[int], what: str) -> list[int]:
    found = []
    for person_id in ids:
        if db.get(Person, person_id) is None:
            raise NotFound(f"找不到{what}（编号 {person_id}）。")
        found.append(person_id)
    return found


def plan(db: Session, org: Organisation, *, stakeholder_ids: Iterable[int] = (), invited_ids: Iterable[int] = (),
         chair_id: int | None = None, secretary_id: int | None = None) -> Plan:
    """Members, stakeholders (named, else the organisation's) and invited people; chair and secretary."""
    result = Plan()
    for person_id in _holders(db, org, Role.MEMBER):
        result.kinds[person_id] = AttendeeKind.MEMBER
    named = _existing(db, stakeholder_ids, "利益相关方")
    for person_id in named or _holders(db, org, Role.STAKEHOLDER):
        result.kinds[person_id] = AttendeeKind.STAKEHOLDER
    for person_id in _existing(db, invited_ids, "受邀人员"):
        result.kinds.setdefault(person_id, AttendeeKind.INVITED)
    if chair_id is not None:
        chair = db.get(Person, chair_id)
        if chair is None:
            raise NotFound(f"找不到主持人（编号 {chair_id}）。")
        if not people.has_role(db, chair, org, Role.CONVENOR, Role.CHAIR, Role.MEMBER):
            raise InvalidInput(f"主持人由召集人担任，也可以委托{org.name}协商议事会成员担任；{chair.display_name}不是。")
        result.chair_id = chair_id
    if secretary_id is not None:
        result.secretary_id = _existing(db, [secretary_id], "会议秘书")[0]
    return result


def check(db: Session, org: Organisation, planned: Plan, settings: Settings) -> None:
    """Refuse a meeting whose participants break R-MEET-4 or whose council breaks R-ORG-4."""
    rules = settings.rules
    council = composition(db, org, rules)
    broken = [p for p in council.problems if "召集人" not in p]
    if broken:
        raise InvalidInput(f"{org.name}协商议事会不符合规定（R-ORG-4）：{''.join(broken)}请先调整成员再安排会议。")
    total = len(planned.kinds)
    if total == 0 or Fraction(planned.stakeholders, total) < rules.stakeholder_min_ratio:
        need = stakeholders_needed(total - planned.stakeholders, rules.stakeholder_min_ratio)
        share = f"{round(100 * planned.stakeholders / total)}%" if total else "0%"
        raise InvalidInput(f"利益相关方代表 {planned.stakeholders} 人，只占应到 {total} 人的 {share}，"
                           f"每次会议至少要{_ratio(rules.stakeholder_min_ratio)}（R-MEET-4：至少 {need} 人）。"
                           f"请先确定利益相关方代表。")


def stakeholders_needed(others: int, ratio: Fraction) -> int:
    """The fewest stakeholders that make ``ratio`` of everyone expected, beside ``others`` (s ≥ r·o/(1−r))."""
    if ratio >= 1:
        return others + 1 if others else 1
    numerator, denominator = ratio.numerator * others, ratio.denominator - ratio.numerator
    return max(1, -(-numerator // denominator))


def _ratio(ratio: Fraction) -> str:
    return "一半" if ratio == Fraction(1, 2) else f"{round(float(ratio) * 100)}%"
