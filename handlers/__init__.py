"""Decisions: the router, the context object, dialogs and the keyword handlers."""

from __future__ import annotations

import importlib

from handlers.registry import router

ROUTE_MODULES = ("topics", "evaluation", "supervision", "meetings", "meeting_chair", "paperwork", "proxy", "polls",
                 "questionnaires", "notices", "records", "basic", "menu_keys")
_loaded = False


def load_routes() -> None:
    """Import every feature module once, in the order their routes should match."""
    global _loaded
    if _loaded:
        return
    # Feature modules register their routes when imported, in this order; help lists them the same
    # way (what villagers do most comes first). Exact keywords beat prefixes whatever the order.
    for name in ROUTE_MODULES:
        importlib.import_module(f"handlers.{name}")
    _loaded = True


__all__ = ["load_routes", "router"]
