"""Topic keywords: 提议, 联名, 我的议题, 议题, 待审, 通过, 退回, 调研."""

from __future__ import annotations

from handlers.registry import router  # noqa: F401
