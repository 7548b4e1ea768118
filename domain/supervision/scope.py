"""Whom an upper office supervises: every organisation below the one where it holds the role (R-RES-7)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from domain.errors import InvalidInput, PermissionDenied
from domain.orgs import people
from domain.orgs import tree as org_tree
from models import Organisation, Person, Role

SUPERVISOR_ROLES = (Role.UPPER_OFFICE,)


def offices(db: Session, person: Person) -> list[Organisation]:
    """The organisations where the person holds the upper-office role."""
    return people.role_orgs(db, person, *SUPERVISOR_ROLES)


def choose_office(db: Session, person: Person, code: str = "") -> Organisation:
    """The office the person supervises from: the only one, or the one named by its code."""
    mine = offices(db, person)
    if not mine:
        raise PermissionDenied("只有镇（街道）或县区协商办公室的人员可以查看监督情况。")
    if code:
        for org in mine:
            if org.code == code.strip():
                return org
        raise PermissionDenied(f"您不是 {code.strip()} 的上级办公室人员。")
    if len(mine) > 1:
        codes = "、".join(f"{o.name}（{o.code}）" for o in mine)
        raise InvalidInput(f"您在几个单位任上级办公室：{codes}。请发送“监督 代码”，例如：监督 {mine[0].code}。")
    return mine[0]


def require_office(db: Session, person: Person, org: Organisation) -> None:
    """Refuse someone without the upper-office role in org or in an organisation above it (X-15: a county
    office supervises every township below it, and what is below those)."""
    if not any(people.has_role(db, person, office, *SUPERVISOR_ROLES) for office in [org, *org_tree.ancestors(org)]):
        raise PermissionDenied(f"只有{org.name}的上级办公室人员可以查看监督情况。")


def children(db: Session, office: Organisation) -> list[Organisation]:
    """Every organisation below the office (children, grandchildren, …), in tree order."""
    return [org for org in org_tree.list_orgs(db, office) if org.id != office.id]
