"""CLI: notices, the sender workers and the scheduler's jobs."""

from __future__ import annotations

from bot.cli import main  # noqa: F401
