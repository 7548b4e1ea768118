"""Assisted participation (代办): a grid worker acting for a villager."""

from __future__ import annotations

from handlers.registry import router  # noqa: F401
