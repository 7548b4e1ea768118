"""The outbox's state machine: claim due copies, mark an attempt, record its result (exactly once per copy).

A copy is PENDING → (claimed: lease) → SENDING (attempt n, before WeChat is called) → SENT | PENDING (retry
later) | FAILED | SKIPPED. A sender killed mid-send leaves SENDING rows whose lease runs out; they are claimed
again and re-sent under the same idempotency key (template client_msg_id = d<delivery id>).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, select, text, update
from sqlalchemy.orm import Session

from models import (
    Delivery,
    DeliveryStatus,
    Meeting,
    MeetingAttendee,
    MeetingStatus,
    Notice,
    NoticeKind,
    Person,
)

if TYPE_CHECKING:
    from domain.settings import Settings

ACCOUNT_CHANNELS: dict[str, tuple[str, ...]] = {
    "service_verified": ("template", "custom"),
    "subscription_verified": ("custom",),
    "service": (),
    "subscription": (),
}
NO_PUSH_REASON = "账号类型不支持主动推送"
OUT_OF_WINDOW_REASON = "超过48小时没有互动，本账号无法主动推送（可发“通知”查看）"
STALE_MEETING_REASON = "会议已改期/取消"
STARTED_REASON = "会议已开始，提醒不再发送"
UNFOLLOWED_REASON = "对方已取消关注"
ACTED_REASON = "已办理，无需提醒"
CLOSED_REASON = "通知已撤下"
MEETING_KINDS = (NoticeKind.MEETING_NOTICE, NoticeKind.TOPIC_NOTICE)
ERROR_REASONS = {
    -1: "微信系统繁忙",
    40003: "openid 无效",
    40036: "模板ID无效（请检查 [delivery] template_ids）",
    40037: "模板ID无效（请检查 [delivery] template_ids）",
    43004: UNFOLLOWED_REASON,
    43101: "用户拒收此类消息",
    45009: "接口调用次数已达今日上限",
    45011: "接口调用太频繁",
    45015: "超过48小时没有互动",
    45047: "客服消息条数已用完",
    47003: "消息内容不符合模板要求",
    48001: "接口未授权（账号类型或权限不对）",
}


MARK_SENDING = text("""
    UPDATE deliveries AS d SET status = 'sending', attempts = v.attempts, channel = v.channel, lease_until = :lease
    FROM unnest(CAST(:ids AS bigint[]), CAST(:attempts AS integer[]), CAST(:channels AS text[]))
         AS v(id, attempts, channel)
    WHERE d.id = v.id
""")
MARK_SKIPPED = text("""
    UPDATE deliveries AS d SET status = 'skipped', last_error = v.reason, lease_until = NULL
    FROM unnest(CAST(:ids AS bigint[]), CAST(:reasons AS text[])) AS v(id, reason)
    WHERE d.id = v.id
