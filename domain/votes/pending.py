"""Whether a poll or a questionnaire may be open to a person: one cheap query before the exact checks.

The short 没看懂 suggests 投票 / 问卷 only when one is open for the person. The exact checks (who may vote,
whether they voted, whether their sheet is submitted) cost several queries per candidate; most people have
nothing open, and this one query tells so.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from models import Poll, Questionnaire

# Built once: an open poll or questionnaire (opened, not yet closed) in one of the organisations.
_MAYBE_OPEN = select(
    select(Poll.id).where(Poll.org_id.in_(bindparam("orgs", expanding=True)), Poll.closed_at.is_(None),
                          Poll.closes_at > bindparam("now"), Poll.opens_at <= bindparam("now")).exists(),
    select(Questionnaire.id).where(Questionnaire.org_id.in_(bindparam("orgs", expanding=True)),
                                   Questionnaire.closed_at.is_(None), Questionnaire.closes_at > bindparam("now"),
                                   Questionnaire.opens_at <= bindparam("now")).exists(),
)


def maybe_open(db: Session, org_ids: list[int], now: datetime) -> tuple[bool, bool]:
    """(a poll may be open, a questionnaire may be open) in these organisations: False means surely none."""
    if not org_ids:
        return False, False
    row = db.execute(_MAYBE_OPEN, {"orgs": org_ids, "now": now}).one()
    return bool(row[0]), bool(row[1])
