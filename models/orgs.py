"""Organisations: the council tree (R-ORG-1, R-ORG-2)."""

from __future__ import annotations

import enum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, CreatedAt, enum_type


class OrgKind(enum.StrEnum):
    """What an organisation is; decides its level in the tree."""

    CITY_OFFICE = "city_office"  # 市领导小组办公室: the top of escalation (R-RES-5)
    COUNTY_OFFICE = "county_office"  # 县区领导小组办公室
    TOWNSHIP = "township"  # 镇
    STREET = "street"  # 街道
    PARK = "park"  # 园区
    VILLAGE = "village"  # 村
    COMMUNITY = "community"  # 社区
    ENTERPRISE = "enterprise"  # 企事业单位
    CPPCC_SECTOR = "cppcc_sector"  # 政协界别

    @property
    def level(self) -> str:
        """city, county, township or grassroots (village level)."""
        if self is OrgKind.CITY_OFFICE:
            return "city"
        if self is OrgKind.COUNTY_OFFICE:
            return "county"
        if self in (OrgKind.TOWNSHIP, OrgKind.STREET, OrgKind.PARK, OrgKind.CPPCC_SECTOR):
            return "township"
        return "grassroots"

    @property
    def label(self) -> str:
        """The Chinese name of the kind."""
        return ORG_KIND_LABELS[self]


ORG_KIND_LABELS = {
    OrgKind.CITY_OFFICE: "市办公室",
    OrgKind.COUNTY_OFFICE: "县区办公室",
    OrgKind.TOWNSHIP: "镇",
    OrgKind.STREET: "街道",
    OrgKind.PARK: "园区",
    OrgKind.VILLAGE: "村",
    OrgKind.COMMUNITY: "社区",
    OrgKind.ENTERPRISE: "企事业单位",
    OrgKind.CPPCC_SECTOR: "政协界别",
}


class PlatformKind(enum.StrEnum):
    """The four platform kinds of L-三(一) (R-ORG-2)."""

    ROOM = "room"  # 协商议事室
    LIAISON_POINT = "liaison_point"  # 委员协商联系点
    MOBILE_ROOM = "mobile_room"  # 流动协商议事室
    JOINT_ROOM = "joint_room"  # 联合协商议事室


class Organisation(CreatedAt, Base):
    """A council-holding organisation; parents supervise their children."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[OrgKind] = mapped_column(enum_type(OrgKind))
    platform_kind: Mapped[PlatformKind] = mapped_column(enum_type(PlatformKind), default=PlatformKind.ROOM)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    invite_code: Mapped[str] = mapped_column(String(32), unique=True)
    wechat_tag_id: Mapped[int | None]

    parent: Mapped[Organisation | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Organisation]] = relationship(back_populates="parent")

    def __repr__(self) -> str:
        return f"<Organisation {self.code} {self.name}>"
