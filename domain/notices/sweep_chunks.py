"""Running a sweep over its due rows in chunks: each chunk's notices made in bulk, one savepoint per chunk.

A chunk that fails is retried row by row, so one bad row is logged and skipped and the rest go on. When the
scheduler runs a sweep it passes ``checkpoint`` (a commit): an organisation's row lock is then held for one
chunk, not the whole sweep, and a sweep killed between chunks leaves whole chunks behind; the next run
continues, because every notice carries a source_key and the due rows are read from state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy.orm import Session

from domain.notices.outbox import ANALYZE_AFTER_ROWS, refresh_delivery_stats
from domain.notices.outbox_bulk import MadeNotices

logger = logging.getLogger(__name__)

T = TypeVar("T")
CHUNK = 2000  # due rows per chunk: one bulk creation, one commit when the scheduler runs the sweep
Checkpoint = Callable[[], None]


def in_chunks(
    db: Session, rows: Sequence[T], make: Callable[[list[T]], list[int]], what: str,
    checkpoint: Checkpoint | None = None,
) -> MadeNotices:
    """Run ``make`` (rows → ids of what it made) over the rows chunk by chunk; ``checkpoint`` after each chunk."""
    made: list[int] = []
    for start in range(0, len(rows), CHUNK):
        made += _chunk(db, list(rows[start:start + CHUNK]), make, what)
        if checkpoint is not None:
            checkpoint()
    if len(made) >= ANALYZE_AFTER_ROWS:  # at least one copy each: tell the planner before the senders claim
        refresh_delivery_stats(db)
    return MadeNotices(db, made)


def _chunk(db: Session, chunk: list[T], make: Callable[[list[T]], list[int]], what: str) -> list[int]:
    """One chunk in a savepoint; if it fails, each row in a savepoint of its own."""
    savepoint = db.begin_nested()
    try:
        made = make(chunk)
        savepoint.commit()
        return made
    except Exception:  # noqa: BLE001 - find the bad row instead of losing the chunk
        savepoint.rollback()
        if len(chunk) == 1:
            logger.exception("%s: skipped %r", what, chunk[0])
            return []
        logger.warning("%s: a chunk of %d rows failed; going row by row", what, len(chunk), exc_info=True)
    made = []
    for row in chunk:
        savepoint = db.begin_nested()
        try:
            ids = make([row])
            savepoint.commit()
        except Exception:  # noqa: BLE001 - one broken row must not stop the sweep
            savepoint.rollback()
            logger.exception("%s: skipped %r", what, row)
            continue
        made += ids
    return made
