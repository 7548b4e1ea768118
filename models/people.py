"""People (followers and roster entries) and their role grants (R-ROLE-1..4)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, CreatedAt, enum_type, utcnow
from models.orgs import Organisation


class Role(enum.StrEnum):
    """A role a person holds in one organisation."""

    MEMBER = "member"  # 成员
    STAKEHOLDER = "stakeholder"  # 利益相关方代表
    CONVENOR = "convenor"  # 召集人
    CHAIR = "chair"  # 主持人
    SECRETARY = "secretary"  # 会议秘书
    PARTY_REVIEWER = "party_reviewer"  # 同级党组织审核人
    UPPER_OFFICE = "upper_office"  # 上级办公室
    GRID_WORKER = "grid_worker"  # 网格员/村干部 (代办)
    CPPCC_COMMITTEE = "cppcc_committee"  # 政协相关专委会: first review of CPPCC sector topics (L-三(二))
    DEPARTMENT = "department"  # 承办部门: returns the result feedback list (R-RES-4, L-三(七))

    @property
    def label(self) -> str:
        """The Chinese name of the role."""
        return ROLE_LABELS[self]


UNNAMED = "村民"  # the neutral name of a follower who has not said theirs (我叫 姓名): 村民12

ROLE_LABELS = {
    Role.MEMBER: "议事会成员",
    Role.STAKEHOLDER: "利益相关方代表",
    Role.CONVENOR: "召集人",
    Role.CHAIR: "主持人",
    Role.SECRETARY: "会议秘书",
    Role.PARTY_REVIEWER: "党组织审核人",
    Role.UPPER_OFFICE: "上级办公室",
    Role.GRID_WORKER: "网格员",
    Role.CPPCC_COMMITTEE: "政协专委会",
    Role.DEPARTMENT: "承办部门",
}


class Person(CreatedAt, Base):
    """A follower of the account, or a villager on a roster without WeChat."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    nickname: Mapped[str | None] = mapped_column(String(64))
    real_name: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(20))
    home_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    subscribed: Mapped[bool] = mapped_column(default=False)
    subscribed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    bound_at: Mapped[datetime | None]
    last_message_at: Mapped[datetime | None]
    # Marked by a convenor as needing help (代办 is only for them); None = not marked.
    needs_help_at: Mapped[datetime | None]
    needs_help_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    home_org: Mapped[Organisation | None] = relationship()
    grants: Mapped[list[RoleGrant]] = relationship(back_populates="person", foreign_keys="RoleGrant.person_id")

    @property
    def display_name(self) -> str:
        """The name shown to others: real name, nickname, else 村民 and a short number (their id: stable, no openid)."""
        if self.real_name:
            return self.real_name
        if self.nickname:
            return self.nickname
        return f"{UNNAMED}{self.id or ''}"


class RoleGrant(CreatedAt, Base):
    """A role held in one organisation; revoking keeps the row as history."""

    __tablename__ = "role_grants"
    __table_args__ = (
        Index(
            "uq_role_grants_active",
            "person_id",
            "org_id",
            "role",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_type(Role))
    public_servant: Mapped[bool] = mapped_column(default=False)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    person: Mapped[Person] = relationship(back_populates="grants", foreign_keys=[person_id])
    org: Mapped[Organisation] = relationship()

    def revoke(self) -> None:
        """Mark the grant revoked now."""
        self.revoked_at = utcnow()


class Membership(CreatedAt, Base):
    """One stint of a person in a home organisation: every bind and move is a row (issue 12)."""

    __tablename__ = "memberships"
    __table_args__ = (
        Index("uq_memberships_open", "person_id", unique=True, postgresql_where=text("ended_at IS NULL")),
        Index("ix_memberships_org_span", "org_id", "counts_from", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    from_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    started_at: Mapped[datetime]
    # Polls and questionnaires opening at or after this instant count the person here; None = any.
    counts_from: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    how: Mapped[str] = mapped_column(String(20))  # invite, roster, move, legacy
    by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    org: Mapped[Organisation] = relationship(foreign_keys=[org_id])
    from_org: Mapped[Organisation | None] = relationship(foreign_keys=[from_org_id])
    by: Mapped[Person | None] = relationship(foreign_keys=[by_id])
