"""Result and implementation notices (R-RES-2): published for 7 days, feedback to the proposers, and the
convenor told when the window ends. Due rows go in chunks, each chunk's notices made in bulk."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    String,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
    text,
    union,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from domain.notices.outbox import public_window_end
from domain.notices.outbox_bulk import MadeNotices, NoticeSpec, create_notices
from domain.notices.sweep_chunks import Checkpoint, in_chunks
from domain.notices.texts import closed_body, feedback_body, result_body, result_title, shorten
from models import Audience, Notice, NoticeKind, Organisation, Topic, TopicEvent, TopicState

if TYPE_CHECKING:
    from domain.settings import Settings

# Which notice a state calls for: the consultation's result, or the implementation.
STAGES = {
    TopicState.CONSENSUS: "result",
    TopicState.BASIC_CONSENSUS: "result",
    TopicState.NO_CONSENSUS: "result",
    TopicState.CONFIRMED: "result",
    TopicState.IMPLEMENTING: "result",
    TopicState.IMPLEMENTED: "implemented",
    TopicState.EVALUATED: "implemented",
}
STAGE_STATES = {stage: [s.value for s, g in STAGES.items() if g == stage] for stage in set(STAGES.values())}
STAGE_OF = {s.value: g for s, g in STAGES.items()}  # a recorded transition's to_state → the stage it enters
EXPIRED_REASON = "公示期满"
BLOCK = 2000  # ids per lookup: index probes, never a scan of every topic
# Rows locked in id order (two sweeps at once never deadlock); only notices still open are closed and returned.
CLOSE_NOTICES = text("""
UPDATE notices SET closed_at = :now, closed_reason = :reason
WHERE closed_at IS NULL AND id IN (SELECT id FROM notices WHERE id = ANY(CAST(:ids AS integer[])) AND closed_at IS NULL
                                   ORDER BY id FOR UPDATE)
