"""Decisions: the router, the context object, dialogs and the keyword handlers."""

from __future__ import annotations

from handlers.registry import router

_loaded = False


def load_routes() -> None:
    """Import every feature module once, in the order their routes should match."""
    global _loaded
    if _loaded:
        return
    from handlers import basic  # noqa: F401  (registers routes)

    _loaded = True


__all__ = ["load_routes", "router"]
