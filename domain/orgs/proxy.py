"""Assisted participation (代办): a grid worker or village cadre acting for a villager who asked them.

Only for villagers a convenor marked as needing help (``shangliang person help``); a villager who uses
WeChat is told by a push each time someone starts acting for them (issue 12).

The session lives in Redis under ``<prefix>proxy:<agent openid>`` (value: the session id, with a
TTL) and in the ``proxy_sessions`` table, which is the audit of every start and end. A session
ends when the agent says so, when they start another, or after ``rules.proxy_session_minutes``
without acting (the expiry moves forward each time the agent acts). When Redis is unreachable
the table alone answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import InvalidInput, PermissionDenied, ServiceBusy
from domain.notices.outbox import push_to
from domain.orgs import people
from domain.orgs.people import role_orgs
from models import Organisation, Person, Role
from models.topics import ProxySession

if TYPE_CHECKING:
    from redis import Redis

logger = logging.getLogger(__name__)

KeyFn = Callable[..., str]
AGENT_ROLES = (Role.GRID_WORKER, Role.CONVENOR)
MAX_CHOICES = 9
RULE = "只能代召集人登记为“需要帮助”的村民办理（如不会用手机的老人）。要登记，请找村里召集人。"


def agent_orgs(db: Session, agent: Person) -> list[Organisation]:
    """Where the person may act for villagers, or PermissionDenied."""
    found = role_orgs(db, agent, *AGENT_ROLES)
    if not found:
        raise PermissionDenied("只有网格员或村干部（召集人）可以代办。")
    return found


def find_villagers(db: Session, agent: Person, query: str) -> list[Person]:
    """Villagers on the agent's rosters matching a name or the last 4 phone digits (at most 10)."""
    org_ids = [o.id for o in agent_orgs(db, agent)]
    query = query.strip()
    if not query:
        raise InvalidInput("请写上村民的姓名或手机号后 4 位，例如：代办 张三。")
    base = select(Person).where(Person.home_org_id.in_(org_ids), Person.id != agent.id).order_by(Person.id)
    if query.isdigit():
        if len(query) != 4:
            raise InvalidInput("手机号请只写最后 4 位，例如：代办 1234。")
        return list(db.scalars(base.where(Person.phone.like(f"%{query}")).limit(MAX_CHOICES + 1)))
    exact = list(db.scalars(base.where(Person.real_name == query).limit(MAX_CHOICES + 1)))
    if exact:
        return exact
    pattern = "%" + query.replace("\\", "").replace("%", "").replace("_", "") + "%"
    return list(db.scalars(base.where(Person.real_name.like(pattern)).limit(MAX_CHOICES + 1)))


def _key(rkey: KeyFn, agent: Person) -> str:
    return rkey("proxy", agent.openid or f"id{agent.id}")


def _open_rows(db: Session, agent: Person) -> list[ProxySession]:
    stmt = select(ProxySession).where(ProxySession.agent_id == agent.id, ProxySession.ended_at.is_(None))
    return list(db.scalars(stmt.order_by(ProxySession.id)))


def _close(row: ProxySession, now: datetime, reason: str) -> None:
    row.ended_at = min(now, row.expires_at) if reason == "expired" else now
    row.end_reason = reason


def start(db: Session, redis: Redis | None, rkey: KeyFn, agent: Person, villager: Person, now: datetime, *,
          minutes: int) -> ProxySession:
    """Begin acting for a villager of an organisation where the agent is grid worker or convenor."""
    org = villager.home_org
    if villager.id == agent.id:
        raise InvalidInput("不能代自己办理。")
    if org is None or not people.has_role(db, agent, org, *AGENT_ROLES):
        raise PermissionDenied("只能代本村（社区）的村民办理。")
    if villager.needs_help_at is None:
        raise PermissionDenied(RULE)
    if redis is None:
        raise ServiceBusy("系统有点忙，代办暂时不能开始，请过几分钟再试。")
    role = Role.GRID_WORKER if people.has_role(db, agent, org, Role.GRID_WORKER) else Role.CONVENOR
    for row in _open_rows(db, agent):
        _close(row, now, "replaced" if row.expires_at > now else "expired")
    row = ProxySession(org_id=org.id, agent_id=agent.id, villager_id=villager.id, agent_role=role.value,
                       started_at=now, idle_minutes=minutes, expires_at=now + timedelta(minutes=minutes))
    db.add(row)
    db.flush()
    try:
        redis.set(_key(rkey, agent), str(row.id), ex=minutes * 60)
    except RedisError as exc:
        raise ServiceBusy("系统有点忙，代办暂时不能开始，请过几分钟再试。") from exc
    if villager.openid:
        push_to(db, [villager], org=org, title="有人代您办理", now=now, source_key=f"proxy-start:{row.id}",
                body=f"{agent.display_name}（{org.name}{role.label}）开始代您办理（代办），每一步都有记录。"
                     f"如果不是您请他帮忙的，请告诉{org.name}的召集人。")
    logger.info("proxy session %s started (agent %s, villager %s)", row.id, agent.id, villager.id)
    return row


def _forget(redis: Redis | None, rkey: KeyFn, agent: Person) -> None:
    if redis is None:
        return
    try:
        redis.delete(_key(rkey, agent))
    except RedisError:
        logger.warning("redis unreachable: proxy key left to expire")


def current(db: Session, redis: Redis | None, rkey: KeyFn, agent: Person, now: datetime) -> ProxySession | None:
    """The agent's live session (its expiry moved forward), or None; an expired one is closed as such."""
    row: ProxySession | None = None
    try:
        raw = redis.get(_key(rkey, agent)) if redis is not None else None
        redis_ok = redis is not None
    except RedisError:
        logger.warning("redis unreachable: reading the proxy session from the database")
        raw, redis_ok = None, False
    if raw:
        row = db.get(ProxySession, int(raw))
    elif not redis_ok:
        rows = _open_rows(db, agent)
        row = rows[-1] if rows else None
    if row is None or row.agent_id != agent.id or row.ended_at is not None or now >= row.expires_at:
        for stale in _open_rows(db, agent):
            _close(stale, now, "expired")
        if raw:
            _forget(redis, rkey, agent)
        return None
    row.expires_at = now + timedelta(minutes=row.idle_minutes)
    if redis_ok and redis is not None:
        try:
            redis.expire(_key(rkey, agent), row.idle_minutes * 60)
        except RedisError:
            logger.warning("redis unreachable: proxy expiry not refreshed")
    return row


def acting_for(db: Session, redis: Redis | None, rkey: KeyFn, actor: Person, now: datetime) -> Person | None:
    """The villager the actor is acting for right now (代办), or None; for every feature that records acts."""
    row = current(db, redis, rkey, actor, now)
    return row.villager if row is not None else None


def end(db: Session, redis: Redis | None, rkey: KeyFn, agent: Person, now: datetime) -> ProxySession | None:
    """End the agent's live session; returns it, or None when there was none."""
    row = current(db, redis, rkey, agent, now)
    if row is not None:
        _close(row, now, "ended")
        db.flush()
    _forget(redis, rkey, agent)
    return row


def sessions(db: Session, org: Organisation) -> list[ProxySession]:
    """Every 代办 session of an organisation, oldest first (the audit)."""
    return list(db.scalars(select(ProxySession).where(ProxySession.org_id == org.id).order_by(ProxySession.id)))
