"""A person's own participation numbers in the chat: 我的履职 (R-ORG-6)."""

from __future__ import annotations

from domain.records import participation
from handlers.context import Context
from handlers.registry import router


@router.keyword("我的履职", "履职记录", "我的参与")
def my_record(ctx: Context, rest: str) -> str:
    """我的履职：看我今年参会、发言、表决的次数"""
    today = ctx.local_now.date()
    since = today.replace(month=1, day=1)
    return participation.chat_summary(ctx.db, ctx.person, since, today, ctx.settings.tz)
