"""Questionnaire keywords and the one-question-at-a-time dialog."""

from __future__ import annotations

from handlers.registry import router  # noqa: F401
