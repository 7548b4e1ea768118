"""Decisions: the router, the context object, dialogs and the keyword handlers."""

from __future__ import annotations

from handlers.registry import router

_loaded = False


def load_routes() -> None:
    """Import every feature module once, in the order their routes should match."""
    global _loaded
    if _loaded:
        return
    # Declared order matters only for ties; exact keywords beat prefixes anyway.
    from handlers import (
        basic,  # noqa: F401
        notices,  # noqa: F401
        polls,  # noqa: F401
        proxy,  # noqa: F401
        questionnaires,  # noqa: F401
        topics,  # noqa: F401  (registers routes)
    )

    _loaded = True


__all__ = ["load_routes", "router"]
