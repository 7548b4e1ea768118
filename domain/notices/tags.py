"""Which WeChat tag each follower should carry: the tag of their home organisation (mass send by tag).

The webhook only records binding and unfollowing; the tag_sync job compares that with what WeChat was told
(``wechat_tag_members``) and puts it right, outside any request. One sync runs at a time (``sync_lock``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import delete, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from domain.orgs.tree import BINDABLE_KINDS
from models import Organisation, Person
from models.outbox import WeChatTagMember

logger = logging.getLogger(__name__)

SYNC_LOCK = (0x5A11A902, 0)  # advisory lock (class, key): the tag sync's own class (docs/architecture.md)
TRY_LOCK = text("SELECT pg_try_advisory_lock(:cls, :key)")
UNLOCK = text("SELECT pg_advisory_unlock(:cls, :key)")


@contextmanager
def sync_lock(engine: Engine) -> Iterator[bool]:
    """Hold the tag sync's advisory lock while the block runs; yields False when another sync holds it.

    A session-level PostgreSQL lock on a connection of its own: no transaction stays open during the WeChat
    calls, and a process that dies releases it with its connection.
    """
    with engine.connect() as conn:
        held = bool(conn.scalar(TRY_LOCK, {"cls": SYNC_LOCK[0], "key": SYNC_LOCK[1]}))
        conn.commit()
        try:
            yield held
        finally:
            if held:
                try:
                    conn.execute(UNLOCK, {"cls": SYNC_LOCK[0], "key": SYNC_LOCK[1]})
                    conn.commit()
                except SQLAlchemyError:
                    logger.warning("could not release the tag sync lock; dropping its connection", exc_info=True)
                    conn.invalidate()  # closing the connection releases the lock


def orgs_without_tag(db: Session) -> list[Organisation]:
    """Villages, communities and enterprises with followers but no WeChat tag yet."""
    followed = select(Person.home_org_id).where(Person.subscribed.is_(True), Person.openid.is_not(None))
    return list(db.scalars(select(Organisation).where(
        Organisation.wechat_tag_id.is_(None), Organisation.kind.in_(BINDABLE_KINDS),
        Organisation.id.in_(followed)).order_by(Organisation.id)))


def tag_name(org: Organisation, max_bytes: int = 30) -> str:
    """A unique tag name within WeChat's 30-byte limit: the name, cut, plus #id."""
    suffix = f"#{org.id}"
    name = org.name
    while len((name + suffix).encode("utf-8")) > max_bytes:
        name = name[:-1]
    return name + suffix


def set_org_tag(db: Session, org_id: int, tag_id: int) -> None:
    """Remember the organisation's tag id."""
    org = db.get(Organisation, org_id)
    if org is not None:
        org.wechat_tag_id = tag_id


def stale_members(db: Session, limit: int) -> list[tuple[WeChatTagMember, bool]]:
    """Tag rows that no longer hold, each with whether the person still follows (then WeChat must untag)."""
    stmt = (
        select(WeChatTagMember, Person.subscribed)
        .join(Person, Person.id == WeChatTagMember.person_id)
        .join(Organisation, Organisation.id == WeChatTagMember.org_id)
        .where(or_(
            Person.home_org_id.is_(None), Person.home_org_id != WeChatTagMember.org_id,
            Person.subscribed.is_(False), Person.openid.is_(None), Person.openid != WeChatTagMember.openid,
            Organisation.wechat_tag_id.is_(None), Organisation.wechat_tag_id != WeChatTagMember.tag_id,
        ))
        .order_by(WeChatTagMember.tag_id, WeChatTagMember.person_id)
        .limit(limit)
    )
    return [(row, bool(subscribed)) for row, subscribed in db.execute(stmt)]


def untagged_people(db: Session, limit: int) -> list[tuple[int, str, int, int]]:
    """(person id, openid, org id, tag id) of followers whose home organisation's tag they do not carry yet."""
    stmt = (
        select(Person.id, Person.openid, Organisation.id, Organisation.wechat_tag_id)
        .join(Organisation, Organisation.id == Person.home_org_id)
        .where(Person.subscribed.is_(True), Person.openid.is_not(None), Organisation.wechat_tag_id.is_not(None),
               ~Person.id.in_(select(WeChatTagMember.person_id)))
        .order_by(Organisation.wechat_tag_id, Person.id)
        .limit(limit)
    )
    return [(pid, str(openid), oid, int(tag)) for pid, openid, oid, tag in db.execute(stmt)]


def record_tagged(db: Session, rows: list[tuple[int, str, int, int]], now: datetime) -> None:
    """Remember that WeChat now tags these people."""
    if rows:
        values = [{"person_id": p, "openid": o, "org_id": org, "tag_id": t, "synced_at": now} for p, o, org, t in rows]
        db.execute(insert(WeChatTagMember).values(values).on_conflict_do_nothing())


def forget(db: Session, person_ids: list[int]) -> None:
    """Remember that these people carry no tag of ours any more."""
    if person_ids:
        db.execute(delete(WeChatTagMember).where(WeChatTagMember.person_id.in_(person_ids)))
