"""Reading what people type: option choices, ratings, free text and deadlines.

Text arrives NFKC-normalised (full-width digits and letters are already half-width, "、" and
"，" are commas). Everything here is pure: no database, no clock (``now`` is passed in).
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, tzinfo

from domain.errors import InvalidInput

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "两": 2, "贰": 2, "三": 3, "叁": 3, "四": 4,
             "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
SEPARATORS = re.compile(r"(?:[,;/\s]|和|与|跟|及|还有)+")
CHOICE_AFFIXES = re.compile(r"^(?:我)?(?:选择?|投)?(?:第)?(.+?)(?:个|项|号|条|种|个选项|选项)?$")
SENTENCE_END = "。.!！~～?？"
STARS = "★⭐"


def cn_number(text: str) -> int | None:
    """A number written with digits or Chinese numerals up to 九十九; None if it is not one."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if not text or any(ch not in CN_DIGITS and ch != "十" for ch in text):
        return None
    if "十" not in text:
        return CN_DIGITS[text] if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    return (CN_DIGITS[tens] if tens else 1) * 10 + (CN_DIGITS[ones] if ones else 0)


def _clean(text: str) -> str:
    return text.strip().rstrip(SENTENCE_END).strip()


def _one_choice(token: str, labels: list[str]) -> int | None:
    """The option number a single token means, or None."""
    lowered = token.casefold()
    for index, label in enumerate(labels, start=1):
        if lowered == label.casefold():
            return index
    match = CHOICE_AFFIXES.match(token)
    core = match.group(1) if match else token
    if len(core) == 1 and core.isascii() and core.isalpha():
        return ord(core.upper()) - ord("A") + 1
    return cn_number(core)


def _split_run(token: str, count: int) -> list[str] | None:
    """'13' → ['1','3'], 'AC' → ['A','C'], '一三' → ['一','三'] when each character is an option."""
    if len(token) < 2 or count > 9 and token.isdigit():
        return None
    if token.isdigit() or (token.isascii() and token.isalpha()) or all(ch in CN_DIGITS for ch in token):
        return list(token)
    return None


def choice_hint(count: int, multiple: bool, max_choices: int) -> str:
    """How to answer a choice question, in one short line."""
    if not multiple:
        return f"请回复选项前的数字（1 到 {count}），例如：1"
    most = f"，最多选 {max_choices} 项" if max_choices < count else ""
    return f"可以选多项，数字之间用空格或逗号隔开，例如：1 3{most}"


def parse_choices(text: str, labels: list[str], *, multiple: bool, max_choices: int | None = None) -> list[int]:
    """The chosen option numbers (ascending, distinct); InvalidInput with a hint when unclear."""
    count = len(labels)
    limit = max_choices or (count if multiple else 1)
    hint = choice_hint(count, multiple, limit)
    cleaned = _clean(text)
    if not cleaned:
        raise InvalidInput(hint)
    whole = _one_choice(cleaned, labels)
    tokens = [cleaned] if whole is not None and 1 <= whole <= count else [t for t in SEPARATORS.split(cleaned) if t]
    if multiple and len(tokens) == 1 and (whole is None or not 1 <= whole <= count):
        tokens = _split_run(tokens[0], count) or tokens
    chosen: list[int] = []
    for token in tokens:
        number = _one_choice(token, labels)
        if number is None:
            raise InvalidInput(f"没看懂“{token[:10]}”。{hint}")
        if not 1 <= number <= count:
            raise InvalidInput(f"没有第 {number} 项。{hint}")
        if number not in chosen:
            chosen.append(number)
    if not multiple and len(chosen) > 1:
        raise InvalidInput(f"这题只能选一项。{hint}")
    if len(chosen) > limit:
        raise InvalidInput(f"最多只能选 {limit} 项。{hint}")
    return sorted(chosen)


RATING_HINT = "请打分：回复 1 到 5 的数字，5 分最满意，1 分最不满意。"


def parse_rating(text: str, scale: int = 5) -> int:
    """A score from 1 to ``scale``: '4', '四', '4分', '四星', '★★★★'."""
    cleaned = _clean(text)
    if cleaned and all(ch in STARS for ch in cleaned):
        value: int | None = len(cleaned)
    else:
        value = cn_number(re.sub(r"(?:分|星|颗星)$", "", cleaned))
    if value is None:
        raise InvalidInput(RATING_HINT)
    if not 1 <= value <= scale:
        raise InvalidInput(f"分数要在 1 到 {scale} 之间。{RATING_HINT}")
    return value


