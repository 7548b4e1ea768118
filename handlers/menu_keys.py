"""Menu taps: a key ``KW_<keyword>`` runs its keyword (handlers/router.py); any other unknown key gets this."""

from __future__ import annotations

from handlers.context import Context
from handlers.registry import router
from handlers.understanding import likely_steps


def stale_menu_key(ctx: Context) -> str:
    """The short help for a menu button we do not know (an old menu still on the phone, or a forged key)."""
    steps = [f"“{s}”" for s in likely_steps(ctx) if s != "帮助"]
    lines = ["这个菜单按钮现在用不了（菜单可能刚换过，退出公众号再进来就是新菜单）。"]
    if steps:
        lines.append("您可以发送：" + "、".join(steps))
    lines.append("发送“帮助”查看全部用法。")
    return "\n".join(lines)


router.menu_fallback = stale_menu_key
