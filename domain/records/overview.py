"""The lines ``shangliang org show`` prints for records: platforms with convenors and liaisons, and 六有."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from sqlalchemy.orm import Session

from domain.records import platforms, six_have
from domain.records.participation import DEFAULT_TZ
from domain.settings import RulesSettings
from models import Organisation, OrgKind, Platform, PlatformKind

STOPS_SHOWN = 3


def platform_flags(db: Session, org: Organisation) -> list[str]:
    """What breaks L-三(一) / L-四(二) here: no platform at all, or a platform without a liaising CPPCC member."""
    if org.kind is OrgKind.COUNTY_OFFICE:
        return []
    own = platforms.platforms_of(db, org)
    if not own and not platforms.serving(db, org):
        return ["还没有登记协商议事平台，也就没有联系的政协委员（L-三(一)、L-四(二)）。"]
    return [f"平台 {p.number} {p.name} 没有联系的政协委员（L-四(二)）。" for p in own if not platforms.liaisons(db, p)]


def platform_lines(db: Session, platform: Platform, today: date) -> list[str]:
    """A platform with its convenors, liaising members, villages served and coming stops."""
    lines = [f"  平台 {platform.number}：{platform.name}（{platforms.KIND_LABELS[platform.kind]}）"
             + (f" 地点：{platform.place}" if platform.place else "")]
    for title, names in platforms.convenors(db, platform):
        lines.append(f"    {title}：{'、'.join(names) if names else '（空缺）'}")
    linked = platforms.liaisons(db, platform)
    lines.append(f"    联系的政协委员：{'、'.join(p.display_name for p in linked) if linked else '（没有）'}")
    if platform.kind is PlatformKind.JOINT_ROOM:
        villages = platforms.served(db, platform)
        lines.append(f"    服务：{'、'.join(v.name for v in villages) if villages else '（还没有登记服务的村）'}")
    if platform.kind is PlatformKind.MOBILE_ROOM:
        coming = platforms.stops(db, platform, today)
        shown = "；".join(f"{s.on_date:%Y-%m-%d} {s.place}" for s in coming[:STOPS_SHOWN])
        lines.append(f"    流动安排：{shown or '（没有今后的安排）'}" + (f" 等 {len(coming)} 处" if len(coming) > STOPS_SHOWN else ""))
    return lines


def org_lines(db: Session, org: Organisation, now: datetime, rules: RulesSettings, tz: tzinfo = DEFAULT_TZ) -> list[str]:
    """Platforms (with flags) and the 六有 record of one organisation, as indented lines."""
    if org.kind is OrgKind.COUNTY_OFFICE:
        return []
    today = now.astimezone(tz).date()
    lines = ["  协商议事平台："]
    for platform in platforms.platforms_of(db, org):
        lines += platform_lines(db, platform, today)
    lines += [f"  由 {p.org.name} {p.name} 联合服务" for p in platforms.serving(db, org)]
    lines += [f"  ⚠ {flag}" for flag in platform_flags(db, org)]
    lines.append(f"  六有（有活动、有成效看近 {rules.six_have_period_months} 个月）：")
    lines += six_have.lines(six_have.six_have(db, org, now, rules, tz))
    return lines
