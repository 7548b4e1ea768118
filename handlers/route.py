"""A route (one way a message can match a handler, with its role requirement) and the reply types."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from models import Role

Reply = Any  # str | ImageReply | None
Handler = Callable[..., Reply]


def roles_label(roles: tuple[Role, ...]) -> str:
    """Who holds one of these roles, in words: "党组织审核人或政协专委会" ('' for everyone)."""
    labels = list(dict.fromkeys(role.label for role in roles))
    if len(labels) <= 1:
        return "".join(labels)
    return "、".join(labels[:-1]) + "或" + labels[-1]


class PrivateText(str):
    """A reply only its recipient may keep (a receipt in an anonymous poll): cached for WeChat's
    retries, never stored in the database next to the openid."""


@dataclass(frozen=True)
class ImageReply:
    """Reply with an image already uploaded to WeChat."""

    media_id: str


@dataclass
class Route:
    """One way a message can match a handler."""

    kind: str  # keyword | regex | event | menu | msgtype
    patterns: tuple[Any, ...]
    func: Handler
    roles: tuple[Role, ...] = ()
    hidden: bool = False

    @cached_property
    def help(self) -> str:
        """The first line of the handler's docstring."""
        return (self.func.__doc__ or "").strip().splitlines()[0] if self.func.__doc__ else ""

    @cached_property
    def feature(self) -> str:
        """The handler's feature module ("topics", "basic", …): the help's sections."""
        return self.func.__module__.rsplit(".", 1)[-1]

    @property
    def words(self) -> tuple[str, ...]:
        """The keywords of a keyword route (none for other kinds)."""
        return tuple(self.patterns) if self.kind == "keyword" else ()

    @property
    def who(self) -> str:
        """Who may use the route, in words ("所有人" when it needs no role)."""
        return roles_label(self.roles) or "所有人"
