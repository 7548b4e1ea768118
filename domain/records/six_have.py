"""Each room's 六有 record (R-ORG-7, L-三(一)): 有组织、有制度、有场所、有标识、有活动、有成效.

Three are derived from what the bot already records: 有组织 = a council with at least one convenor and one
member; 有活动 = a meeting opened within the last ``[rules] six_have_period_months``; 有成效 = a topic of the
organisation reaching 已落实 within the same period. The other three (制度, 场所, 标识) are entered by an
administrator (``shangliang org six-have``); the latest entry of an item counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.errors import InvalidInput
from domain.meetings.cadence import add_months
from domain.orgs.council import composition
from domain.records.participation import DEFAULT_TZ
from domain.settings import RulesSettings
from models import Meeting, Organisation, SixHaveEntry, TopicEvent, TopicState
from models.base import utcnow

ORDER = ("organisation", "rules", "place", "sign", "activities", "results")
LABELS = {"organisation": "有组织", "rules": "有制度", "place": "有场所", "sign": "有标识", "activities": "有活动",
          "results": "有成效"}
ENTERED = ("rules", "place", "sign")
WORDS = {"制度": "rules", "有制度": "rules", "rules": "rules", "场所": "place", "有场所": "place", "place": "place",
         "标识": "sign", "有标识": "sign", "sign": "sign"}
NOTE_MAX_CHARS = 500


@dataclass
class Item:
    """One of the six: whether the room has it, and why we say so."""

    code: str
    present: bool
    how: str

    @property
    def label(self) -> str:
        """有组织 … 有成效."""
        return LABELS[self.code]


def since(now: datetime, rules: RulesSettings, tz: tzinfo = DEFAULT_TZ) -> datetime:
    """The start of the period 有活动 and 有成效 look at."""
    return add_months(now, -rules.six_have_period_months, tz)


def parse_item(word: str) -> str:
    """制度 / 场所 / 标识 (or 有制度 …) as an item code; the derived three cannot be entered."""
    code = WORDS.get(word.strip())
    if code is None:
        raise InvalidInput("只能登记 制度、场所、标识；有组织、有活动、有成效由系统根据会议和议题自动判断。")
    return code


def record_item(db: Session, org: Organisation, word: str, note: str, *, present: bool = True) -> SixHaveEntry:
    """Enter 制度, 场所 or 标识 for the room (with what it is), or mark it missing."""
    code = parse_item(word)
    note = " ".join(note.split())
    if present and not note:
        raise InvalidInput("请写上说明，例如：--note \"议事规则已上墙\"。")
    if len(note) > NOTE_MAX_CHARS:
        raise InvalidInput(f"说明请控制在 {NOTE_MAX_CHARS} 字以内。")
    row = SixHaveEntry(org_id=org.id, item=code, present=present, note=note)
    db.add(row)
    db.flush()
    return row


def _entered(db: Session, org: Organisation) -> dict[str, SixHaveEntry]:
    rows = db.scalars(select(SixHaveEntry).where(SixHaveEntry.org_id == org.id).order_by(SixHaveEntry.id))
    return {row.item: row for row in rows}  # the latest per item wins


def six_have(db: Session, org: Organisation, now: datetime | None = None, rules: RulesSettings | None = None,
             tz: tzinfo = DEFAULT_TZ) -> list[Item]:
    """The six items of the organisation's room, in the order of L-三(一)."""
    now, rules = now or utcnow(), rules or RulesSettings()
    start = since(now, rules, tz)
    council = composition(db, org, rules)
    items = {"organisation": Item("organisation", council.convenors > 0 and council.members > 0,
                                  f"召集人 {council.convenors} 人，成员 {council.members} 人")}
    held = db.execute(select(func.count(Meeting.id), func.max(Meeting.opened_at)).where(
        Meeting.org_id == org.id, Meeting.opened_at >= start, Meeting.opened_at <= now)).one()
    last = f"，最近一次 {held[1].astimezone(tz):%Y-%m-%d}" if held[1] else ""
    months = rules.six_have_period_months
    items["activities"] = Item("activities", held[0] > 0, f"近 {months} 个月开会 {held[0]} 次{last}")
    done = db.scalar(select(func.count(func.distinct(TopicEvent.topic_id))).where(
        TopicEvent.org_id == org.id, TopicEvent.to_state == TopicState.IMPLEMENTED.value,
        TopicEvent.from_state != TopicState.IMPLEMENTED.value, TopicEvent.at >= start, TopicEvent.at <= now)) or 0
    items["results"] = Item("results", done > 0, f"近 {months} 个月落实议题 {done} 件")
    entered = _entered(db, org)
    for code in ENTERED:
        row = entered.get(code)
        items[code] = Item(code, bool(row and row.present), row.note if row and row.present else "未登记")
    return [items[code] for code in ORDER]


def six_have_gaps(db: Session, org: Organisation, now: datetime | None = None, rules: RulesSettings | None = None,
                  tz: tzinfo = DEFAULT_TZ) -> list[str]:
    """The labels of the items the room lacks (for supervisors), e.g. ["有标识", "有成效"]."""
    return [item.label for item in six_have(db, org, now, rules, tz) if not item.present]


def lines(items: list[Item]) -> list[str]:
    """Plain lines: each item with ✓ or ✗, then the gaps."""
    shown = [f"  {'✓' if item.present else '✗'} {item.label}：{item.how}" for item in items]
    gaps = [item.label for item in items if not item.present]
    shown.append(f"  六有缺：{'、'.join(gaps)}" if gaps else "  六有齐全。")
    return shown
