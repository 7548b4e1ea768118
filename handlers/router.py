"""Declarative routes (keyword, regex, event, menu key, message type), each with its role requirement."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from domain.errors import PermissionDenied
from handlers.context import Context
from handlers.dialogs import CANCEL_WORDS, DialogState, clear_state, get_state, set_state, user_lock
from handlers.normalize import quoted, strip_trailing
from handlers.route import Handler, Reply, Route
from models import Role

logger = logging.getLogger(__name__)

StepHandler = Callable[[Context, str, DialogState], Reply]

MENU_KEY_PREFIX = "KW_"  # a menu CLICK key "KW_我的议题" runs the keyword 我的议题 (bot/menu.py builds them)
LEAVE_KEY = "_leave"  # in a dialog's data: the keyword typed inside it, while we ask whether to leave
LEAVE_YES = {"是", "是的", "离开", "对", "好", "好的", "要", "嗯"}
LEAVE_NO = {"否", "不", "不是", "继续", "不离开", "不要", "接着填"}
HELP_CACHE_SIZE = 512  # distinct role sets whose help list is kept (a deployment has a few dozen)
# What a person is doing in each dialog, for "您正在填写议题。要离开吗？"
DIALOG_LABELS = {"propose": "填写议题", "proxy": "选择代办的村民", "broadcast": "发布通知",
                 "questionnaire": "填写问卷", "poll_start": "发起投票"}


def _raw(message: Any, name: str) -> str:
    """A field of the message's XML as wechatpy read it ('' when missing)."""
    value = (getattr(message, "_data", None) or {}).get(name)
    return value if isinstance(value, str) else ""


