"""The senders' claim stays one short index walk however many copies wait (no sort of every waiting copy)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event, text

from domain.notices import delivery
from domain.notices.outbox import ANALYZE_AFTER_ROWS, create_notice
from models import Audience, NoticeKind
from tests.test_notices_helpers import bulk_followers, fast, world


def _plan(db, now: datetime) -> str:
    claim = delivery.CLAIM_DUE.replace("UPDATE deliveries SET lease_until = :lease, claimed_by = :worker",
                                       "SELECT id FROM due")
    db.execute(delivery.CLAIM_PLAN)
    rows = db.execute(text("EXPLAIN " + claim), {"now": now, "batch": 200}).scalars()
    return "\n".join(rows)


def test_a_large_broadcast_is_claimed_through_the_claim_index_without_sorting(db, services):
    places = world(db)
    bulk_followers(db, places["v1"], ANALYZE_AFTER_ROWS + 500)
    statements: list[str] = []

    def note(conn, cursor, statement, *args):  # noqa: ANN001, ANN202
        statements.append(statement)

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        create_notice(db, org=places["v1"], kind=NoticeKind.GENERAL, audience=Audience.FOLLOWERS,
                      title="道路硬化协商会", body="周六上午开会。", now=datetime.now(UTC), public_days=7)
        db.commit()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert "ANALYZE deliveries" in statements  # a batch this large refreshes the planner's statistics
    plan = _plan(db, datetime.now(UTC))
    assert "ix_deliveries_claim" in plan and "Sort" not in plan, plan
    db.rollback()
    claimed = delivery.claim_due(db, worker="w1", now=datetime.now(UTC), lease_seconds=60, batch=200)
    assert len(claimed) == 200 and claimed == sorted(claimed)


def test_a_small_notice_does_not_analyse(db, services):
    places = world(db)
    statements: list[str] = []

    def note(conn, cursor, statement, *args):  # noqa: ANN001, ANN202
        statements.append(statement)

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        create_notice(db, org=places["v1"], kind=NoticeKind.GENERAL, audience=Audience.FOLLOWERS,
                      title="小通知", body="明天停水。", now=datetime.now(UTC), public_days=7)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert not [s for s in statements if s.startswith("ANALYZE")]
    fast(services)  # the helpers' settings still load
