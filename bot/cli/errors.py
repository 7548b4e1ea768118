"""One clear line for the failures of a broken environment: settings, database, Redis, files."""

from __future__ import annotations

import re

from domain.settings import SettingsError

_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return _PASSWORD.sub(r"\1***@", text.splitlines()[0] if text else type(exc).__name__)


def describe(exc: Exception) -> str | None:
    """The one line for a failure of the environment, or None for anything else (a bug)."""
    import psycopg
    import redis
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    from bot.embedded import EmbeddedError

    if isinstance(exc, SettingsError):
        return " ".join(str(exc).split())  # one line, whatever the message held
    if isinstance(exc, (OperationalError, InterfaceError, psycopg.OperationalError)) or (
            isinstance(exc, DBAPIError) and exc.connection_invalidated):
        return f"数据库连不上，请检查 [database] url 和数据库是否在运行：{_first_line(exc)}"
    if isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        return f"Redis 连不上，请检查 [redis] url 和 Redis 是否在运行：{_first_line(exc)}"
    if isinstance(exc, EmbeddedError):
        return f"内置服务器启动失败：{_first_line(exc)}"
    if isinstance(exc, OSError) and exc.filename:
        return f"无法写入或读取 {exc.filename}：{exc.strerror or _first_line(exc)}"
    return None
