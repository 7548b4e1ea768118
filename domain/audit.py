"""The append-only, hash-chained record of every topic transition (R-TOPIC-8).

One global chain: every row carries the hash of the row before it (in id order). Appends
take a transaction-level advisory lock first, so two transactions never read the same
"last hash"; ids are drawn while the lock is held, so id order is chain order. Each topic
also keeps the hash of its own latest event (``Topic.audit_head``), which catches a row
deleted from the end of the chain.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import Organisation, Person, Topic, TopicEvent

logger = logging.getLogger(__name__)

AUDIT_LOCK_KEY = 0x5A_11_A9_01  # pg_advisory_xact_lock key of the topic-event chain
GENESIS = "0" * 64
CSV_HEADER = ["记录号", "组织代码", "组织", "议题编号", "议题", "时间", "操作", "原状态", "新状态",
              "操作人", "代办对象", "理由", "上一条哈希", "本条哈希"]


def lock(db: Session) -> None:
    """Serialise topic transitions: hold the chain lock until this transaction ends."""
    db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(event: TopicEvent) -> str:
    """sha256 over the canonical JSON of the event's recorded fields and the previous hash."""
    payload = {
        "id": event.id,
        "topic_id": event.topic_id,
        "actor_id": event.actor_id,
        "on_behalf_of_id": event.on_behalf_of_id,
        "at": _iso(event.at),
        "from": event.from_state,
        "to": event.to_state,
        "action": event.action,
        "reason": event.reason or "",
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append(
    db: Session,
    topic: Topic,
    *,
    action: str,
    from_state: str | None,
    to_state: str,
    actor: Person | None,
    now: datetime,
    reason: str = "",
    on_behalf_of: Person | None = None,
) -> TopicEvent:
    """Add one event at the end of the chain (takes the chain lock if not yet held)."""
    lock(db)
    last = db.scalar(select(TopicEvent.hash).order_by(TopicEvent.id.desc()).limit(1))
    new_id = db.scalar(text("SELECT nextval(pg_get_serial_sequence('topic_events', 'id'))"))
    event = TopicEvent(
        id=new_id,
        topic_id=topic.id,
        actor_id=actor.id if actor else None,
        on_behalf_of_id=on_behalf_of.id if on_behalf_of else None,
        at=now,
        from_state=from_state,
        to_state=to_state,
        action=action,
        reason=reason or "",
        prev_hash=last or GENESIS,
    )
    event.hash = event_hash(event)
    db.add(event)
    topic.audit_head = event.hash
    db.flush()
    return event


def timeline(db: Session, topic: Topic) -> list[TopicEvent]:
    """A topic's events, oldest first."""
    return list(db.scalars(select(TopicEvent).where(TopicEvent.topic_id == topic.id).order_by(TopicEvent.id)))


@dataclass
class VerifyReport:
    """The outcome of checking the whole chain."""

    checked: int = 0
    topics: int = 0
    problem: str | None = None
    problem_event_id: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every record checked out."""
        return self.problem is None


def _events(db: Session) -> Iterator[TopicEvent]:
    stmt = select(TopicEvent).order_by(TopicEvent.id).execution_options(yield_per=500, populate_existing=True)
    yield from db.scalars(stmt)


def verify(db: Session) -> VerifyReport:
    """Check every record end to end; stop at the first broken one (edited, deleted or reordered)."""
    report = VerifyReport()
    previous = GENESIS
    last_per_topic: dict[int, TopicEvent] = {}
    for event in _events(db):
        if event.prev_hash != previous:
            report.problem = (f"记录 #{event.id} 的“上一条哈希”对不上：它前面的记录被删除、插入或调换了顺序。")
            report.problem_event_id = event.id
            return report
        if event_hash(event) != event.hash:
            report.problem = f"记录 #{event.id} 的内容和它的哈希不符：这条记录被改动过。"
            report.problem_event_id = event.id
            return report
        previous = event.hash
        last_per_topic[event.topic_id] = event
        report.checked += 1
    for topic in db.scalars(select(Topic).order_by(Topic.id).execution_options(populate_existing=True)):
        report.topics += 1
        last = last_per_topic.get(topic.id)
        head = last.hash if last else None
        if topic.audit_head != head:
            report.problem = f"议题 {topic.org.code}/{topic.number} 的最后一条记录不见了或被替换了（链尾对不上）。"
            report.problem_event_id = last.id if last else None
            return report
        if last is not None and last.to_state != topic.state.value:
            report.problem = (f"议题 {topic.org.code}/{topic.number} 现在的状态和记录不一致"
                              f"（记录为 {last.to_state}，表中为 {topic.state.value}）。")
            report.problem_event_id = last.id
            return report
    return report


def _safe_cell(value: object) -> str:
    """Text for a CSV cell; a leading = + - @ is neutralised so spreadsheets do not run it."""
    cell = "" if value is None else str(value)
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def export_csv(db: Session, orgs: list[Organisation], out: IO[str], tz: ZoneInfo) -> int:
    """Write the events of the topics of these organisations as CSV; returns the row count."""
    from domain.topic_text import action_label, state_label

    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    stmt = (
        select(TopicEvent, Topic)
        .join(Topic, Topic.id == TopicEvent.topic_id)
        .where(Topic.org_id.in_([o.id for o in orgs]))
        .order_by(TopicEvent.id)
    )
    rows = 0
    for event, topic in db.execute(stmt):
        writer.writerow([_safe_cell(v) for v in (
            event.id, topic.org.code, topic.org.name, topic.number, topic.title,
            event.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), action_label(event.action),
            state_label(event.from_state), state_label(event.to_state),
            event.actor.display_name if event.actor else "系统",
            event.on_behalf_of.display_name if event.on_behalf_of else "",
            event.reason, event.prev_hash, event.hash,
        )])
        rows += 1
    return rows