""")


@dataclass(frozen=True)
class Attempt:
    """One send about to happen: which copy, which try, which channel, of which notice."""

    delivery_id: int
    attempt: int
    channel: str
    openid: str
    kind: str
    notice_id: int

    @property
    def client_msg_id(self) -> str:
        """The idempotency key WeChat dedupes template sends by."""
        return f"d{self.delivery_id}"


CLAIM_DUE = """
    WITH due AS (
        SELECT d.id FROM deliveries d JOIN notices n ON n.id = d.notice_id
        WHERE d.status IN ('pending', 'sending') AND d.next_attempt_at <= :now
          AND (d.lease_until IS NULL OR d.lease_until < :now) AND n.delivery_plan = 'direct'
        ORDER BY d.next_attempt_at, d.id
        LIMIT :batch
        FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE deliveries SET lease_until = :lease, claimed_by = :worker
"""
# For this transaction only: walk ix_deliveries_claim in claim order and stop after one batch. Left to its
# estimates (the join with notices, statistics older than a large broadcast), the planner may instead sort
# every waiting copy on every claim: 0.5-0.8 s each with 1,000,000 waiting. A sort of a few rows is never
# needed: the index gives the order.
CLAIM_PLAN = text("SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true), "
                  "set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)")
CLAIMED_ROWS = text(CLAIM_DUE + """
    FROM due, people p WHERE deliveries.id = due.id AND p.id = deliveries.person_id
    RETURNING deliveries.id, deliveries.status, deliveries.openid, deliveries.channel, deliveries.attempts,
              deliveries.person_id, deliveries.notice_id, p.subscribed, p.last_message_at
""")


def claim_due(db: Session, *, worker: str, now: datetime, lease_seconds: int, batch: int) -> list[int]:
    """Reserve up to ``batch`` due copies for this worker (SKIP LOCKED: two workers never get the same row)."""
    stmt = text(CLAIM_DUE + " FROM due WHERE deliveries.id = due.id RETURNING deliveries.id")
    db.execute(CLAIM_PLAN)
    rows = db.execute(stmt, {"now": now, "batch": batch, "worker": worker,
                             "lease": now + timedelta(seconds=lease_seconds)})
    return sorted(r[0] for r in rows)


def release(db: Session, ids: list[int], worker: str) -> int:
    """Give back claimed copies this worker did not start (graceful stop)."""
    if not ids:
        return 0
    stmt = (
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.claimed_by == worker, Delivery.status == DeliveryStatus.PENDING)
        .values(lease_until=None, claimed_by=None)
    )
    return db.execute(stmt).rowcount or 0


def choose_channel(account_type: str, last_message_at: datetime | None, now: datetime, window_hours: float,
                   previous: str | None) -> str | None:
    """Customer-service (full text) inside the 48-hour window, else template; None if the account has neither."""
    channels = ACCOUNT_CHANNELS.get(account_type, ())
    if previous == "template" and "template" in channels:
        return "template"  # an unknown earlier result: repeat under the same client_msg_id
    in_window = last_message_at is not None and now - last_message_at < timedelta(hours=window_hours)
    if "custom" in channels and in_window and previous != "custom":
        return "custom"
    if "template" in channels:
        return "template"
    if "custom" in channels and in_window:
        return "custom"
    return None


def _acted_meeting(db: Session, meeting_id: int, person_id: int) -> bool:
    return db.scalar(select(MeetingAttendee.id).where(
        MeetingAttendee.meeting_id == meeting_id, MeetingAttendee.person_id == person_id,
        MeetingAttendee.checked_in_at.is_not(None))) is not None


def _acted_poll(db: Session, poll_id: int, person_id: int) -> bool:
    try:
        from domain.votes import polls  # type: ignore[attr-defined]
    except ImportError:
        return False
    has_voted = getattr(polls, "has_voted", None)
    return bool(has_voted(db, poll_id, person_id)) if callable(has_voted) else False


ACTED_CHECKS: dict[str, Callable[[Session, int, int], bool]] = {"meeting": _acted_meeting, "poll": _acted_poll}


def already_acted(db: Session, notice: Notice, person_id: int) -> bool:
    """Whether the recipient already did what a reminder asks (checked in, voted)."""
    if not notice.skip_if_acted:
        return False
    kind, _, ref = notice.skip_if_acted.partition(":")
    check = ACTED_CHECKS.get(kind)
    return bool(check and ref.isdigit() and check(db, int(ref), person_id))


def stale_reason(db: Session, notice: Notice, now: datetime) -> str | None:
    """Why a notice's unsent copies must not go out any more, or None.

    A closed notice (withdrawn, replaced, window over) is not pushed any more; a reminder written for a meeting
    version that moved or was cancelled is stale; so is any meeting notice of a cancelled meeting.
    """
    if notice.closed_at is not None:
        return notice.closed_reason or CLOSED_REASON
    if notice.meeting_id is None:
        return None
    meeting = db.get(Meeting, notice.meeting_id)
    if notice.meeting_version is not None:
        if meeting is None or meeting.status is not MeetingStatus.SCHEDULED or meeting.version != notice.meeting_version:
            return STALE_MEETING_REASON
        if meeting.starts_at <= now:
            return STARTED_REASON
    elif notice.kind in MEETING_KINDS and (meeting is None or meeting.status is MeetingStatus.CANCELLED):
        return STALE_MEETING_REASON
    return None


def begin_attempts(db: Session, ids: list[int], *, worker: str, now: datetime, settings: Settings) -> list[Attempt]:
    """Mark claimed copies SENDING with their attempt number before WeChat is called (one transaction).

    Copies that must not go out any more (meeting moved, notice withdrawn, unfollowed, already acted, no channel)
    are marked SKIPPED with the reason; copies no longer ours (lease ran out) are left alone.
    """
    if not ids:
        return []
    rows = db.execute(
        select(Delivery.id, Delivery.status, Delivery.claimed_by, Delivery.lease_until, Delivery.openid,
               Delivery.channel, Delivery.attempts, Delivery.person_id, Delivery.notice_id,
               Person.subscribed, Person.last_message_at)
        .join(Person, Person.id == Delivery.person_id)
        .where(Delivery.id.in_(ids)).order_by(Delivery.id).with_for_update(of=Delivery)
    ).all()
    ours = [r for r in rows if r.claimed_by == worker and r.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
            and r.lease_until is not None and r.lease_until >= now]  # else another worker may hold it now
    return _begin_rows(db, ours, now=now, settings=settings)


def _begin_rows(db: Session, rows: Sequence[Row[Any]], *, now: datetime, settings: Settings) -> list[Attempt]:
    """Decide skip or channel for claimed rows (this worker's) and mark them, one statement per outcome."""
    notices = {n.id: n for n in db.scalars(select(Notice).where(Notice.id.in_({r.notice_id for r in rows})))}
    stale = {notice_id: stale_reason(db, notice, now) for notice_id, notice in notices.items()}
    lease_until = now + timedelta(seconds=settings.delivery.lease_seconds)
    attempts: list[Attempt] = []
    skipped: list[tuple[int, str]] = []
    for r in sorted(rows, key=lambda row: row.id):
        notice = notices[r.notice_id]
        reason = stale[r.notice_id]
        if reason is None and (not r.subscribed or not r.openid):
            reason = UNFOLLOWED_REASON
        if reason is None and already_acted(db, notice, r.person_id):
            reason = ACTED_REASON
        channel = None
        if reason is None:
            previous = r.channel if r.status == DeliveryStatus.SENDING else None
            channel = choose_channel(settings.wechat.account_type, r.last_message_at, now,
                                     settings.delivery.service_window_hours, previous)
            if channel is None:
                reason = OUT_OF_WINDOW_REASON if ACCOUNT_CHANNELS.get(settings.wechat.account_type) else NO_PUSH_REASON
        if reason is not None:
            skipped.append((r.id, reason))
            continue
        attempts.append(Attempt(r.id, r.attempts + 1, str(channel), str(r.openid), notice.kind.value, notice.id))
    if attempts:  # one set-based statement per batch, not one UPDATE per row
        db.execute(MARK_SENDING, {"ids": [a.delivery_id for a in attempts], "attempts": [a.attempt for a in attempts],
                                  "channels": [a.channel for a in attempts], "lease": lease_until})
    if skipped:
        db.execute(MARK_SKIPPED, {"ids": [i for i, _ in skipped], "reasons": [r for _, r in skipped]})
    return attempts


def begin_attempt(db: Session, delivery_id: int, *, worker: str, now: datetime, settings: Settings) -> Attempt | None:
    """``begin_attempts`` for one copy."""
    found = begin_attempts(db, [delivery_id], worker=worker, now=now, settings=settings)
    return found[0] if found else None


def claim_and_begin(db: Session, *, worker: str, now: datetime, settings: Settings, batch: int) -> list[Attempt]:
    """Claim up to ``batch`` due copies and mark them SENDING, in one transaction."""
    db.execute(CLAIM_PLAN)
    rows = db.execute(CLAIMED_ROWS, {"now": now, "batch": batch, "worker": worker,
                                     "lease": now + timedelta(seconds=settings.delivery.lease_seconds)}).all()
    return _begin_rows(db, rows, now=now, settings=settings) if rows else []
