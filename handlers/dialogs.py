"""Dialog state: a small cursor per user in Redis with a TTL, and a per-user lock."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError

from domain.errors import DomainError, ServiceBusy
from handlers.context import Context

logger = logging.getLogger(__name__)

CANCEL_WORDS = {"取消", "退出", "算了", "不要了", "q", "Q"}


class DialogUnavailable(ServiceBusy):
    """Redis is down: dialogs pause, plain keywords still work."""

    reply = "系统有点忙，分步对话暂停了，请过几分钟再试。直接发送“关键词 内容”的用法不受影响。"


class UserBusy(DomainError):
    """Another message from the same user is being handled."""

    reply = "上一条消息还在处理，请稍等几秒再发。"


@dataclass
class DialogState:
    """Where a user stands in a dialog."""

    name: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)


def dialog_key(key_prefix: str, openid: str) -> str:
    """The Redis key of a user's dialog cursor."""
    return f"{key_prefix}dialog:{openid}"


def _key(ctx: Context) -> str:
    return dialog_key(ctx.settings.redis.key_prefix, ctx.openid)


def get_state(ctx: Context) -> DialogState | None:
    """The user's active dialog, or None (also when Redis is unreachable)."""
    if ctx.redis is None or ctx.no_dialog:
        return None
    try:
        raw = ctx.redis.get(_key(ctx))
    except RedisError:
        logger.warning("redis unreachable: dialogs paused")
        return None
    if not raw:
        return None
    data = json.loads(raw)
    return DialogState(data["name"], data["step"], data.get("data", {}))


def set_state(ctx: Context, state: DialogState) -> None:
    """Start or advance a dialog; refreshes its TTL."""
    if ctx.redis is None:
        raise DialogUnavailable()
    payload = json.dumps({"name": state.name, "step": state.step, "data": state.data}, ensure_ascii=False)
    ctx.no_dialog = False
    try:
        ctx.redis.set(_key(ctx), payload, ex=ctx.settings.dialogs.ttl_seconds)
    except RedisError as exc:
        raise DialogUnavailable() from exc


def clear_state(ctx: Context) -> None:
    """End the user's dialog."""
    if ctx.redis is None:
        return
    try:
        ctx.redis.delete(_key(ctx))
    except RedisError:
        logger.warning("redis unreachable: could not clear dialog")


@contextmanager
def user_lock(ctx: Context) -> Iterator[None]:
    """Hold a short per-user lock so two fast messages do not race through a dialog."""
    if ctx.redis is None:
        yield
        return
    key = ctx.rkey("lock", ctx.openid)
    token = uuid.uuid4().hex
    ttl_ms = int(ctx.settings.dialogs.lock_seconds * 1000)
    deadline = time.monotonic() + ctx.settings.dialogs.lock_seconds
    try:
        while not ctx.redis.set(key, token, nx=True, px=ttl_ms):
            if time.monotonic() > deadline:
                raise UserBusy()
            time.sleep(0.02)
    except RedisError:
        logger.warning("redis unreachable: proceeding without the user lock")
        yield
        return
    try:
        yield
    finally:
        try:
            if ctx.redis.get(key) == token.encode():
                ctx.redis.delete(key)
        except RedisError:
            logger.warning("redis unreachable: user lock left to expire")
