"""Followers and user tags of the fake official account (not thread-safe; the state locks)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

FIRST_TAG_ID = 100
RESERVED_TAGS = {2: "星标组"}
MAX_TAGS = 100
MAX_TAGS_PER_USER = 20
MAX_TAG_NAME_BYTES = 30


class DirectoryError(Exception):
    """A WeChat error code raised by a directory operation."""

    def __init__(self, errcode: int) -> None:
        super().__init__(errcode)
        self.errcode = errcode


@dataclass
class Follower:
    """One user as WeChat knows them; unknown openids are treated as followers."""

    openid: str
    subscribed: bool = True
    subscribe_time: int = field(default_factory=lambda: int(time.time()))
    tag_ids: list[int] = field(default_factory=list)
    subscribe_scene: str = "ADD_SCENE_QR_CODE"
    qr_scene: int = 0
    qr_scene_str: str = ""


class Directory:
    """Users and tags, with WeChat's limits and error codes."""

    def __init__(self) -> None:
        self.users: dict[str, Follower] = {}
        self.tags: dict[int, str] = dict(RESERVED_TAGS)
        self._next_tag_id = FIRST_TAG_ID
        self.page_size = 10_000

    def user(self, openid: str) -> Follower:
        """The follower record for `openid`, created on first sight."""
        if openid not in self.users:
            self.users[openid] = Follower(openid)
        return self.users[openid]

    def is_following(self, openid: str) -> bool:
        """Whether `openid` currently follows the account."""
        follower = self.users.get(openid)
        return follower is None or follower.subscribed

    def set_following(self, openid: str, following: bool) -> None:
        """Mark `openid` followed or unfollowed (unfollowing drops its tags, as WeChat does)."""
        follower = self.user(openid)
        if following and not follower.subscribed:
            follower.subscribe_time = int(time.time())
        if not following:
            follower.tag_ids.clear()
        follower.subscribed = following

    def user_info(self, openid: str) -> dict[str, Any]:
        """The `/cgi-bin/user/info` answer (no nickname or avatar, as since 2021-12)."""
        follower = self.user(openid)
        if not follower.subscribed:
            return {"subscribe": 0, "openid": openid, "tagid_list": []}
        return {
            "subscribe": 1, "openid": openid, "language": "zh_CN",
            "subscribe_time": follower.subscribe_time, "remark": "", "groupid": 0,
            "tagid_list": list(follower.tag_ids), "subscribe_scene": follower.subscribe_scene,
            "qr_scene": follower.qr_scene, "qr_scene_str": follower.qr_scene_str,
        }

    def followers(self) -> list[str]:
        """Openids of all current followers, in first-seen order."""
        return [f.openid for f in self.users.values() if f.subscribed]

    def members(self, tag_id: int) -> list[str]:
        """Openids carrying `tag_id`."""
        return [f.openid for f in self.users.values() if f.subscribed and tag_id in f.tag_ids]

    def page(self, openids: list[str], next_openid: str | None) -> dict[str, Any]:
        """One page of an openid listing, paged the way WeChat pages it."""
        start = 0
        if next_openid:
            start = openids.index(next_openid) + 1 if next_openid in openids else len(openids)
        chunk = openids[start:start + self.page_size]
        if not chunk:
            return {"count": 0, "next_openid": ""}
        return {"count": len(chunk), "data": {"openid": chunk}, "next_openid": chunk[-1]}

    def create_tag(self, name: Any) -> dict[str, Any]:
        """Create a tag; duplicate names give 45157, long names 45158."""
        if not isinstance(name, str) or not name.strip() or name in self.tags.values():
            raise DirectoryError(45157)
        if len(name.encode("utf-8")) > MAX_TAG_NAME_BYTES:
            raise DirectoryError(45158)
        if len(self.tags) >= MAX_TAGS:
            raise DirectoryError(45056)
        tag_id = self._next_tag_id
        self._next_tag_id += 1
        self.tags[tag_id] = name
        return {"id": tag_id, "name": name}

    def list_tags(self) -> list[dict[str, Any]]:
        """All tags with their member counts."""
        return [{"id": i, "name": n, "count": len(self.members(i))} for i, n in self.tags.items()]

    def _known_tag(self, tag_id: Any, *, writable: bool = False) -> int:
        if isinstance(tag_id, bool) or not isinstance(tag_id, int) or tag_id not in self.tags:
            raise DirectoryError(45159)
        if writable and tag_id in RESERVED_TAGS:
            raise DirectoryError(45058)
        return tag_id

    def update_tag(self, tag_id: Any, name: Any) -> None:
        """Rename a tag."""
        tag_id = self._known_tag(tag_id, writable=True)
        if not isinstance(name, str) or not name.strip() or name in self.tags.values():
            raise DirectoryError(45157)
        if len(name.encode("utf-8")) > MAX_TAG_NAME_BYTES:
            raise DirectoryError(45158)
        self.tags[tag_id] = name

    def delete_tag(self, tag_id: Any) -> None:
        """Delete a tag and drop it from every user."""
        tag_id = self._known_tag(tag_id, writable=True)
        del self.tags[tag_id]
        for follower in self.users.values():
            if tag_id in follower.tag_ids:
                follower.tag_ids.remove(tag_id)

    def _openid_list(self, openids: Any) -> list[str]:
        if not isinstance(openids, list) or not 1 <= len(openids) <= 50:
            raise DirectoryError(40032)
        if not all(isinstance(o, str) and o for o in openids):
            raise DirectoryError(40003)
        return openids

    def tag_users(self, tag_id: Any, openids: Any) -> list[str]:
        """Batch-tag up to 50 users (40032 beyond); a user holds at most 20 tags (45059)."""
        tag_id = self._known_tag(tag_id)
        openids = self._openid_list(openids)
        for openid in openids:
            follower = self.user(openid)
            if tag_id not in follower.tag_ids and len(follower.tag_ids) >= MAX_TAGS_PER_USER:
                raise DirectoryError(45059)
        for openid in openids:
            follower = self.user(openid)
            if tag_id not in follower.tag_ids:
                follower.tag_ids.append(tag_id)
        return openids

    def untag_users(self, tag_id: Any, openids: Any) -> list[str]:
        """Batch-untag up to 50 users."""
        tag_id = self._known_tag(tag_id)
        openids = self._openid_list(openids)
        for openid in openids:
            follower = self.user(openid)
            if tag_id in follower.tag_ids:
                follower.tag_ids.remove(tag_id)
        return openids
