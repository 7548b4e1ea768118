"""The jobs: each a sweep over database rows, idempotent, taking ``now``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.wechat import WeChatError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A scheduled sweep with a fixed id."""

    id: str
    func: Callable[[Any, datetime], Any]
    every_seconds: int
    description: str


def refresh_access_token(services: Any, now: datetime) -> bool:
    """Make sure a WeChat access token is in Redis (fetched by one lock holder)."""
    try:
        _ = services.wechat.access_token
    except WeChatError as exc:
        logger.warning("could not refresh the WeChat access token: %s", exc)
        return False
    return True


JOBS: list[Job] = [
    Job("wechat-token", refresh_access_token, 600, "keep a shared WeChat access token in Redis"),
]
