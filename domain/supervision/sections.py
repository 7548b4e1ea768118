"""The sections of the supervisors' view that ``domain/records`` keeps: 六有 (R-ORG-7) and participation (R-ORG-6),
for every organisation below an office at once (a few GROUP BY organisation queries, however many there are)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from domain.records import six_have
from domain.records.participation import totals_by_org

if TYPE_CHECKING:
    from domain.settings import Settings

logger = logging.getLogger(__name__)

PARTICIPATION = {"people": "人数", "expected": "应到会", "attended": "实到会", "speeches": "发言",
                 "proposed": "提议", "cosigned": "联名", "votes": "表决", "trainings": "培训",
                 "questionnaires": "问卷"}


def six_have_gaps(db: Session, org_ids: Iterable[int], now: datetime, settings: Settings) -> dict[int, list[str]]:
    """The 六有 items (有组织、有制度、有场所、有标识、有活动、有成效) each organisation's room lacks (R-ORG-7)."""
    return six_have.gaps_by_org(db, org_ids, now, settings.rules, settings.tz)


def participation(db: Session, org_ids: Iterable[int], now: datetime, settings: Settings) -> dict[int, dict[str, int]]:
    """Everyone's participation in each organisation over the last year, summed (R-ORG-6)."""
    until = now.astimezone(settings.tz).date()
    found = {}
    for org_id, (people, counts) in totals_by_org(db, org_ids, until - timedelta(days=364), until, settings.tz).items():
        found[org_id] = {"people": people, **{key: getattr(counts, key) for key in PARTICIPATION if key != "people"}}
    return found


def attendance_rate(sums: dict[str, int] | None) -> int | None:
    """Attended of expected, in whole per cent (None: nobody was expected)."""
    if not sums or not sums["expected"]:
        return None
    return round(100 * sums["attended"] / sums["expected"])