@dataclass
class Router:
    """Routes in declared order; the first match wins; an active dialog is asked first."""

    routes: list[Route] = field(default_factory=list)
    steps: dict[tuple[str, str], StepHandler] = field(default_factory=dict)
    fallback: Handler | None = None
    role_check: Callable[[Context, tuple[Role, ...]], bool] | None = None
    menu_fallback: Handler | None = None  # a menu key no route knows (an old menu still on a phone)
    rewrite: Callable[[str], str] | None = None  # natural openings ("我想提议修桥") to keyword text
    step_answers: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    # Everything role_check reads of a sender: help lists are built once per distinct value and reused.
    role_key: Callable[[Context], Hashable] | None = None
    _help_cache: dict[Hashable, tuple[tuple[str, str], ...]] = field(default_factory=dict, repr=False)
    _keywords: dict[str, Route] | None = field(default=None, repr=False)  # word -> first route naming it

    # ---- registration -------------------------------------------------------------------------
    def _add(self, kind: str, patterns: tuple[Any, ...], roles: tuple[Role, ...], hidden: bool) -> Callable:
        def decorator(func: Handler) -> Handler:
            self.routes.append(Route(kind, patterns, func, tuple(roles), hidden))
            self._help_cache.clear()
            self._keywords = None
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

    def step(self, dialog: str, step: str, answers: tuple[str, ...] = ()) -> Callable[[StepHandler], StepHandler]:
        """Register the handler of one dialog step; ``answers``: keywords the step takes as answers itself."""

        def decorator(func: StepHandler) -> StepHandler:
            self.steps[(dialog, step)] = func
            if answers:
                self.step_answers[(dialog, step)] = frozenset(answers)
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
        bare = strip_trailing(ctx.text)
        if bare in CANCEL_WORDS:
            clear_state(ctx)
            return "已退出。需要时发送“帮助”查看用法。"
        handler = self.steps.get((state.name, state.step))
        if handler is None:
            logger.warning("dialog step %s/%s has no handler; clearing", state.name, state.step)
            clear_state(ctx)
            return self._dispatch_text(ctx)
        doing = DIALOG_LABELS.get(state.name, "办理")
        leaving = state.data.get(LEAVE_KEY)
        if leaving is not None:  # we asked whether to leave the dialog for a keyword
            kept = {k: v for k, v in state.data.items() if k != LEAVE_KEY}
            if bare in LEAVE_YES:
                clear_state(ctx)
                ctx.text = str(leaving)
                return self._dispatch_text(ctx)
            if bare in LEAVE_NO:
                set_state(ctx, DialogState(state.name, state.step, kept))
                return f"好的，接着{doing}。请回答上面的问题（回复“取消”可以退出）。"
            if not self.is_keyword_text(ctx.text):
                return f"请回复“是”离开（去办“{quoted(str(leaving))}”），或回复“否”接着{doing}。"
        elif not self.is_keyword_text(ctx.text, self.step_answers.get((state.name, state.step), frozenset())):
            return handler(ctx, ctx.text, state)
        set_state(ctx, DialogState(state.name, state.step, {**state.data, LEAVE_KEY: ctx.text}))
        return f"您正在{doing}。要离开去办“{quoted(bare)}”吗？\n回复“是”离开，回复“否”接着{doing}。"

    def is_keyword_text(self, text: str, answers: frozenset[str] = frozenset()) -> bool:
        """Whether text is a listed keyword (alone or followed by a space) a dialog step should not take as an answer."""
        bare = strip_trailing(text)
        if bare in answers or any(text.startswith(word + " ") for word in answers):
            return False
        return any(bare == word or text.startswith(word + " ")
                   for route in self.routes if route.kind == "keyword" and not route.hidden for word in route.patterns)

    def match(self, text: str) -> tuple[Route, Any] | None:
        """The route a text would reach and what its handler gets (the rest, or the regex match)."""
        bare = strip_trailing(text)
        prefix_hits: list[tuple[int, Route, str]] = []
        for route in self.routes:
            if route.kind == "keyword":
                for word in route.patterns:
                    if bare == word or text.startswith(word + " "):
                        return route, text[len(word):].strip()
                    if len(word) >= 2 and text.startswith(word):
                        prefix_hits.append((len(word), route, text[len(word):].strip()))
            elif route.kind == "regex":
                match = route.patterns[0].fullmatch(text)
                if match:
                    return route, match
        if prefix_hits:
            _, route, rest = max(prefix_hits, key=lambda hit: hit[0])
            return route, rest
        return None

    def keyword_route(self, word: str) -> Route | None:
        """The keyword route one word names (hidden ones too), or None."""
        if self._keywords is None:
            index: dict[str, Route] = {}
            for route in self.routes:
                if route.kind == "keyword":
                    for each in route.patterns:
                        index.setdefault(each, route)
            self._keywords = index
        return self._keywords.get(word)

    def may_send(self, ctx: Context, text: str) -> bool:
        """Whether this sender may send this text now: its first word is a keyword of a route they may use."""
        route = self.keyword_route(strip_trailing(text).split(" ", 1)[0])
        return route is not None and self.allowed(ctx, route)

    def _dispatch_text(self, ctx: Context) -> Reply:
        text = self.rewrite(ctx.text) if self.rewrite else ctx.text
        found = self.match(text)
        if found is not None:
            return self._call(ctx, found[0], found[1], typed=text)
        return self.fallback(ctx) if self.fallback else None

    def _dispatch_event(self, ctx: Context) -> Reply:
        event = (getattr(ctx.message, "event", "") or _raw(ctx.message, "Event")).lower()
        if event == "click":
            key = getattr(ctx.message, "key", "") or ""
            for route in self.routes:
                if route.kind == "menu" and key in route.patterns:
                    return self._call(ctx, route)
            return self._dispatch_menu_keyword(ctx, key)
        for route in self.routes:
            if route.kind == "event" and event in route.patterns:
                return route.func(ctx)
        logger.info("unhandled event %s", event)
        return None

    def _dispatch_menu_keyword(self, ctx: Context, key: str) -> Reply:
        """A menu key ``KW_<keyword>`` acts as if the keyword were typed alone; any other key gets the menu fallback."""
        word = key[len(MENU_KEY_PREFIX):] if key.startswith(MENU_KEY_PREFIX) else ""
        route = self.keyword_route(word) if word else None
        if route is None:
            logger.info("menu key without a handler: %r", key[:128])
            return self.menu_fallback(ctx) if self.menu_fallback else None
        ctx.text = word
        if get_state(ctx) is not None:
            with user_lock(ctx):  # inside a dialog a tap is like typing the keyword: asked whether to leave
                state = get_state(ctx)
                if state is not None:
                    return self._dispatch_step(ctx, state)
        return self._call(ctx, route, "", typed=word)

    def _dispatch_type(self, ctx: Context, msg_type: str) -> Reply:
        for route in self.routes:
            if route.kind == "msgtype" and (msg_type in route.patterns or "*" in route.patterns):
                return route.func(ctx)
        return None

    def _call(self, ctx: Context, route: Route, *args: Any, typed: str = "") -> Reply:
        if not self.allowed(ctx, route):
            example = quoted(strip_trailing(typed)) if route.kind == "keyword" and typed else ""
            sent = f"发送“{example}”" if example else "做这件事"
            raise PermissionDenied(f"您没有这项权限：需要{route.who}{sent}。")
        return route.func(ctx, *args)

    def help_lines(self, ctx: Context) -> list[str]:
        """The help line of every visible route this sender may use, in declared order."""
        return [line for _, line in self.help_entries(ctx)]

    def help_entries(self, ctx: Context) -> tuple[tuple[str, str], ...]:
        """(feature module, help line) of every visible route this sender may use, in declared order.

        The list depends only on what the role check reads (``role_key``), so it is built once per distinct
        set of roles and then reused: a villager's 帮助 no longer walks every route.
        """
        ctx.listing_help = True  # role checks may skip lookups too costly for a listing (meeting duties)
        try:
            key = self.role_key(ctx) if self.role_key is not None else None
            cached = self._help_cache.get(key) if key is not None else None
            if cached is not None:
                return cached
            entries = tuple((r.feature, r.help) for r in self.routes if not r.hidden and r.help and self.allowed(ctx, r))
            if key is not None:
                if len(self._help_cache) >= HELP_CACHE_SIZE:
                    self._help_cache.clear()
                self._help_cache[key] = entries
            return entries
        finally:
            ctx.listing_help = False
