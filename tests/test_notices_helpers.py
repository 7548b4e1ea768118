"""Shared arrangements for the notices, sender, sweeps and scheduler tests (no tests here)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from bot.sender import Sender
from domain.orgs import people
from domain.orgs import tree as orgs
from models import (
    Meeting,
    MeetingAttendee,
    MeetingStatus,
    OrgKind,
    Person,
    Role,
    Topic,
    TopicEvent,
    TopicState,
)

T0 = datetime(2025, 11, 20, 2, 0, tzinfo=UTC)  # 2025-11-20 10:00 in Asia/Shanghai
TEMPLATE_PATH = "/cgi-bin/message/template/send"
CUSTOM_PATH = "/cgi-bin/message/custom/send"


def world(db, followers: int = 3) -> dict:
    """A township with two villages; village 1 has a convenor, a member and followers; village 2 a convenor."""
    town = orgs.create_org(db, code="t1", name="幸福镇", kind=OrgKind.TOWNSHIP)
    v1 = orgs.create_org(db, code="v1", name="东风村", kind=OrgKind.VILLAGE, parent_code="t1")
    v2 = orgs.create_org(db, code="v2", name="红旗村", kind=OrgKind.VILLAGE, parent_code="t1")
    for org in (town, v1, v2):
        org.created_at = T0 - timedelta(days=20)
    convenor = person(db, "conv-1", v1, "李书记")
    people.grant_role(db, convenor, v1, Role.CONVENOR)
    convenor2 = person(db, "conv-2", v2, "王书记")
    people.grant_role(db, convenor2, v2, Role.CONVENOR)
    town_convenor = person(db, "conv-town", None, "镇工委主任")
    people.grant_role(db, town_convenor, town, Role.CONVENOR)
    member = person(db, "member-1", v1, "张成员")
    people.grant_role(db, member, v1, Role.MEMBER)
    fans = [person(db, f"fan-{i}", v1, f"村民{i}") for i in range(1, followers + 1)]
    outsider = person(db, "fan-v2", v2, "红旗村民")
    db.commit()
    return {"town": town, "v1": v1, "v2": v2, "convenor": convenor, "convenor2": convenor2,
            "town_convenor": town_convenor, "member": member, "fans": fans, "outsider": outsider}


def person(db, openid: str, home, name: str) -> Person:
    """A follower bound to ``home``."""
    entry = people.ensure_person(db, openid)
    entry.real_name, entry.home_org, entry.subscribed = name, home, True
    db.flush()
    return entry


def bulk_followers(db, org, count: int, prefix: str = "bulk") -> None:
    """Many followers of ``org`` in one INSERT ... SELECT generate_series."""
    db.execute(text(
        "INSERT INTO people (openid, real_name, home_org_id, subscribed, created_at) "
        "SELECT :prefix || '-' || g, '村民' || g, :org, true, now() FROM generate_series(1, :n) AS g"
    ), {"prefix": prefix, "org": org.id, "n": count})
    db.commit()


def topic(db, org, proposer, *, state=TopicState.APPROVED, seq: int = 1, title: str = "村东头道路硬化",
          detail: str = "村东头500米土路雨天泥泞，建议硬化。", result_note: str | None = None) -> Topic:
    """A topic in a given state."""
    made = Topic(org_id=org.id, year=2025, seq=seq, number=f"2025-{seq:03d}", title=title, detail=detail,
                 state=state, proposer_id=proposer.id, text_hash=secrets.token_hex(16), result_note=result_note)
    db.add(made)
    db.flush()
    return made


def event(db, topic_row: Topic, to_state: TopicState, at: datetime) -> TopicEvent:
    """A recorded transition of a topic."""
    digest = hashlib.sha256(secrets.token_bytes(16)).hexdigest()
    row = TopicEvent(topic_id=topic_row.id, org_id=topic_row.org_id, at=at, from_state=None,
                     to_state=to_state.value, action="test", prev_hash="0" * 64, hash=digest)
    db.add(row)
    db.flush()
    return row


def meeting(db, org, starts_at: datetime, *, topic_row: Topic | None = None, attendees=(), place: str = "村委会议室",
            material: str = "道路硬化方案（宽4米，预算12万元）", title: str = "东风村协商议事会") -> Meeting:
    """A scheduled meeting with attendees."""
    made = Meeting(org_id=org.id, topic_id=topic_row.id if topic_row else None, title=title, starts_at=starts_at,
                   place=place, material=material, status=MeetingStatus.SCHEDULED, version=1)
    db.add(made)
    db.flush()
    for who in attendees:
        db.add(MeetingAttendee(meeting_id=made.id, person_id=who.id))
    db.flush()
    return made


def fast(services, **delivery):
    """Services whose sender retries quickly (tests)."""
    import dataclasses

    settings = services.settings.with_overrides(delivery={
        "retry_base_seconds": 0.01, "retry_max_seconds": 0.05, "poll_seconds": 0.05, "rate_per_second": 5000,
        "rate_burst": 500, **delivery})
    return dataclasses.replace(services, settings=settings, _wechat=None)


def drain(services, *, worker_id: str = "w1", concurrency: int = 4, max_wait: float = 5.0, **delivery):
    """Run one sender until nothing is left to send; returns its counts."""
    return Sender(fast(services, **delivery), worker_id=worker_id, concurrency=concurrency).run(
        once=True, max_wait=max_wait)


def sent_to(fake, openid: str) -> list[dict]:
    """Bodies of the pushes an openid received (WeChat-side duplicates excluded)."""
    return fake.messages_to(openid)
