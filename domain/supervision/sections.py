"""The sections of the supervisors' view that ``domain/records`` keeps: 六有 (R-ORG-7) and participation (R-ORG-6)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from domain.records import six_have
from domain.records.participation import participation_summary
from models import Organisation

if TYPE_CHECKING:
    from domain.settings import Settings

logger = logging.getLogger(__name__)

PARTICIPATION = {"people": "人数", "expected": "应到会", "attended": "实到会", "speeches": "发言",
                 "proposed": "提议", "cosigned": "联名", "votes": "表决", "trainings": "培训"}


def six_have_gaps(db: Session, org: Organisation, now: datetime, settings: Settings) -> list[str]:
    """The 六有 items (有组织、有制度、有场所、有标识、有活动、有成效) the organisation's room lacks (R-ORG-7)."""
    return six_have.six_have_gaps(db, org, now, settings.rules, settings.tz)


def participation(db: Session, org: Organisation, now: datetime, settings: Settings) -> dict[str, int]:
    """Everyone's participation in the organisation over the last year, summed (R-ORG-6)."""
    until = now.astimezone(settings.tz).date()
    rows = participation_summary(db, org, until - timedelta(days=364), until, settings.tz)
    sums = dict.fromkeys(PARTICIPATION, 0)
    sums["people"] = len(rows)
    for row in rows:
        for key in PARTICIPATION:
            if key != "people":
                sums[key] += getattr(row.counts, key)
    return sums