RETURNING id
""")


def any_of(ids: list[int]) -> ColumnElement[Any]:
    """``column == any_of(ids)``: one array parameter, however many ids (an IN list costs per id to render)."""
    return any_(bindparam("ids", ids, type_=ARRAY(Integer), unique=True))


def stage_entries(db: Session, topic_ids: list[int]) -> dict[tuple[int, str], datetime]:
    """When each topic last reached each stage, by its recorded transitions: (topic id, stage) → when."""
    entered: dict[tuple[int, str], datetime] = {}
    rows = db.execute(select(TopicEvent.topic_id, TopicEvent.to_state, func.max(TopicEvent.at))
                      .where(TopicEvent.topic_id == any_of(topic_ids)).group_by(TopicEvent.topic_id, TopicEvent.to_state))
    for topic_id, state, at in rows:
        stage = STAGE_OF.get(state)
        if stage is not None and ((topic_id, stage) not in entered or at > entered[(topic_id, stage)]):
            entered[(topic_id, stage)] = at
    return entered


def publish_results(db: Session, now: datetime, settings: Settings, *,
                    checkpoint: Checkpoint | None = None) -> MadeNotices:
    """Publish each recorded result or implementation for 7 days, and tell its proposer and co-signers."""
    days, tz = settings.rules.result_notice_days, settings.tz
    cutoff = now - timedelta(days=days)
    until = public_window_end(now, days, tz)
    # Topics changed or created in the window (two index range scans: flat in all the older topics), read by
    # blocks of ids (index lookups) without those whose result notice for their stage exists (one probe each).
    recent = sorted(db.scalars(union(select(TopicEvent.topic_id).where(TopicEvent.at >= cutoff),
                                     select(Topic.id).where(Topic.created_at >= cutoff))))
    stage = case((Topic.state.in_(STAGE_STATES["implemented"]), literal("implemented")), else_=literal("result"))
    key = literal("result-notice:t") + cast(Topic.id, String) + literal(":") + stage
    unmade = select(Notice.id).where(Notice.source_key == key).limit(1).scalar_subquery().is_(None)
    candidates: list[Row] = []
    for start in range(0, len(recent), BLOCK):
        candidates += db.execute(
            select(Topic.id, Topic.org_id, Topic.number, Topic.title, Topic.state, Topic.result_note,
                   Topic.consulted_at, Topic.created_at)
            .where(Topic.id == any_of(recent[start:start + BLOCK]), Topic.state.in_(list(STAGES)), unmade)).all()
    candidates.sort(key=lambda t: (t.org_id, t.id))  # organisation order: the lock order

    def make(topics: list[Row]) -> list[int]:
        entries = stage_entries(db, [t.id for t in topics])
        public, due = [], {}
        for topic in topics:
            stage = STAGES[topic.state]
            at = entries.get((topic.id, stage)) or topic.consulted_at or topic.created_at
            if at < cutoff:
                continue  # recorded before the window we could still honour
            public.append(NoticeSpec(
                org_id=topic.org_id, kind=NoticeKind.RESULT_NOTICE, audience=Audience.FOLLOWERS,
                title=result_title(topic, topic.state),
                body=result_body(topic, topic.state), topic_id=topic.id, public_until=until,
                source_key=f"result-notice:t{topic.id}:{stage}"))
            due[public[-1].source_key] = (topic, stage, at)
        made = create_notices(db, public, now)  # a notice another run made is not made again: no feedback then
        told = dict(db.execute(
            select(Notice.topic_id, func.max(Notice.created_at))
            .where(Notice.kind == NoticeKind.FEEDBACK, Notice.topic_id == any_of([due[k][0].id for _, k in made]))
            .group_by(Notice.topic_id)).all()) if made else {}
        feedback = []
        for _, made_key in made:
            topic, stage, at = due[made_key]
            if told.get(topic.id) is not None and told[topic.id] >= at:
                continue  # the proposers were told at the transition itself
            feedback.append(NoticeSpec(
                org_id=topic.org_id, kind=NoticeKind.FEEDBACK, audience=Audience.TOPIC_PEOPLE,
                title=f"您的议题 {topic.number} 有了结果", body=feedback_body(topic, topic.state, until, tz),
                topic_id=topic.id, source_key=f"feedback:t{topic.id}:{stage}"))
        create_notices(db, feedback, now)
        return [i for i, _ in made]

    return in_chunks(db, candidates, make, "result notices", checkpoint)


def close_expired(db: Session, now: datetime, settings: Settings, *,
                  checkpoint: Checkpoint | None = None) -> MadeNotices:
    """Close public notices whose window ended; for result notices tell the convenors (R-RES-2)."""
    expired = db.execute(
        select(Notice.id, Notice.org_id, Notice.kind, Notice.title, Notice.seq, Notice.public_until,
               Notice.created_at, Notice.topic_id)
        .where(Notice.public_until <= now, Notice.closed_at.is_(None))
        .order_by(Notice.org_id, Notice.id)).all()

    def make(notices: list[Row]) -> list[int]:
        closed = {i for (i,) in db.execute(CLOSE_NOTICES, {"ids": [n.id for n in notices], "now": now,
                                                           "reason": EXPIRED_REASON})}
        for notice_id in closed:  # a Notice this session already holds shows it closed too
            held = db.identity_map.get(identity_key(Notice, notice_id))
            if held is not None:
                set_committed_value(held, "closed_at", now)
                set_committed_value(held, "closed_reason", EXPIRED_REASON)
        results = [n for n in notices if n.id in closed and n.kind is NoticeKind.RESULT_NOTICE]
        orgs = {o.id: o for o in db.scalars(select(Organisation).where(
            Organisation.id.in_({n.org_id for n in results})))} if results else {}
        create_notices(db, [NoticeSpec(
            org_id=n.org_id, kind=NoticeKind.REMINDER, audience=Audience.NAMED, to_convenors=True,
            title=f"公示期满：{shorten(n.title, 40)}", body=closed_body(n, orgs[n.org_id], settings.tz),
            topic_id=n.topic_id, source_key=f"closed:n{n.id}") for n in results], now)
        return [n.id for n in notices if n.id in closed]

    return in_chunks(db, expired, make, "closing notices", checkpoint)
