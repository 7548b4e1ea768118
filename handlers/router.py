"""Declarative routes (keyword, regex, event, menu key, message type), each with its role requirement."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from domain.errors import PermissionDenied
from handlers.context import Context
from handlers.dialogs import CANCEL_WORDS, DialogState, clear_state, get_state, user_lock
from handlers.normalize import strip_trailing
from models import Role

logger = logging.getLogger(__name__)

Reply = Any  # str | ImageReply | None
Handler = Callable[..., Reply]
StepHandler = Callable[[Context, str, DialogState], Reply]


def _raw(message: Any, name: str) -> str:
    """A field of the message's XML as wechatpy read it ('' when missing)."""
    value = (getattr(message, "_data", None) or {}).get(name)
    return value if isinstance(value, str) else ""


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

    @property
    def help(self) -> str:
        """The first line of the handler's docstring."""
        return (self.func.__doc__ or "").strip().splitlines()[0] if self.func.__doc__ else ""


@dataclass
class Router:
    """Routes in declared order; the first match wins; an active dialog is asked first."""

    routes: list[Route] = field(default_factory=list)
    steps: dict[tuple[str, str], StepHandler] = field(default_factory=dict)
    fallback: Handler | None = None
    role_check: Callable[[Context, tuple[Role, ...]], bool] | None = None

    # ---- registration -------------------------------------------------------------------------
    def _add(self, kind: str, patterns: tuple[Any, ...], roles: tuple[Role, ...], hidden: bool) -> Callable:
        def decorator(func: Handler) -> Handler:
            self.routes.append(Route(kind, patterns, func, tuple(roles), hidden))
            return func

        return decorator

    def keyword(self, *words: str, roles: tuple[Role, ...] = (), hidden: bool = False) -> Callable:
        """Match text equal to a word, or a word then a space then arguments."""
        return self._add("keyword", words, roles, hidden)

    def regex(self, pattern: str, roles: tuple[Role, ...] = (), hidden: bool = False) -> Callable:
        """Match text against a regular expression; the handler gets the match."""
        return self._add("regex", (re.compile(pattern),), roles, hidden)

    def event(self, *events: str) -> Callable:
        """Match a WeChat event by its lower-cased type (subscribe, scan, …)."""
        return self._add("event", tuple(e.lower() for e in events), (), True)

    def menu(self, *keys: str, roles: tuple[Role, ...] = ()) -> Callable:
        """Match a menu CLICK by its key."""
        return self._add("menu", keys, roles, True)

    def message_type(self, *types: str) -> Callable:
        """Match non-text messages by type (image, location, …)."""
        return self._add("msgtype", types, (), True)

    def step(self, dialog: str, step: str) -> Callable[[StepHandler], StepHandler]:
        """Register the handler of one dialog step."""

        def decorator(func: StepHandler) -> StepHandler:
            self.steps[(dialog, step)] = func
            return func

        return decorator

    # ---- dispatch -----------------------------------------------------------------------------
    def allowed(self, ctx: Context, route: Route) -> bool:
        """Whether the sender may use a route (holds one of its roles anywhere)."""
        if not route.roles:
            return True
        return bool(self.role_check and self.role_check(ctx, route.roles))

    def dispatch(self, ctx: Context) -> Reply:
        """Find the handler for a message and return its reply."""
        msg_type = getattr(ctx.message, "type", "unknown")
        if msg_type == "event" or _raw(ctx.message, "MsgType").lower() == "event":  # wechatpy: unknown events
            return self._dispatch_event(ctx)
        if msg_type not in ("text", "voice") or (msg_type == "voice" and not ctx.text):
            return self._dispatch_type(ctx, msg_type)
        if get_state(ctx) is None:
            return self._dispatch_text(ctx)
        with user_lock(ctx):  # a dialog step: two quick answers must not race
            state = get_state(ctx)
            if state is not None:
                return self._dispatch_step(ctx, state)
            return self._dispatch_text(ctx)

    def _dispatch_step(self, ctx: Context, state: DialogState) -> Reply:
        if strip_trailing(ctx.text) in CANCEL_WORDS:
            clear_state(ctx)
            return "已退出。需要时发送“帮助”查看用法。"
        handler = self.steps.get((state.name, state.step))
        if handler is None:
            logger.warning("dialog step %s/%s has no handler; clearing", state.name, state.step)
            clear_state(ctx)
            return self._dispatch_text(ctx)
        return handler(ctx, ctx.text, state)

    def _dispatch_text(self, ctx: Context) -> Reply:
        text = ctx.text
        bare = strip_trailing(text)
        prefix_hits: list[tuple[int, Route, str]] = []
        for route in self.routes:
            if route.kind == "keyword":
                for word in route.patterns:
                    if bare == word or text.startswith(word + " "):
                        return self._call(ctx, route, text[len(word):].strip())
                    if len(word) >= 2 and text.startswith(word):
                        prefix_hits.append((len(word), route, text[len(word):].strip()))
            elif route.kind == "regex":
                match = route.patterns[0].fullmatch(text)
                if match:
                    return self._call(ctx, route, match)
        if prefix_hits:
            _, route, rest = max(prefix_hits, key=lambda hit: hit[0])
            return self._call(ctx, route, rest)
        return self.fallback(ctx) if self.fallback else None

    def _dispatch_event(self, ctx: Context) -> Reply:
        event = (getattr(ctx.message, "event", "") or _raw(ctx.message, "Event")).lower()
        if event == "click":
            key = getattr(ctx.message, "key", "")
            for route in self.routes:
                if route.kind == "menu" and key in route.patterns:
                    return self._call(ctx, route)
        for route in self.routes:
            if route.kind == "event" and event in route.patterns:
                return route.func(ctx)
        logger.info("unhandled event %s", event)
        return None

    def _dispatch_type(self, ctx: Context, msg_type: str) -> Reply:
        for route in self.routes:
            if route.kind == "msgtype" and (msg_type in route.patterns or "*" in route.patterns):
                return route.func(ctx)
        return None

    def _call(self, ctx: Context, route: Route, *args: Any) -> Reply:
        if not self.allowed(ctx, route):
            raise PermissionDenied()
        return route.func(ctx, *args)

    def help_lines(self, ctx: Context) -> list[str]:
        """The help line of every visible route this sender may use, in declared order."""
        return [line for _, line in self.help_entries(ctx)]

    def help_entries(self, ctx: Context) -> list[tuple[str, str]]:
        """(feature module, help line) of every visible route this sender may use, in declared order."""
        ctx.listing_help = True  # role checks may skip lookups too costly for a listing (meeting duties)
        try:
            return [(r.func.__module__.rsplit(".", 1)[-1], r.help)
                    for r in self.routes if not r.hidden and r.help and self.allowed(ctx, r)]
        finally:
            ctx.listing_help = False
