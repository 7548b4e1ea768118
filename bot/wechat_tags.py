"""Keep each organisation's WeChat tag in step with binding and unfollowing (the ``tag-sync`` job)."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING

from bot.wechat import WeChatError
from bot.wechat_role_tag import sync_role_tag
from domain.notices import tags as tag_state
from models.db import transaction

if TYPE_CHECKING:
    from bot.services import Services

logger = logging.getLogger(__name__)

BATCH = 50  # WeChat tags or untags at most 50 openids per call
PER_RUN = 2000  # people handled per run; the next run continues
DUPLICATE_NAME = 45157


def sync_tags(services: Services, now: datetime) -> dict[str, int]:
    """Create missing tags, untag people who left or rebound, tag people who bound, then the role tag; returns counts.

    One sync at a time across processes: a second one started meanwhile (two schedulers, or ``jobs run-due``
    beside the scheduler) does nothing, so WeChat is never told the same thing twice.
    """
    counts = {"tags_created": 0, "untagged": 0, "tagged": 0, "errors": 0, "role_tagged": 0, "role_untagged": 0}
    with tag_state.sync_lock(services.engine) as held:
        if not held:
            logger.info("tag sync already running elsewhere; skipped")
            return counts
        _create_tags(services, counts)
        _untag(services, counts)
        tagged = _tag(services, now, counts)
        sync_role_tag(services, tagged, counts)  # after the organisation tags: WeChat's menu matches the last tag
    return counts


def _existing_tags(services: Services) -> dict[str, int]:
    answer = services.wechat.get("tags/get")
    return {t["name"]: int(t["id"]) for t in answer.get("tags", []) if isinstance(t, dict)}


def _create_tags(services: Services, counts: dict[str, int]) -> None:
    with services.sessions() as db:
        wanted = [(o.id, tag_state.tag_name(o)) for o in tag_state.orgs_without_tag(db)]
    for org_id, name in wanted:
        try:
            tag_id = int(services.wechat.post("tags/create", data={"tag": {"name": name}})["tag"]["id"])
        except WeChatError as exc:
            tag_id = _existing_tags(services).get(name) if exc.errcode == DUPLICATE_NAME else None
            if tag_id is None:
                logger.warning("cannot create WeChat tag %r: %s", name, exc)
                counts["errors"] += 1
                continue
        with transaction(services.sessions) as db:
            tag_state.set_org_tag(db, org_id, tag_id)
        counts["tags_created"] += 1


def _chunks(items: list, size: int = BATCH) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _untag(services: Services, counts: dict[str, int]) -> None:
    with services.sessions() as db:
        stale = [(row.person_id, row.openid, row.tag_id, follows) for row, follows in tag_state.stale_members(db, PER_RUN)]
    by_tag: dict[int, list[tuple[int, str]]] = defaultdict(list)
    gone: list[int] = []
    for person_id, openid, tag_id, follows in stale:
        # WeChat drops every tag of a user who unfollows: only followers need an untag call.
        (by_tag[tag_id].append((person_id, openid)) if follows else gone.append(person_id))
    for tag_id, people in by_tag.items():
        for chunk in _chunks(people):
            try:
                services.wechat.post("tags/members/batchuntagging",
                                     data={"tagid": tag_id, "openid_list": [o for _, o in chunk]})
            except WeChatError as exc:
                logger.warning("untagging %d people from tag %s failed: %s", len(chunk), tag_id, exc)
                counts["errors"] += 1
                continue
            gone += [p for p, _ in chunk]
    with transaction(services.sessions) as db:
        tag_state.forget(db, gone)
    counts["untagged"] += len(gone)


def _tag(services: Services, now: datetime, counts: dict[str, int]) -> set[str]:
    tagged: set[str] = set()
    with services.sessions() as db:
        wanted = tag_state.untagged_people(db, PER_RUN)
    by_tag: dict[int, list[tuple[int, str, int, int]]] = defaultdict(list)
    for row in wanted:
        by_tag[row[3]].append(row)
    for tag_id, rows in by_tag.items():
        for chunk in _chunks(rows):
            try:
                services.wechat.post("tags/members/batchtagging",
                                     data={"tagid": tag_id, "openid_list": [r[1] for r in chunk]})
            except WeChatError as exc:
                logger.warning("tagging %d people with tag %s failed: %s", len(chunk), tag_id, exc)
                counts["errors"] += 1
                continue
            with transaction(services.sessions) as db:
                tag_state.record_tagged(db, chunk, now)
            counts["tagged"] += len(chunk)
            tagged.update(r[1] for r in chunk)
    return tagged
