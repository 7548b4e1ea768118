"""Council composition checks (R-ORG-3, R-ORG-4, R-ORG-5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Organisation, Person, Role, RoleGrant

if TYPE_CHECKING:
    from domain.settings import RulesSettings


@dataclass
class Composition:
    """Counts of a council and what breaks the rules."""

    members: int
    public_servants: int
    convenors: int
    secretaries: int
    problems: list[str] = field(default_factory=list)


def composition(db: Session, org: Organisation, rules: RulesSettings) -> Composition:
    """Check the council against the membership rules; problems are in Chinese."""

    def count(role: Role, public_only: bool = False) -> int:
        stmt = select(func.count(RoleGrant.id)).where(
            RoleGrant.org_id == org.id, RoleGrant.role == role, RoleGrant.revoked_at.is_(None)
        )
        if public_only:
            stmt = stmt.where(RoleGrant.public_servant.is_(True))
        return int(db.scalar(stmt) or 0)

    report = Composition(
        members=count(Role.MEMBER),
        public_servants=count(Role.MEMBER, public_only=True),
        convenors=count(Role.CONVENOR),
        secretaries=count(Role.SECRETARY),
    )
    if report.members < rules.council_min_members:
        report.problems.append(f"成员只有 {report.members} 人，少于 {rules.council_min_members} 人。")
    if report.members > rules.council_max_members:
        report.problems.append(f"成员有 {report.members} 人，多于 {rules.council_max_members} 人。")
    if report.members and report.public_servants > report.members * rules.public_servant_max_ratio:
        share = f"{rules.public_servant_max_ratio.numerator}/{rules.public_servant_max_ratio.denominator}"
        report.problems.append(f"公职人员 {report.public_servants} 人，超过成员的 {share}。")
    if report.convenors == 0:
        report.problems.append("还没有召集人。")
    return report


def roster(db: Session, org: Organisation) -> dict[Role, list[str]]:
    """Names per active role in the organisation, in role order."""
    stmt = (
        select(RoleGrant.role, Person)
        .join(Person, Person.id == RoleGrant.person_id)
        .where(RoleGrant.org_id == org.id, RoleGrant.revoked_at.is_(None))
        .order_by(RoleGrant.id)
    )
    result: dict[Role, list[str]] = {}
    for role_value, person in db.execute(stmt):
        result.setdefault(Role(role_value), []).append(person.display_name)
    return {r: result[r] for r in Role if r in result}
