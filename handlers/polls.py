"""Poll keywords: 投票, 发起投票, 结束投票, 结果, 核验."""

from __future__ import annotations

from handlers.registry import router  # noqa: F401
