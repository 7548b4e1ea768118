"""Creating many job-made notices at once: the same rows ``create_notice`` writes one by one, in two statements.

The affected organisations are locked in id order (the lock ``create_notice`` takes), so numbers stay unique
and gap-free beside concurrent single creations; a source_key already used makes nothing, as with
``create_notice_if_new``. Deliveries are the ones ``queue_deliveries`` writes for each audience.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import overload

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from domain.notices.outbox import ANALYZE_AFTER_ROWS, UNREACHABLE_REASON, refresh_delivery_stats
from models import Audience, DeliveryStatus, Notice, NoticeKind, Role
from models.outbox import DeliveryPlan

LOCK_ORGS = text("SELECT id FROM organisations WHERE id = ANY(CAST(:orgs AS integer[])) ORDER BY id FOR UPDATE")

# One statement: number the new notices after each organisation's last one, insert them, insert their copies.
# Runs after LOCK_ORGS, so its snapshot sees every notice committed by the lock's previous holders.
CREATE_NOTICES = text("""
WITH RECURSIVE tree(root, id) AS (
    SELECT o.id, o.id FROM unnest(CAST(:orgs AS integer[])) AS o(id)
    UNION ALL
    SELECT t.root, c.id FROM organisations c JOIN tree t ON c.parent_id = t.id
),
spec AS (
    SELECT s.* FROM jsonb_to_recordset(CAST(:specs AS jsonb)) AS s(
        ord integer, org_id integer, kind text, audience text, title text, body text, source_key text,
        topic_id integer, meeting_id integer, meeting_version integer, skip_if_acted text,
        public_until timestamptz)
    WHERE NOT EXISTS (SELECT 1 FROM notices n WHERE n.source_key = s.source_key)
),
top AS (
    SELECT o.id AS org_id, COALESCE((SELECT max(n.seq) FROM notices n WHERE n.org_id = o.id), 0) AS seq
    FROM unnest(CAST(:orgs AS integer[])) AS o(id)
),
made AS (
    INSERT INTO notices (org_id, seq, kind, audience, title, body, topic_id, meeting_id, meeting_version,
                         skip_if_acted, public_from, public_until, source_key, delivery_plan, created_at)
    SELECT s.org_id, top.seq + row_number() OVER (PARTITION BY s.org_id ORDER BY s.ord), s.kind, s.audience,
           s.title, s.body, s.topic_id, s.meeting_id, s.meeting_version, s.skip_if_acted,
           CASE WHEN s.public_until IS NOT NULL THEN CAST(:now AS timestamptz) END, s.public_until, s.source_key,
           :plan, :now
    FROM spec s JOIN top ON top.org_id = s.org_id
    ORDER BY s.ord
    ON CONFLICT (source_key) DO NOTHING
    RETURNING id, org_id, audience, topic_id, meeting_id, source_key
),
recipients AS (
    SELECT m.id AS notice_id, a.person_id FROM made m JOIN meeting_attendees a ON a.meeting_id = m.meeting_id
    WHERE m.audience IN (:attendees, :meeting_public)
    UNION
    SELECT m.id, p.id FROM made m JOIN tree t ON t.root = m.org_id JOIN people p ON p.home_org_id = t.id
    WHERE m.audience IN (:followers, :meeting_public)
    UNION
    SELECT m.id, g.person_id FROM made m JOIN role_grants g ON g.org_id = m.org_id AND g.revoked_at IS NULL
    WHERE m.audience IN (:followers, :meeting_public)
    UNION
    SELECT m.id, g.person_id FROM made m JOIN role_grants g ON g.org_id = m.org_id AND g.revoked_at IS NULL
    WHERE (m.audience = :members AND g.role = :member)
       OR (m.source_key = ANY(CAST(:to_convenors AS text[])) AND g.role = :convenor)
    UNION
    SELECT m.id, t.proposer_id FROM made m JOIN topics t ON t.id = m.topic_id WHERE m.audience = :topic_people
    UNION
    SELECT m.id, c.person_id FROM made m JOIN topic_cosigners c ON c.topic_id = m.topic_id
    WHERE m.audience = :topic_people
),
queued AS (
    INSERT INTO deliveries (notice_id, person_id, openid, status, next_attempt_at, attempts, last_error)
    SELECT r.notice_id, p.id, p.openid,
           CASE WHEN p.openid IS NOT NULL AND p.subscribed THEN :pending ELSE :skipped END, :now, 0,
           CASE WHEN p.openid IS NOT NULL AND p.subscribed THEN NULL ELSE :unreachable END
    FROM recipients r JOIN people p ON p.id = r.person_id
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT id, source_key, (SELECT count(*) FROM queued) AS queued FROM made ORDER BY id
""")

CONSTANTS = {
    "attendees": Audience.ATTENDEES.value, "meeting_public": Audience.MEETING_PUBLIC.value,
    "followers": Audience.FOLLOWERS.value, "members": Audience.MEMBERS.value,
    "topic_people": Audience.TOPIC_PEOPLE.value, "member": Role.MEMBER.value, "convenor": Role.CONVENOR.value,
    "pending": DeliveryStatus.PENDING.value, "skipped": DeliveryStatus.SKIPPED.value,
    "unreachable": UNREACHABLE_REASON, "plan": DeliveryPlan.DIRECT.value,
}


@dataclass(frozen=True, slots=True)
class NoticeSpec:
    """One notice to make: what ``create_notice`` takes, by ids; NAMED means the organisation's convenors."""

    org_id: int
    kind: NoticeKind
    audience: Audience
    title: str
    body: str
    source_key: str
    topic_id: int | None = None
    meeting_id: int | None = None
    meeting_version: int | None = None
    skip_if_acted: str | None = None
    public_until: datetime | None = None
    to_convenors: bool = False


def create_notices(db: Session, specs: Iterable[NoticeSpec], now: datetime) -> list[tuple[int, str]]:
    """Write the notices whose source_key is new, with their deliveries; returns (id, source_key) of those made.

    Equivalent to ``create_notice_if_new`` per spec, in order (numbers follow the specs' order per organisation).
    """
    unique: dict[str, NoticeSpec] = {}
    for spec in specs:
        unique.setdefault(spec.source_key, spec)
    todo = list(unique.values())
    if not todo:
        return []
    for spec in todo:
        if spec.meeting_id is None and spec.audience in (Audience.ATTENDEES, Audience.MEETING_PUBLIC):
            raise ValueError("attendees audience needs a meeting")
        if spec.topic_id is None and spec.audience is Audience.TOPIC_PEOPLE:
            raise ValueError("topic_people audience needs a topic")
        if (spec.audience is Audience.NAMED) != spec.to_convenors:
            raise ValueError("the one named audience made in bulk is the organisation's convenors")
    orgs = sorted({s.org_id for s in todo})
    db.execute(LOCK_ORGS, {"orgs": orgs})  # a twin sweep, or a single creation, waits here
    rows = [{
        "ord": n, "org_id": s.org_id, "kind": s.kind.value, "audience": s.audience.value, "title": s.title[:200],
        "body": s.body, "source_key": s.source_key, "topic_id": s.topic_id, "meeting_id": s.meeting_id,
        "meeting_version": s.meeting_version, "skip_if_acted": s.skip_if_acted,
        "public_until": s.public_until.isoformat() if s.public_until else None,
    } for n, s in enumerate(todo)]  # one JSON document: far cheaper to send than a dozen text arrays
    params = {**CONSTANTS, "now": now, "orgs": orgs, "specs": json.dumps(rows, ensure_ascii=False),
              "to_convenors": [s.source_key for s in todo if s.to_convenors]}
    rows = db.execute(CREATE_NOTICES, params).all()
    if rows and rows[0].queued >= ANALYZE_AFTER_ROWS:
        refresh_delivery_stats(db)
    return [(int(r.id), str(r.source_key)) for r in rows]


class MadeNotices(Sequence[Notice]):
    """The notices a sweep made or closed, by id; read from the database only when looked at.

    The scheduler needs only how many; tests and callers that look at them get ``Notice`` rows, fresh.
    """

    def __init__(self, db: Session, ids: Iterable[int] = ()) -> None:
        self.db = db
        self.ids = list(ids)
        self._rows: list[Notice] | None = None

    def _load(self) -> list[Notice]:
        if self._rows is None:
            found = {n.id: n for n in self.db.scalars(
                select(Notice).where(Notice.id.in_(self.ids)).execution_options(populate_existing=True))}
            self._rows = [found[i] for i in self.ids if i in found]
        return self._rows

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> Notice: ...

    @overload
    def __getitem__(self, index: slice) -> list[Notice]: ...

    def __getitem__(self, index: int | slice) -> Notice | list[Notice]:
        return self._load()[index]

    def __iter__(self) -> Iterator[Notice]:
        return iter(self._load() if self.ids else [])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __add__(self, other: MadeNotices) -> MadeNotices:
        return MadeNotices(self.db, self.ids + other.ids)

    def __repr__(self) -> str:
        return f"MadeNotices({self.ids!r})"
