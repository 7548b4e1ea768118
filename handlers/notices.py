"""Notice keywords: 发布通知, 通知, 公示, 送达."""

from __future__ import annotations

from handlers.registry import router  # noqa: F401
