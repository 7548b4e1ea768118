"""Poll and questionnaire numbers as people type them, and the one form replies show.

Replies show the bare number (投票 3, 问卷 2); where one number could mean polls of several organisations
the person sees (a township's and a village's), the organisation's name goes before it: 东风村3. People may
type 3, ３, 3号, 第3号, 第3个, 3。, 东风村3, 东风村第3号 and, as before, the organisation code: demo-v1-3 or
demo-v1/3.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import InvalidInput, NotFound
from models import Organisation

QUOTE_CHARS = 20  # the refusal quotes at most this much of what was typed
MAX_NUMBER = 1_000_000  # larger 'numbers' are typing slips (and overflow the column)
CODE_RE = re.compile(r"^(?P<code>[A-Za-z0-9][A-Za-z0-9-]{0,39}?)[-/](?P<num>\d{1,7})$")
NAMED_RE = re.compile(r"^(?P<name>[^\x00-\x7f]{2,30}?)[-/的]?第?(?P<num>\d{1,7})[号个]?$")
PLAIN_RE = re.compile(r"^第?(?P<num>\d{1,7})[号个]?$")

T = TypeVar("T")


@dataclass(frozen=True)
class NumberRef:
    """A parsed poll or questionnaire reference: the number, and the organisation if one was named."""

    number: int
    org_code: str | None = None
    org_name: str | None = None


def parse(text: str, noun: str) -> NumberRef:
    """Read what a person typed after 投票/问卷 as a number, with an organisation name or code if given."""
    cleaned = unicodedata.normalize("NFKC", text).strip().rstrip("。.!！?？")
    cleaned = cleaned.removeprefix(noun)
    typed = text.strip() if len(text.strip()) <= QUOTE_CHARS else text.strip()[:QUOTE_CHARS] + "…"
    bad = InvalidInput(f"“{typed}”不是{noun}编号。编号是数字，例如：{noun} 3")
    for pattern in (PLAIN_RE, CODE_RE, NAMED_RE):
        match = pattern.match(cleaned)
        if match is None:
            continue
        number = int(match["num"])
        if not 0 < number <= MAX_NUMBER:
            raise bad
        groups = match.groupdict()
        return NumberRef(number, groups.get("code"), groups.get("name"))
    raise bad


def label(number: int, org: Organisation, clashes: bool) -> str:
    """The number as replies show it: 3, or 东风村3 where the bare number could mean another organisation's."""
    return f"{org.name}{number}" if clashes else str(number)


def clashing(items: Sequence[T], number_of: Callable[[T], int]) -> set[int]:
    """The numbers that occur more than once in a listing (those need the organisation's name)."""
    seen: dict[int, int] = {}
    for item in items:
        seen[number_of(item)] = seen.get(number_of(item), 0) + 1
    return {number for number, count in seen.items() if count > 1}


def named_orgs(db: Session, ref: NumberRef, among: list[int], noun: str) -> list[int]:
    """The organisation ids a reference points at: the named one, or all of `among`."""
    if ref.org_code:
        org = db.scalar(select(Organisation).where(Organisation.code == ref.org_code))
        if org is None:
            raise NotFound(f"没有找到{noun} {ref.org_code}-{ref.number}。发送“{noun}”查看有哪些。")
        return [org.id]
    if ref.org_name:
        named = list(db.scalars(select(Organisation.id).where(Organisation.name == ref.org_name)))
        if not named:
            raise NotFound(f"没有叫“{ref.org_name}”的村（社区）。请检查名字，或只写编号，例如：{noun} {ref.number}")
        return [i for i in named if i in among] or named
    return among


def ambiguous(noun: str, number: int, orgs: list[Organisation]) -> InvalidInput:
    """The reply when one number means several organisations' polls: name each with its short form."""
    choices = "；".join(f"{o.name}的请发“{noun} {o.name}{number}”" for o in orgs)
    return InvalidInput(f"有 {len(orgs)} 个{noun} {number}：{choices}")


def usage_example(db: Session, model: type[Any], org_ids: list[int], keyword: str) -> str:
    """'请写上…编号' with an example that exists: the newest one of these organisations (else a made-up 3)."""
    newest = db.execute(select(model.number, model.org_id).where(model.org_id.in_(org_ids))
                        .order_by(model.id.desc()).limit(1)).first()
    noun = "问卷" if "问卷" in keyword else "投票"
    if newest is None:
        return f"请写上{noun}编号，例如：{keyword} 3。发送“{noun}”查看有哪些。"
    return f"请写上{noun}编号，例如：{keyword} {newest.number}（最新的一个）。发送“{noun}”查看有哪些。"
