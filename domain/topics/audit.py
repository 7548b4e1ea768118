"""The append-only, hash-chained record of every topic transition (R-TOPIC-8).

One chain per organisation (the topic's): every row carries the hash of the organisation's row
before it (in id order). Appends take the organisation's transaction-level advisory lock first,
so two transactions never read the same "last hash"; ids are drawn while the lock is held, so id
order within an organisation is chain order. Organisations never wait for each other. Each topic
also keeps the hash of its own latest event (``Topic.audit_head``), which catches a row deleted
from the end of a chain.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from domain.topics.labels import action_label, state_label
from models import Organisation, Person, Topic, TopicEvent

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock(class, organisation id): the two-int key space, apart from any one-bigint key
AUDIT_LOCK_CLASS = 0x5A_11_A9_01
GENESIS = "0" * 64
CSV_HEADER = ["记录号", "组织代码", "组织", "议题编号", "议题", "时间", "操作", "原状态", "新状态",
              "操作人", "代办对象", "理由", "上一条哈希", "本条哈希"]


def lock(db: Session, org_id: int) -> None:
    """Serialise the organisation's topic changes: hold its chain lock until this transaction ends."""
    if org_id in _held(db):
        return  # already held by this transaction: no second round trip
    db.execute(text("SELECT pg_advisory_xact_lock(:cls, :org)"), {"cls": AUDIT_LOCK_CLASS, "org": org_id})
    _held(db).add(org_id)  # the execute began the transaction if none was open


def _held(db: Session) -> set[int]:
    """The organisations whose chain lock the session's current top-level transaction holds."""
    root = db.get_transaction()
    known = db.info.get("audit_locks")
    if root is None or known is None or known[0] is not root:
        known = (root, set())
        if root is not None:
            db.info["audit_locks"] = known
    return known[1]


def lock_all(db: Session, org_ids: Iterable[int]) -> None:
    """Take several organisations' chain locks in id order (a transaction touching topics of many)."""
    for org_id in sorted(set(org_ids)):
        lock(db, org_id)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(event: TopicEvent) -> str:
    """sha256 over the canonical JSON of the event's recorded fields and the previous hash."""
    payload = {
        "id": event.id,
        "topic_id": event.topic_id,
        "org_id": event.org_id,
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


_LAST_AND_NEXT = text(
    "SELECT (SELECT hash FROM topic_events WHERE org_id = :org ORDER BY id DESC LIMIT 1), "
    "nextval(pg_get_serial_sequence('topic_events', 'id'))"
)


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
    """Add one event at the end of the topic's organisation's chain (takes its lock if not yet held)."""
    lock(db, topic.org_id)
    last, new_id = db.execute(_LAST_AND_NEXT, {"org": topic.org_id}).one()  # after the lock: a fresh snapshot
    event = TopicEvent(
        id=new_id,
        topic_id=topic.id,
        org_id=topic.org_id,
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
    """The outcome of checking every organisation's chain."""

    checked: int = 0
    topics: int = 0
    orgs: int = 0  # chains checked (organisations with at least one record)
    problem: str | None = None
    problem_event_id: int | None = None
    problem_org: str | None = None  # code of the organisation whose chain or topic is broken
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every record checked out."""
        return self.problem is None

    def fail(self, org: Organisation, problem: str, event_id: int | None) -> VerifyReport:
        """Record the first problem found, naming the organisation."""
        self.problem, self.problem_event_id, self.problem_org = problem, event_id, org.code
        return self


def _events(db: Session) -> Iterator[tuple[TopicEvent, int]]:
    """Every event with the organisation of its topic, in id order."""
    stmt = (select(TopicEvent, Topic.org_id).join(Topic, Topic.id == TopicEvent.topic_id).order_by(TopicEvent.id)
            .execution_options(yield_per=500, populate_existing=True))
    return ((event, org_id) for event, org_id in db.execute(stmt))


def _label(org: Organisation) -> str:
    return f"组织 {org.code}（{org.name}）"


def verify(db: Session) -> VerifyReport:
    """Check each organisation's chain end to end; stop at the first broken record (edited, deleted, moved)."""
    report = VerifyReport()
    previous: dict[int, str] = {}  # organisation -> hash of its last record so far
    last_per_topic: dict[int, tuple[int, str, str]] = {}  # topic -> (id, hash, to_state) of its last record
    for event, topic_org_id in _events(db):
        org = db.get_one(Organisation, event.org_id)
        if event.org_id != topic_org_id:
            owner = db.get_one(Organisation, topic_org_id)
            return report.fail(org, f"{_label(org)}的记录 #{event.id} 是{_label(owner)}的议题的记录："
                                    f"这条记录被改动或挪动过。", event.id)
        if event.prev_hash != previous.get(event.org_id, GENESIS):
            return report.fail(org, f"{_label(org)}的记录 #{event.id} 的“上一条哈希”对不上："
                                    f"它前面的记录被删除、插入或调换了顺序。", event.id)
        if event_hash(event) != event.hash:
            return report.fail(org, f"{_label(org)}的记录 #{event.id} 的内容和它的哈希不符：这条记录被改动过。",
                               event.id)
        previous[event.org_id] = event.hash
        last_per_topic[event.topic_id] = (event.id, event.hash, event.to_state)
        report.checked += 1
    report.orgs = len(previous)
    for topic in db.scalars(select(Topic).order_by(Topic.id).execution_options(populate_existing=True)):
        report.topics += 1
        last_id, head, last_state = last_per_topic.get(topic.id, (None, None, None))
        if topic.audit_head != head:
            return report.fail(topic.org, f"{_label(topic.org)}的议题 {topic.number} 的最后一条记录不见了或被替换了"
                                          f"（链尾对不上）。", last_id)
        if last_state is not None and last_state != topic.state.value:
            return report.fail(topic.org, f"{_label(topic.org)}的议题 {topic.number} 现在的状态和记录不一致"
                                          f"（记录为 {last_state}，表中为 {topic.state.value}）。", last_id)
    return report


def _safe_cell(value: object) -> str:
    """Text for a CSV cell; a leading = + - @ is neutralised so spreadsheets do not run it."""
    cell = "" if value is None else str(value)
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def export_csv(db: Session, orgs: list[Organisation], out: IO[str], tz: ZoneInfo) -> int:
    """Write the events of the topics of these organisations as CSV; returns the row count."""
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    stmt = (
        select(TopicEvent, Topic)
        .join(Topic, Topic.id == TopicEvent.topic_id)
        .where(TopicEvent.org_id.in_([o.id for o in orgs]))
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
