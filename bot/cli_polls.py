"""CLI: questionnaires and polls."""

from __future__ import annotations

from bot.cli import main  # noqa: F401
