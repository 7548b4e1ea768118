"""The cadence watchdog (R-MEET-1): a village/enterprise council about every 2 months, a township council
about every 6, every platform at least twice a year; convenors are reminded before it falls due and again
(with the level above) once it is overdue."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.meetings.sweeps import each, exists
from domain.notices.outbox import convenor_ids, create_notice_if_new
from domain.notices.texts import cadence_body
from models import (
    Audience,
    Meeting,
    MeetingStatus,
    Notice,
    NoticeKind,
    Organisation,
    OrgKind,
    Role,
    RoleGrant,
)

if TYPE_CHECKING:
    from domain.settings import RulesSettings, Settings

NO_COUNCIL = (OrgKind.COUNTY_OFFICE, OrgKind.CITY_OFFICE)


def add_months(moment: datetime, months: int, tz: tzinfo) -> datetime:
    """The same local day and time ``months`` later (the 31st becomes the month's last day)."""
    local = moment.astimezone(tz)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def interval_months(org: Organisation, rules: RulesSettings) -> int:
    """How many months may pass between two councils of this organisation."""
    base = (rules.village_meeting_interval_months if org.kind.level == "grassroots"
            else rules.township_meeting_interval_months)
    if rules.meetings_min_per_year > 0:
        base = min(base, max(1, 12 // rules.meetings_min_per_year))
    return base


def last_meeting(db: Session, org: Organisation, now: datetime) -> datetime | None:
    """When the organisation's last council (not cancelled) started."""
    return db.scalar(select(func.max(Meeting.starts_at)).where(
        Meeting.org_id == org.id, Meeting.status != MeetingStatus.CANCELLED, Meeting.starts_at <= now))


def due_at(db: Session, org: Organisation, now: datetime, settings: Settings) -> tuple[datetime, datetime | None]:
    """(when the next council is due, when the last one was)."""
    last = last_meeting(db, org, now)
    return add_months(last or org.created_at, interval_months(org, settings.rules), settings.tz), last


def watch_cadence(db: Session, now: datetime, settings: Settings) -> list[Notice]:
    """Remind convenors whose council falls due within the lead time, or is overdue."""
    lead = timedelta(days=settings.scheduler.cadence_lead_days)
    with_convenor = select(RoleGrant.org_id).where(RoleGrant.role == Role.CONVENOR, RoleGrant.revoked_at.is_(None))
    orgs = db.scalars(select(Organisation).where(Organisation.id.in_(with_convenor),
                                                 Organisation.kind.not_in(NO_COUNCIL)).order_by(Organisation.id))

    def make(org: Organisation) -> Notice | None:
        planned = db.scalar(select(Meeting.id).where(
            Meeting.org_id == org.id, Meeting.status == MeetingStatus.SCHEDULED, Meeting.starts_at > now).limit(1))
        if planned is not None:
            return None  # the convenor has already arranged the next council
        due, last = due_at(db, org, now, settings)
        if now < due - lead:
            return None
        overdue = now >= due
        key = f"cadence:o{org.id}:{due.astimezone(settings.tz).date().isoformat()}:{'overdue' if overdue else 'soon'}"
        if exists(db, Notice.source_key == key):
            return None
        told = [org.id] + ([org.parent_id] if overdue and org.parent_id else [])
        return create_notice_if_new(
            db, org=org, kind=NoticeKind.REMINDER, audience=Audience.NAMED, recipients=convenor_ids(told),
            title="协商议事会议已超期" if overdue else "协商议事会议快到期了",
            body=cadence_body(org, due, last, overdue, settings.tz), now=now, source_key=key,
        )

    return each(db, list(orgs), make, "cadence watchdog")
