"""Reading what convenors and villagers type: a meeting time, and text kept as typed.

The router hands handlers normalised text (full-width folded: "，" becomes ","). Topics,
reasons and research notes are read by people later, so they are stored as the person
typed them, with only the whitespace tidied.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

from domain.errors import InvalidInput
from handlers.context import Context
from handlers.normalize import original_tail

WHEN_RE = re.compile(
    r"^(?:(?P<y>\d{4})[-/.年])?(?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})[日号]?\s*"
    r"(?P<ampm>上午|早上|中午|下午|晚上)?\s*"
    r"(?P<h>\d{1,2})(?::(?P<mi>\d{2})|点(?:(?P<half>半)|(?P<mi2>\d{1,2})分?)?)\s*(?P<rest>.*)$"
)
AFTERNOON = {"下午", "晚上"}
BAD_TIME = "没看懂会议时间。请写成：12月1日 9:00 地点，或 2026-12-01 09:00 地点。"


def parse_when(text: str, now: datetime, tz: ZoneInfo) -> tuple[datetime, str]:
    """A local date and time at the start of text (next such date when no year is given), and the rest."""
    match = WHEN_RE.match(text.strip())
    if not match:
        raise InvalidInput(BAD_TIME)
    local_now = now.astimezone(tz)
    hour = int(match["h"])
    if match["ampm"] in AFTERNOON and hour < 12:
        hour += 12
    minute = 30 if match["half"] else int(match["mi"] or match["mi2"] or 0)
    year = int(match["y"]) if match["y"] else local_now.year
    try:
        when = datetime(year, int(match["m"]), int(match["d"]), hour, minute, tzinfo=tz)
        if not match["y"] and when < local_now:
            when = when.replace(year=year + 1)
    except ValueError:
        raise InvalidInput(BAD_TIME) from None
    return when, match["rest"].strip()


def as_typed(ctx: Context, rest: str) -> str:
    """The original wording of ``rest`` (the normalised tail of the message), or rest itself."""
    raw = getattr(ctx.message, "content", None) or ""
    raw = re.sub(r"\s+", " ", unicodedata.normalize("NFC", raw)).strip()
    if not rest or not raw:
        return rest
    return original_tail(raw, rest) or rest
