"""Checks across settings: contradictions named by key (imported by domain.settings only)."""

from __future__ import annotations

import re
from typing import Any

# WeChat gives up on a webhook answer after this many seconds (and retries).
WECHAT_DEADLINE_SECONDS = 5.0
_DB_URL = re.compile(r"^postgres(ql)?(\+psycopg)?://[^/?#]*(/[^?#]*)?(\?.*)?$")


def _redis_url_problem(url: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return "not a valid URL (e.g. redis://127.0.0.1:6379/0)"
    if parts.scheme not in ("redis", "rediss", "unix") or (parts.scheme != "unix" and not parts.hostname):
        return "must be a Redis URL such as redis://127.0.0.1:6379/0 (or empty for the embedded server)"
    return None


def contradiction(s: Any) -> str | None:
    """The first pair of settings that contradict each other, as '[section] key: why'."""
    if s.webhook.require_encryption and not s.wechat.encoding_aes_key:
        return "[webhook] require_encryption: true needs [wechat] encoding_aes_key (safe mode)"
    if s.rules.council_min_members > s.rules.council_max_members:
        return (f"[rules] council_min_members: {s.rules.council_min_members} is more than "
                f"[rules] council_max_members ({s.rules.council_max_members})")
    budget = WECHAT_DEADLINE_SECONDS - s.webhook.retry_wait_seconds
    if s.redis.socket_timeout_seconds > budget:
        return (f"[redis] socket_timeout_seconds: {s.redis.socket_timeout_seconds:g} s is longer than the webhook's "
                f"retry budget ({budget:g} s = WeChat's {WECHAT_DEADLINE_SECONDS:g} s minus "
                "[webhook] retry_wait_seconds)")
    if s.database.url and not _DB_URL.match(s.database.url):
        return "[database] url: must be a PostgreSQL URL such as postgresql://user@127.0.0.1:5432/shangliang"
    if s.redis.url:
        problem = _redis_url_problem(s.redis.url)
        if problem:
            return f"[redis] url: {problem}"
    return None
