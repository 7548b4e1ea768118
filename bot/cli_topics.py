"""CLI: topics, meetings and the audit trail."""

from __future__ import annotations

from bot.cli import main  # noqa: F401
