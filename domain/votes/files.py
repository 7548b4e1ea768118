"""Poll and questionnaire files (TOML): read, check, and refuse with the line and key at fault.

Syntax errors carry TOML's line and column; shape and limit errors name the key path with
list positions counted from 1 (``questions[2].options``) and, when the key can be found in
the file, its line. Nothing is stored here: a file either yields a complete draft or an error.
See docs/polls.md for the format and examples/*.toml for commented examples.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from domain.errors import InvalidInput
from domain.votes.answers import parse_local_time
from domain.votes.file_schema import PollFile, QuestionnaireFile, Window, ratio
from domain.votes.poll_create import PollDraft
from domain.votes.questionnaire_create import QuestionDraft, QuestionnaireDraft
from models import Audience, QuestionKind

if TYPE_CHECKING:
    from domain.settings import PollSettings

TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


class FileFormatError(InvalidInput):
    """A poll or questionnaire file that cannot be used; the reply names the line and the key."""

    def __init__(self, reply: str, *, line: int | None = None, key: str | None = None) -> None:
        self.line, self.key = line, key
        super().__init__(reply)


MESSAGES = {
    "missing": "缺少这一项", "extra_forbidden": "不认识的键（拼写错误？）", "string_type": "应当是文字（加引号）",
    "bool_type": "应当是 true 或 false", "bool_parsing": "应当是 true 或 false", "int_type": "应当是整数",
    "int_parsing": "应当是整数", "list_type": "应当是一个列表，例如 [\"甲\", \"乙\"]", "int_from_float": "应当是整数",
}


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        elif part not in ("str", "int", "datetime", "date", "float", "function-after"):
            out += f".{part}" if out else str(part)
    return out


def _message(error: dict[str, Any]) -> str:
    if error["type"] == "literal_error":
        return f"只能是 {error['ctx']['expected']}"
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])
    return MESSAGES.get(error["type"], error["msg"])


def _table_end(lines: list[str], start: int) -> int:
    return next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))


def _line_of(source: str, loc: tuple[Any, ...]) -> int | None:
    """The line a key path is written on ([[name]] tables counted in order), if it can be found."""
    lines = source.splitlines()
    table: int | None = None  # the [[...]] header line of the table we are in; None = top level
    start, end = 0, _table_end(lines, -1)
    keys = [p for p in loc if isinstance(p, (str, int))]
    for index, part in enumerate(keys):
        if not isinstance(part, str):
            continue
        follows = keys[index + 1] if index + 1 < len(keys) else None
        header = re.compile(rf"^\s*\[\[\s*{re.escape(part)}\s*\]\]")
        headers = [i for i, text in enumerate(lines) if header.match(text)]
        if isinstance(follows, int) and follows < len(headers):
            table = start = headers[follows]
            end = _table_end(lines, start)
            continue
        key = re.compile(rf"^\s*\"?{re.escape(part)}\"?\s*=")
        found = next((i for i in range(start, end) if key.match(lines[i])), None)
        if found is not None:
            return found + 1
        break
    return table + 1 if table is not None else None


def _parse(source: str, name: str, model: type[BaseModel], settings: PollSettings) -> BaseModel:
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        where = TOML_POSITION.search(str(exc))
        line = int(where.group(1)) if where else None
        at = f"第 {where.group(1)} 行第 {where.group(2)} 列" if where else ""
        raise FileFormatError(f"{name} {at}：TOML 写法有错（{TOML_POSITION.sub('', str(exc)).strip()}）", line=line) from None
    try:
        return model.model_validate(data, context={"settings": settings})
    except ValidationError as exc:
        first = exc.errors()[0]
        key, line = _path(first["loc"]), _line_of(source, first["loc"])
        at = f" 第 {line} 行" if line else ""
        raise FileFormatError(f"{name}{at}，{key}：{_message(first)}", line=line, key=key) from None


def _window(parsed: Window, name: str, source: str, tz: tzinfo, now: datetime,
            settings: PollSettings) -> tuple[datetime, datetime]:
    def moment(key: str, value: datetime | date | str, end_of_day: bool) -> datetime:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime.combine(value, time(23, 59) if end_of_day else time(0, 0), tz)
        try:
            return parse_local_time(value, tz)
        except InvalidInput as exc:
            raise _keyed(name, source, key, exc.reply) from None

    opens = moment("opens_at", parsed.opens_at, False) if parsed.opens_at is not None else now
    if parsed.closes_at is not None and parsed.days is not None:
        raise _keyed(name, source, "days", "closes_at 和 days 只写一个")
    if parsed.closes_at is not None:
        closes = moment("closes_at", parsed.closes_at, True)
    else:
        closes = max(opens, now) + timedelta(days=parsed.days or settings.default_days)
    key = "closes_at" if parsed.closes_at is not None else "days"
    if closes <= now:
        raise _keyed(name, source, key, "截止时间已经过去了")
    if closes <= opens:
        raise _keyed(name, source, key, "截止时间要在开始时间（opens_at）之后")
    if closes - max(opens, now) > timedelta(days=settings.max_days):
        raise _keyed(name, source, key, f"开放时间太长了，最长 {settings.max_days} 天")
    return opens, closes


def _keyed(name: str, source: str, key: str, message: str) -> FileFormatError:
    line = _line_of(source, (key,))
    return FileFormatError(f"{name}{f' 第 {line} 行' if line else ''}，{key}：{message}", line=line, key=key)


def load_poll(source: str, *, name: str, settings: PollSettings, tz: tzinfo, now: datetime) -> PollDraft:
    """A poll draft from a file's text, or FileFormatError."""
    parsed = _parse(source, name, PollFile, settings)
    assert isinstance(parsed, PollFile)
    if parsed.max_choices is not None and not parsed.multiple:
        raise _keyed(name, source, "max_choices", "单选投票不能设最多选几项（要多选请写 multiple = true）")
    if parsed.max_choices is not None and not 1 <= parsed.max_choices <= len(parsed.options):
        raise _keyed(name, source, "max_choices", "要在 1 和选项个数之间")
    opens, closes = _window(parsed, name, source, tz, now, settings)
    return PollDraft(
        question=parsed.question, options=parsed.options, opens_at=opens, closes_at=closes, multiple=parsed.multiple,
        max_choices=parsed.max_choices, audience=Audience(parsed.audience), anonymous=parsed.anonymous,
        hide_results=parsed.hide_results, min_turnout=ratio(parsed.min_turnout) if parsed.min_turnout is not None else None,
        topic=parsed.topic,
    )


def load_questionnaire(source: str, *, name: str, settings: PollSettings, tz: tzinfo, now: datetime) -> QuestionnaireDraft:
    """A questionnaire draft from a file's text, or FileFormatError."""
    parsed = _parse(source, name, QuestionnaireFile, settings)
    assert isinstance(parsed, QuestionnaireFile)
    if parsed.audience == "named" and not parsed.people:
        raise _keyed(name, source, "people", "audience = \"named\" 时要列出受邀的人（openid 或编号）")
    if parsed.people and parsed.audience != "named":
        raise _keyed(name, source, "people", "只有 audience = \"named\" 时才列出受邀的人")
    opens, closes = _window(parsed, name, source, tz, now, settings)
    questions = [QuestionDraft(kind=QuestionKind(q.kind), prompt=q.text, options=q.options, required=q.required,
                               max_choices=q.max_choices, max_chars=q.max_chars) for q in parsed.questions]
    return QuestionnaireDraft(
        title=parsed.title, intro=parsed.intro, questions=questions, opens_at=opens, closes_at=closes,
        audience=Audience(parsed.audience), people=parsed.people, anonymous=parsed.anonymous,
        allow_changes=parsed.allow_changes, topic=parsed.topic,
    )
