"""A village with a researched topic and its meeting: 10 members and 11 stakeholders expected (21).

With 21 expected, 14 present is exactly 2/3 (R-MEET-3); among 14 present, 7 stakeholders is exactly
half (R-MEET-4). ``STAKEHOLDERS`` starts with the proposer 张三 and 李四, who speak in the chat tests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.meetings import schedule as meetings
from models import Meeting, TopicState
from tests.topic_world import advance, build, new_topic, who

STAKEHOLDERS = ("u-zhang", "u-li", *(f"s-v1-{n}" for n in range(1, 10)))
MEMBERS = tuple(f"m-v1-{n}" for n in range(1, 11))


def build_world(db):
    """The topic world (东风村: 10 members, 10 approved stakeholder representatives)."""
    return build(db)


def quorum(members: int, stakeholders: int) -> list[str]:
    """The first ``members`` members and ``stakeholders`` stakeholders, to check in."""
    return list(MEMBERS[:members]) + list(STAKEHOLDERS[:stakeholders])


def make_meeting(db, services, starts_in=timedelta(minutes=20), now=None, text="修一下村东头的路", **options):
    """A researched topic of 东风村 with its meeting, starting ``starts_in`` after ``now``."""
    now = now or datetime.now(UTC)
    scheduled_at = now + starts_in - timedelta(days=8)
    topic = advance(db, services, new_topic(db, services, text=text, now=scheduled_at), TopicState.RESEARCHED,
                    now=scheduled_at)
    meeting = meetings.schedule_meeting(
        db, topic, now + starts_in, "村委会议室", who(db, "c-v1"), scheduled_at, settings=services.settings,
        stakeholder_ids=[who(db, o).id for o in STAKEHOLDERS], **options)
    db.commit()
    return meeting


def fresh(db, meeting_id):
    """The meeting as the database has it now."""
    db.expire_all()
    return db.get(Meeting, meeting_id)
