"""Result and implementation notices (R-RES-2): published for 7 days, feedback to the proposers, and the
convenor told when the window ends."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import String, case, cast, func, literal, select, text, union
from sqlalchemy import exists as sql_exists
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from domain.notice_texts import closed_body, feedback_body, result_body, shorten
from domain.outbox import convenor_ids, create_notice, create_notice_if_new, public_window_end
from domain.sweeps import each, exists
from models import Audience, Notice, NoticeKind, Organisation, Topic, TopicEvent, TopicState

if TYPE_CHECKING:
    from bot.settings import Settings

# Which notice a state calls for: the consultation's result, or the implementation.
STAGES = {
    TopicState.CONSENSUS: "result",
    TopicState.BASIC_CONSENSUS: "result",
    TopicState.NO_CONSENSUS: "result",
    TopicState.IMPLEMENTING: "result",
    TopicState.IMPLEMENTED: "implemented",
    TopicState.EVALUATED: "implemented",
}
STAGE_STATES = {stage: [s.value for s, g in STAGES.items() if g == stage] for stage in set(STAGES.values())}
EXPIRED_REASON = "公示期满"
CLOSE_NOTICES = text("UPDATE notices SET closed_at = :now, closed_reason = :reason "
                     "WHERE id = ANY(CAST(:ids AS integer[])) AND closed_at IS NULL")


def entered_stage(db: Session, topic: Topic, stage: str) -> datetime:
    """When the topic reached this stage (its recorded transition; else when it was consulted or created)."""
    at = db.scalar(select(func.max(TopicEvent.at)).where(
        TopicEvent.topic_id == topic.id, TopicEvent.to_state.in_(STAGE_STATES[stage])))
    return at or topic.consulted_at or topic.created_at


def publish_results(db: Session, now: datetime, settings: Settings) -> list[Notice]:
    """Publish each recorded result or implementation for 7 days, and tell its proposer and co-signers."""
    days, tz = settings.rules.result_notice_days, settings.tz
    cutoff = now - timedelta(days=days)
    # Topics changed or created in the window (two index range scans: flat in all the older topics) that
    # have no result notice for their stage yet (one unique-index probe each, inside the query).
    recent = union(select(TopicEvent.topic_id).where(TopicEvent.at >= cutoff),
                   select(Topic.id).where(Topic.created_at >= cutoff))
    stage = case((Topic.state.in_(STAGE_STATES["implemented"]), literal("implemented")), else_=literal("result"))
    key = literal("result-notice:t") + cast(Topic.id, String) + literal(":") + stage
    candidates = db.scalars(
        select(Topic).where(Topic.id.in_(recent), Topic.state.in_(list(STAGES)),
                            ~sql_exists(select(Notice.id).where(Notice.source_key == key)))
        .order_by(Topic.org_id, Topic.id))

    def make(topic: Topic) -> Notice | None:
        stage = STAGES[topic.state]
        key = f"result-notice:t{topic.id}:{stage}"
        entered = entered_stage(db, topic, stage)
        if exists(db, Notice.source_key == key) or entered < cutoff:
            return None  # done already, or recorded before the window we could still honour
        until = public_window_end(now, days, tz)
        label = "落实公示" if stage == "implemented" else "结果公示"
        notice = create_notice_if_new(
            db, org=topic.org, kind=NoticeKind.RESULT_NOTICE, audience=Audience.FOLLOWERS,
            title=f"{label}：议题 {topic.number} {shorten(topic.title, 40)}",
            body=result_body(topic, topic.state, until, tz), now=now, topic=topic, public_until=until, source_key=key,
        )
        if notice is None or exists(db, Notice.kind == NoticeKind.FEEDBACK, Notice.topic_id == topic.id,
                                    Notice.created_at >= entered):
            return notice  # another run made it, or the proposers were told at the transition itself
        create_notice(
            db, org=topic.org, kind=NoticeKind.FEEDBACK, audience=Audience.TOPIC_PEOPLE,
            title=f"您的议题 {topic.number} 有了结果", body=feedback_body(topic, topic.state, until, tz),
            now=now, topic=topic, source_key=f"feedback:t{topic.id}:{stage}",
        )
        return notice

    return each(db, list(candidates), make, "result notices")


def close_expired(db: Session, now: datetime, settings: Settings) -> list[Notice]:
    """Close public notices whose window ended; for result notices tell the convenors (R-RES-2)."""
    expired = list(db.scalars(
        select(Notice).where(Notice.public_until <= now, Notice.closed_at.is_(None))
        .order_by(Notice.org_id, Notice.id)))
    plain = [n for n in expired if n.kind is not NoticeKind.RESULT_NOTICE]
    if plain:  # nobody is told about these: one statement closes them all
        db.execute(CLOSE_NOTICES, {"ids": [n.id for n in plain], "now": now, "reason": EXPIRED_REASON})
        for notice in plain:
            set_committed_value(notice, "closed_at", now)
            set_committed_value(notice, "closed_reason", EXPIRED_REASON)

    def make(notice: Notice) -> Notice | None:
        notice.closed_at = now
        notice.closed_reason = EXPIRED_REASON
        org = db.get(Organisation, notice.org_id)
        assert org is not None
        create_notice(
            db, org=org, kind=NoticeKind.REMINDER, audience=Audience.NAMED, recipients=convenor_ids([org.id]),
            title=f"公示期满：{shorten(notice.title, 40)}", body=closed_body(notice, org, settings.tz), now=now,
            topic=db.get(Topic, notice.topic_id) if notice.topic_id else None, source_key=f"closed:n{notice.id}",
        )
        return notice

    return plain + each(db, [n for n in expired if n.kind is NoticeKind.RESULT_NOTICE], make, "closing notices")
