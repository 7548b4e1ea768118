"""Input normalisation: full-width to half-width, spaces, common punctuation."""

from __future__ import annotations

import re
import unicodedata

from domain.votes.answers import cn_number

_SPACES = re.compile(r"\s+")
_TRAILING = "。.!！?？~～"  # speech recognition ends a sentence with "。", "！" or "？"
# Chinese punctuation NFKC leaves alone but people type in place of ASCII.
_PUNCT = str.maketrans({"、": ",", "，": ",", "；": ";", "：": ":", "（": "(", "）": ")", "“": '"', "”": '"'})


def normalise(text: str | None) -> str:
    """Fold width variants and collapse whitespace, keeping the words as typed."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text).translate(_PUNCT)
    return _SPACES.sub(" ", folded).strip()


def original_tail(raw: str, rest: str) -> str | None:
    """The shortest tail of ``raw`` whose normalised form is ``rest``, found in one linear pass (None if none)."""
    if not rest:
        return None
    chars: list[str] = []
    owners: list[int] = []  # for each folded character, the index in raw it came from
    in_space = False
    for index, ch in enumerate(raw):
        for out in unicodedata.normalize("NFKC", ch).translate(_PUNCT):
            if out.isspace():
                if in_space:
                    continue
                out, in_space = " ", True
            else:
                in_space = False
            chars.append(out)
            owners.append(index)
    folded = "".join(chars).rstrip()
    if not folded.endswith(rest):
        return None
    tail = raw[owners[len(folded) - len(rest)]:].strip()
    return tail if normalise(tail) == rest else None


QUOTE_CHARS = 20  # a reply quotes at most this much of what was typed ("没有找到“…”"), never a whole long text


def quoted(text: str, limit: int = QUOTE_CHARS) -> str:
    """What a reply quotes of a typed text: the text, or its start and "…" when it is longer than ``limit``."""
    return text if len(text) <= limit else text[:limit] + "…"


def strip_trailing(text: str) -> str:
    """Drop sentence-final punctuation ("帮助。" → "帮助"; "?" alone stays: it is a keyword)."""
    return text.rstrip(_TRAILING + " ") or text


def chinese_number(text: str) -> int | None:
    """Read a small number written in Chinese (一 … 九十九) or digits; None if it is not one."""
    return cn_number(text)
