"""Recording what WeChat answered: sent, retry later with backoff, or failed for good (in batches)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from domain.notices.delivery import ERROR_REASONS, Attempt
from models import Delivery, DeliveryStatus, Person
from models.db import WROTE

if TYPE_CHECKING:
    from domain.settings import Settings

UNFOLLOWED_CODE = 43004
TABLE = Delivery.__table__
# Only the attempt we started may record its result (a re-claimed copy belongs to its new worker).
MARK_SENT = text("""
    UPDATE deliveries AS d SET status = 'sent', sent_at = :now, wechat_msgid = v.msgid, lease_until = NULL,
           last_error = NULL
    FROM unnest(CAST(:ids AS bigint[]), CAST(:attempts AS integer[]), CAST(:msgids AS text[]))
         AS v(id, attempt, msgid)
    WHERE d.id = v.id AND d.claimed_by = :worker AND d.attempts = v.attempt AND d.status = 'sending'
""")


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: accepted (with WeChat's msgid) or an error."""

    attempt: Attempt
    ok: bool
    msgid: str | None = None
    errcode: int | None = None
    errmsg: str = ""
    retryable: bool = False


def error_reason(errcode: int | None, errmsg: str) -> str:
    """A short Chinese reason for a WeChat error, with its code."""
    if errcode is None:
        return f"网络超时或连接失败（{errmsg[:80]}）"
    return f"{ERROR_REASONS.get(errcode, '微信返回错误')}（{errcode}）"


def retry_delay(attempt: int, settings: Settings, rng: Callable[[], float] = random.random) -> timedelta:
    """Exponential backoff with jitter: base * 2^(attempt-1), capped, times 0.5–1.5."""
    d = settings.delivery
    base = min(d.retry_max_seconds, d.retry_base_seconds * 2 ** max(attempt - 1, 0))
    return timedelta(seconds=base * (0.5 + rng()))


def _guard() -> list:
    """Only the attempt we started may record its result (a re-claimed copy belongs to its new worker)."""
    return [TABLE.c.id == bindparam("b_id"), TABLE.c.claimed_by == bindparam("b_worker"),
            TABLE.c.attempts == bindparam("b_attempt"), TABLE.c.status == DeliveryStatus.SENDING.value]


def record_outcomes(db: Session, outcomes: list[Outcome], *, worker: str, now: datetime,
                    settings: Settings) -> Counter[str]:
    """Record a batch of results; returns counts of sent / retry / failed."""
    counts: Counter[str] = Counter()
    sent = [o for o in outcomes if o.ok]
    if sent:  # one set-based statement for the whole batch
        db.execute(MARK_SENT, {"ids": [o.attempt.delivery_id for o in sent], "attempts": [o.attempt.attempt for o in sent],
                               "msgids": [o.msgid for o in sent], "worker": worker, "now": now})
        counts["sent"] += len(sent)
    failed: list[dict] = []
    for o in outcomes:
        if o.ok:
            continue
        final = not o.retryable or o.attempt.attempt >= settings.delivery.max_attempts
        counts["failed" if final else "retry"] += 1
        failed.append({
            "b_id": o.attempt.delivery_id, "b_worker": worker, "b_attempt": o.attempt.attempt,
            "b_status": (DeliveryStatus.FAILED if final else DeliveryStatus.PENDING).value,
            "b_reason": error_reason(o.errcode, o.errmsg),
            "b_next": now if final else now + retry_delay(o.attempt.attempt, settings),
        })
    if failed:
        db.execute(update(TABLE).where(*_guard()).values(
            status=bindparam("b_status"), last_error=bindparam("b_reason"), next_attempt_at=bindparam("b_next"),
            lease_until=None, claimed_by=None), failed)
    gone = sorted({o.attempt.openid for o in outcomes if not o.ok and o.errcode == UNFOLLOWED_CODE})
    if gone:  # WeChat says they unfollowed: stop queueing pushes for them
        db.execute(update(Person).where(Person.openid.in_(gone), Person.subscribed.is_(True))
                   .values(subscribed=False, unsubscribed_at=now))
    return counts


def switch_channel(db: Session, attempt: Attempt, *, worker: str, channel: str) -> Attempt | None:
    """Record that this attempt falls back to another channel (before calling it)."""
    done = db.execute(update(TABLE).where(*_guard()).values(channel=channel),
                      {"b_id": attempt.delivery_id, "b_worker": worker, "b_attempt": attempt.attempt}).rowcount
    return Attempt(attempt.delivery_id, attempt.attempt, channel, attempt.openid, attempt.kind,
                   attempt.notice_id) if done else None


# One indexed UPDATE per receipt (every template push brings one back): a copy still SENT that WeChat could not
# deliver becomes FAILED with the reason; the CASEs read the row as it was before the UPDATE. The first receipt is
# WeChat's word: a replayed or contradicting one (final_status already set) changes nothing.
_JOB_FINISH = text("""
    UPDATE deliveries SET final_status = :final,
           status = CASE WHEN :failed AND status = 'sent' THEN 'failed' ELSE status END,
           last_error = CASE WHEN :failed AND status = 'sent' THEN :error ELSE last_error END
    WHERE wechat_msgid = :msgid AND openid = :openid AND wechat_msgid IS NOT NULL AND final_status IS NULL
    RETURNING id
""")


def record_job_finish(db: Session, *, msgid: str, openid: str, status: str) -> int | None:
    """TEMPLATESENDJOBFINISH: WeChat's final word on a template message ("success" or "failed…"); the copy's id."""
    failed = bool(status) and status.strip().lower() != "success"
    error = ("用户拒收" if "block" in status.lower() else f"微信回执：{status[:40]}") if failed else None
    db.flush()
    conn = db.connection()
    wrote = conn.info.get(WROTE, False)
    found = db.scalar(_JOB_FINISH, {"final": (status or "")[:64], "failed": failed, "error": error,
                                    "msgid": str(msgid), "openid": openid})
    if found is None:
        conn.info[WROTE] = wrote  # it matched no copy and changed nothing: the webhook keeps no row for it either
    return found


def outstanding(db: Session, now: datetime) -> tuple[int, datetime | None]:
    """How many copies are not final yet, and when the earliest of them can next be claimed."""
    ready = func.greatest(Delivery.next_attempt_at, func.coalesce(Delivery.lease_until, now))
    count, earliest = db.execute(
        select(func.count(Delivery.id), func.min(ready))
        .where(Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]))
    ).one()
    return int(count or 0), earliest
