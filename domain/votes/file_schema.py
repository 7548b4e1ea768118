"""The keys of poll and questionnaire files and their limits (read by domain/poll_files.py).

Validators raise ValueError with the Chinese reason; the loader adds the file, line and key path.
The limits come from [polls] in the settings, passed as validation context.
"""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

if TYPE_CHECKING:
    from domain.settings import PollSettings


def _limits(info: ValidationInfo) -> PollSettings:
    return info.context["settings"]


class Window(BaseModel):
    """Keys every file has: when it opens and closes, and the topic it screens."""

    model_config = ConfigDict(extra="forbid", strict=True)

    opens_at: datetime | date | str | None = None
    closes_at: datetime | date | str | None = None
    days: int | None = None
    topic: str | None = None

    @field_validator("days")
    @classmethod
    def _days(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and not 1 <= value <= _limits(info).max_days:
            raise ValueError(f"要在 1 到 {_limits(info).max_days} 天之间")
        return value


def _text(value: str, most: int, what: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"{what}不能是空的")
    if len(value) > most:
        raise ValueError(f"{what}太长了（{len(value)} 字），最多 {most} 字")
    return value


def _options(value: list[str], info: ValidationInfo) -> list[str]:
    limits = _limits(info)
    labels = [_text(v, limits.option_max_chars, "选项") for v in value]
    if len(labels) < 2:
        raise ValueError("至少需要两个选项")
    if len(labels) > limits.max_options:
        raise ValueError(f"选项太多了，最多 {limits.max_options} 个")
    if len(set(labels)) != len(labels):
        raise ValueError("有两个选项是一样的")
    return labels


class PollFile(Window):
    """The keys of a poll file."""

    question: str
    options: list[str]
    multiple: bool = False
    max_choices: int | None = None
    audience: Literal["followers", "members"] = "followers"
    anonymous: bool = True
    hide_results: bool = False
    min_turnout: str | float | None = None

    @field_validator("question")
    @classmethod
    def _question(cls, value: str, info: ValidationInfo) -> str:
        return _text(value, _limits(info).question_max_chars, "问题")

    @field_validator("options")
    @classmethod
    def _opts(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return _options(value, info)

    @field_validator("min_turnout")
    @classmethod
    def _turnout(cls, value: str | float | None) -> str | float | None:
        if value is not None:
            ratio(value)
        return value


def ratio(value: str | float) -> Fraction:
    """A share written "1/2" or 0.5, strictly above 0 and at most 1."""
    try:
        ratio = Fraction(str(value).strip())
    except (ValueError, ZeroDivisionError) as exc:
        raise ValueError("要写成比例，例如 \"1/2\" 或 0.5") from exc
    if not 0 < ratio <= 1:
        raise ValueError("要大于 0、不超过 1")
    return ratio


class QuestionFile(BaseModel):
    """The keys of one [[questions]] table."""

    model_config = ConfigDict(extra="forbid", strict=True)

    kind: Literal["single", "multiple", "rating", "text"]
    text: str
    options: list[str] = []
    required: bool = True
    max_choices: int | None = None
    max_chars: int | None = None

    @field_validator("text")
    @classmethod
    def _prompt(cls, value: str) -> str:
        return _text(value, 500, "题目")

    @field_validator("options")
    @classmethod
    def _opts(cls, value: list[str], info: ValidationInfo) -> list[str]:
        kind = info.data.get("kind")
        if kind in ("single", "multiple"):
            return _options(value, info)
        if value:
            raise ValueError("只有单选题和多选题才有选项")
        return value

    @field_validator("max_choices")
    @classmethod
    def _most(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None:
            return value
        if info.data.get("kind") != "multiple":
            raise ValueError("只有多选题才能设最多选几项")
        if not 1 <= value <= len(info.data.get("options") or []):
            raise ValueError("要在 1 和选项个数之间")
        return value

    @field_validator("max_chars")
    @classmethod
    def _chars(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None:
            return value
        if info.data.get("kind") != "text":
            raise ValueError("只有填写题才能设字数上限")
        if not 1 <= value <= 2000:
            raise ValueError("要在 1 到 2000 之间")
        return value


class QuestionnaireFile(Window):
    """The keys of a questionnaire file."""

    title: str
    intro: str = ""
    audience: Literal["followers", "members", "named"] = "followers"
    people: list[str] = []
    anonymous: bool = False
    allow_changes: bool = False
    questions: list[QuestionFile]

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return _text(value, 200, "标题")

    @field_validator("questions")
    @classmethod
    def _count(cls, value: list[QuestionFile], info: ValidationInfo) -> list[QuestionFile]:
        if not value:
            raise ValueError("至少要有一道题（[[questions]]）")
        if len(value) > _limits(info).max_questions:
            raise ValueError(f"题目太多了，最多 {_limits(info).max_questions} 道")
        return value
