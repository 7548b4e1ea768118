"""The small object every handler receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from domain.orgs.people import load_sender

if TYPE_CHECKING:
    from collections.abc import Callable

    from redis import Redis

    from domain.settings import Settings
    from models import Person, Role


@dataclass
class Context:
    """One inbound message being handled, with what a handler may use."""

    openid: str
    message: Any  # a wechatpy message object
    text: str  # normalised text ('' for non-text messages)
    db: Session
    redis: Redis | None
    settings: Settings
    now: datetime  # timezone-aware
    uploader: Callable[[bytes, str], str] | None = None  # (PNG bytes, file name) → WeChat media_id; wired by the webhook
    held_roles: frozenset[Role] | None = field(default=None, repr=False)  # cache for route checks
    meeting_roles: frozenset[Role] | None = field(default=None, repr=False)  # chair/secretary of a meeting
    listing_help: bool = False  # the router is building the help list (no per-message extra queries)
    no_dialog: bool = False  # the webhook already saw that this sender has no dialog open
    _person: Person | None = field(default=None, repr=False)

    @property
    def person(self) -> Person:
        """The sender, created on first contact."""
        if self._person is None:
            self._person, self.held_roles = load_sender(self.db, self.openid)
        return self._person

    def rkey(self, *parts: object) -> str:
        """A Redis key under this deployment's prefix."""
        return self.settings.redis.key_prefix + ":".join(str(p) for p in parts)

    @property
    def local_now(self) -> datetime:
        """Now in the configured time zone (what people read)."""
        return self.now.astimezone(self.settings.tz)