def parse_text(text: str, max_chars: int) -> str:
    """A free-text answer within the length limit."""
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput("请直接写下您的意见。")
    if len(cleaned) > max_chars:
        raise InvalidInput(f"写得太长了（{len(cleaned)} 字），请精简到 {max_chars} 字以内再发。")
    return cleaned


# ---- times --------------------------------------------------------------------------------------

DAYS_RE = re.compile(r"^(\S+?)\s*(天|小时|个小时)(?:后|以后|之后)?$")
DATE_RE = re.compile(
    r"^(?:(?P<y>\d{4})[-/年])?(?P<m>\d{1,2})[-/月](?P<d>\d{1,2})[日号]?"
    r"(?:\s*(?P<H>\d{1,2})(?::(?P<M>\d{2})|点(?:(?P<M2>\d{1,2})分?|半)?))?$"
)
RELATIVE_DAYS = {"今天": 0, "明天": 1, "后天": 2}
END_OF_DAY = time(23, 59)


def parse_deadline(text: str, now: datetime, tz: tzinfo, *, max_days: int) -> datetime:
    """A closing instant from '3天', '5', '12小时', '明天', '12月1日', '12月1日 18:00', '2026-12-01 18:00'."""
    cleaned = _clean(text).replace("截止", "").strip()
    local_now = now.astimezone(tz)
    when: datetime | None = None
    relative = DAYS_RE.match(cleaned)
    if cleaned in RELATIVE_DAYS:
        day = local_now.date() + timedelta(days=RELATIVE_DAYS[cleaned])
        when = datetime.combine(day, END_OF_DAY, tz)
    elif relative or cn_number(cleaned) is not None:
        amount = cn_number(relative.group(1) if relative else cleaned)
        if amount is None:
            raise InvalidInput(f"没看懂截止时间“{cleaned}”。可以写“3天”或“12月1日 18:00”。")
        hours = relative is not None and "小时" in relative.group(2)
        if amount > max_days * (24 if hours else 1):
            raise InvalidInput(f"截止时间太远了，最长 {max_days} 天。")
        when = now + (timedelta(hours=amount) if hours else timedelta(days=amount))
    else:
        when = _calendar_time(cleaned, local_now, tz, max_days)
    if when <= now:
        raise InvalidInput("截止时间已经过去了，请写一个以后的时间。")
    if when > now + timedelta(days=max_days):
        raise InvalidInput(f"截止时间太远了，最长 {max_days} 天。")
    return when


def _calendar_time(text: str, local_now: datetime, tz: tzinfo, max_days: int) -> datetime:
    match = DATE_RE.match(text)
    if not match:
        raise InvalidInput(f"没看懂截止时间“{text}”。可以写“3天”或“12月1日 18:00”。")
    year = int(match["y"]) if match["y"] else local_now.year
    hour = int(match["H"]) if match["H"] else None
    minute = int(match["M"] or match["M2"] or (30 if match["H"] and text.endswith("半") else 0))
    try:
        moment = datetime(year, int(match["m"]), int(match["d"]), tzinfo=tz)
        clock = END_OF_DAY if hour is None else time(hour, minute)
    except ValueError as exc:
        raise InvalidInput(f"日期或时间不对：“{text}”。") from exc
    moment = datetime.combine(moment.date(), clock, tz)
    if not match["y"] and moment < local_now:
        following = moment.replace(year=year + 1)  # "1月5日" typed in December means next January
        if following - local_now <= timedelta(days=max_days):
            moment = following
    return moment


def parse_local_time(value: str | datetime, tz: tzinfo) -> datetime:
    """A time written '2026-12-01 08:00' (read in ``tz`` when it has no offset) as an aware datetime."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(value.strip().replace("/", "-"))
        except ValueError as exc:
            raise InvalidInput(f"时间格式不对：“{value}”，请写成 2026-12-01 08:00。") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def format_local(moment: datetime, tz: tzinfo) -> str:
    """'11月30日 18:00' in the readers' time zone."""
    local = moment.astimezone(tz)
    return f"{local.month}月{local.day}日 {local:%H:%M}"
