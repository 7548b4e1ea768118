"""Keep the role tag (召集人等) on exactly the followers who hold a role with its own menu, and last.

Stateless: WeChat's own member list of the tag is compared with the grants at each run. WeChat matches a
conditional menu on the tag a user was given *last*, so whoever got their organisation's tag in this run and
should carry the role tag gets it again afterwards (untag, tag). See docs/menu.md.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.wechat import WeChatAPI, WeChatError
from domain.notices.role_tag import ROLE_TAG_NAME, role_tag_openids

if TYPE_CHECKING:
    from bot.services import Services

logger = logging.getLogger(__name__)

BATCH = 50  # WeChat tags or untags at most 50 openids per call
DUPLICATE_NAME = 45157


def find_role_tag(wechat: WeChatAPI) -> int | None:
    """The role tag's id on WeChat, or None when it does not exist yet."""
    tags = wechat.get("tags/get").get("tags", [])
    return next((int(t["id"]) for t in tags if isinstance(t, dict) and t.get("name") == ROLE_TAG_NAME), None)


def ensure_role_tag(wechat: WeChatAPI) -> int:
    """The role tag's id, creating the tag when missing (a concurrent creator's tag is found again)."""
    found = find_role_tag(wechat)
    if found is not None:
        return found
    try:
        return int(wechat.post("tags/create", data={"tag": {"name": ROLE_TAG_NAME}})["tag"]["id"])
    except WeChatError as exc:
        found = find_role_tag(wechat) if exc.errcode == DUPLICATE_NAME else None
        if found is None:
            raise
        return found


def tag_members(wechat: WeChatAPI, tag_id: int) -> set[str]:
    """Every openid WeChat lists under the tag (paged by next_openid)."""
    members: set[str] = set()
    next_openid = ""
    while True:
        body: dict[str, object] = {"tagid": tag_id}
        if next_openid:
            body["next_openid"] = next_openid
        page = wechat.post("user/tag/get", data=body)
        openids = (page.get("data") or {}).get("openid") or []
        members.update(str(o) for o in openids)
        next_openid = str(page.get("next_openid") or "")
        if not openids or not next_openid:
            return members


def _batch(wechat: WeChatAPI, path: str, tag_id: int, openids: list[str], counts: dict[str, int]) -> list[str]:
    done: list[str] = []
    for start in range(0, len(openids), BATCH):
        chunk = openids[start:start + BATCH]
        try:
            wechat.post(path, data={"tagid": tag_id, "openid_list": chunk})
        except WeChatError as exc:
            logger.warning("%s of %d people with the role tag failed: %s", path.rsplit("/", 1)[-1], len(chunk), exc)
            counts["errors"] += 1
            continue
        done += chunk
    return done


def sync_role_tag(services: Services, retag: set[str], counts: dict[str, int]) -> None:
    """Tag new role holders, untag former ones, re-tag last those given an organisation tag now (``retag``)."""
    with services.sessions() as db:
        wanted = role_tag_openids(db)
    wechat = services.wechat
    tag_id = ensure_role_tag(wechat) if wanted else find_role_tag(wechat)
    if tag_id is None:
        return  # nobody holds such a role and the tag was never made
    current = tag_members(wechat, tag_id)
    again = sorted(wanted & current & retag)  # their organisation tag is newer now: make the role tag last again
    removed = _batch(wechat, "tags/members/batchuntagging", tag_id, sorted(current - wanted) + again, counts)
    again = [o for o in again if o in set(removed)]
    added = _batch(wechat, "tags/members/batchtagging", tag_id, sorted(wanted - current) + again, counts)
    counts["role_untagged"] += len(set(removed) - set(again))
    counts["role_tagged"] += len(set(added) - set(again))
