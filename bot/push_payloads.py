"""Turning a push into what each WeChat channel accepts (template typed-field limits, text size)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from domain.notices.content import PushContent

THING_MAX_CHARS = 20  # WeChat: a "thing" value is at most 20 characters
CUSTOM_MAX_BYTES = 2000  # keep customer-service text within about 2 KB
CUT_MARK = "…"


def thing(value: str) -> str:
    """A template "thing" value: one line, at most 20 characters."""
    flat = " ".join((value or "").split()) or "-"
    return flat if len(flat) <= THING_MAX_CHARS else flat[: THING_MAX_CHARS - 1] + CUT_MARK


def template_time(moment: datetime, tz: tzinfo) -> str:
    """A template "time" value in WeChat's format: 2025年11月30日 09:00."""
    local = moment.astimezone(tz)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def template_data(content: PushContent, tz: tzinfo) -> dict[str, dict[str, Any]]:
    """The data of a template message; every template has the same five fields (docs/notices.md)."""
    return {
        "thing1": {"value": thing(content.title)},
        "time2": {"value": template_time(content.when, tz)},
        "thing3": {"value": thing(content.where)},
        "thing4": {"value": thing(content.note)},
        "thing5": {"value": thing(content.hint)},
    }


def template_message(openid: str, template_id: str, data: dict[str, dict[str, Any]], *,
                     client_msg_id: str) -> dict[str, Any]:
    """The body of a template send, with WeChat's idempotency key (a repeat is answered, not delivered)."""
    return {"touser": openid, "template_id": template_id, "data": data, "client_msg_id": client_msg_id[:64]}


def custom_text(content: PushContent) -> str:
    """The full text for a customer-service or mass message, cut to about 2 KB."""
    text = content.text
    if len(text.encode("utf-8")) <= CUSTOM_MAX_BYTES:
        return text
    tail = "\n" + content.hint + "。"
    budget = CUSTOM_MAX_BYTES - len(tail.encode("utf-8")) - len(CUT_MARK.encode("utf-8"))
    return text.encode("utf-8")[:budget].decode("utf-8", errors="ignore") + CUT_MARK + tail
