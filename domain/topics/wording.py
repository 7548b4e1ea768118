"""The words of a proposal: what counts as a topic, its title and its duplicate key."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import datetime
from typing import TYPE_CHECKING

from domain.errors import InvalidInput

if TYPE_CHECKING:
    from domain.settings import Settings

MIN_LETTERS = 2  # fewer letters (汉字 or a–z) than this is not a topic: "？？？", "123", "👍"
TITLE_COLUMN_CHARS = 200
_SENTENCE_END = "。！？!?;；\n"
SPOKEN_END = "。.！!？?～~"  # sentence-final marks speech recognition adds; never kept at the end of a topic


def check_text(text: str, settings: Settings, what: str = "内容") -> str:
    """The cleaned text of a proposal, or a clear refusal (empty, too long, not a topic)."""
    cleaned = (text or "").strip()
    if cleaned.rstrip(SPOKEN_END):  # voice input ends with "。" (also ！？); "？？？" stays to be refused below
        cleaned = cleaned.rstrip(SPOKEN_END).strip()
    if not cleaned:
        raise InvalidInput(f"{what}是空的。请写上您想商量的事，例如：提议 修一下村东头的路。")
    limit = settings.rules.topic_max_chars
    if len(cleaned) > limit:
        raise InvalidInput(f"{what}太长了（{len(cleaned)} 字），请控制在 {limit} 字以内，说清楚是什么事、在哪里就行。")
    letters = sum(1 for ch in cleaned if unicodedata.category(ch).startswith("L"))
    if letters < MIN_LETTERS:
        raise InvalidInput("看不出您想商量什么事。请用文字写清楚，例如：提议 修一下村东头的路。")
    return cleaned


def split_title(text: str, max_chars: int) -> tuple[str, str]:
    """A title of at most max_chars (cut at a sentence end when possible) and the rest as detail."""
    max_chars = min(max_chars, TITLE_COLUMN_CHARS)
    if len(text) <= max_chars:
        return text, ""
    cut = max(text.rfind(mark, 0, max_chars) for mark in _SENTENCE_END)
    if cut >= MIN_LETTERS:
        return text[: cut + 1].strip(), text[cut + 1:].strip()
    return text[:max_chars].strip(), text[max_chars:].strip()


def text_hash(text: str, now: datetime, settings: Settings) -> str:
    """The duplicate key: same words (ignoring spaces, punctuation, width and case) on the same local day."""
    day = now.astimezone(settings.tz).date().isoformat()
    folded = "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalnum())
    return hashlib.sha256(f"{day}|{folded}".encode()).hexdigest()
