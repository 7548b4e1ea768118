"""Each room's 六有 record (R-ORG-7, L-三(一)): 有组织、有制度、有场所、有标识、有活动、有成效.

Three are derived from what the bot already records: 有组织 = a council with at least one convenor and one
member; 有活动 = a meeting opened within the last ``[rules] six_have_period_months``; 有成效 = a topic of the
organisation reaching 已落实 within the same period. The other three (制度, 场所, 标识) are entered by an
administrator (``shangliang org six-have``); the latest entry of an item counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.errors import InvalidInput
from domain.meetings.cadence import add_months
from domain.records.participation import DEFAULT_TZ
from domain.settings import RulesSettings
from models import Meeting, Organisation, Role, RoleGrant, SixHaveEntry, TopicEvent, TopicState
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


@dataclass
class Facts:
    """What the derived items and the entries of one organisation rest on."""

    convenors: int = 0
    members: int = 0
    meetings: int = 0
    last_meeting: datetime | None = None
    done: int = 0
    entered: dict[str, SixHaveEntry] = field(default_factory=dict)


def facts_by_org(db: Session, org_ids: Iterable[int], now: datetime, rules: RulesSettings,
                 tz: tzinfo = DEFAULT_TZ) -> dict[int, Facts]:
    """The facts of every organisation, four queries whatever their number (GROUP BY organisation)."""
    ids = list(org_ids)
    found = {org_id: Facts() for org_id in ids}
    if not ids:
        return found
    start = since(now, rules, tz)
    council = (select(RoleGrant.org_id, RoleGrant.role, func.count(RoleGrant.id))
               .where(RoleGrant.org_id.in_(ids), RoleGrant.revoked_at.is_(None),
                      RoleGrant.role.in_((Role.CONVENOR, Role.MEMBER))).group_by(RoleGrant.org_id, RoleGrant.role))
    for org_id, role, n in db.execute(council):
        if Role(role) is Role.CONVENOR:
            found[org_id].convenors = n
        else:
            found[org_id].members = n
    held = (select(Meeting.org_id, func.count(Meeting.id), func.max(Meeting.opened_at))
            .where(Meeting.org_id.in_(ids), Meeting.opened_at >= start, Meeting.opened_at <= now)
            .group_by(Meeting.org_id))
    for org_id, n, last in db.execute(held):
        found[org_id].meetings, found[org_id].last_meeting = n, last
    done = (select(TopicEvent.org_id, func.count(func.distinct(TopicEvent.topic_id)))
            .where(TopicEvent.org_id.in_(ids), TopicEvent.to_state == TopicState.IMPLEMENTED.value,
                   TopicEvent.from_state != TopicState.IMPLEMENTED.value, TopicEvent.at >= start, TopicEvent.at <= now)
            .group_by(TopicEvent.org_id))
    for org_id, n in db.execute(done):
        found[org_id].done = n
    for row in db.scalars(select(SixHaveEntry).where(SixHaveEntry.org_id.in_(ids)).order_by(SixHaveEntry.id)):
        # the latest entry per organisation and item wins
        found[row.org_id].entered[row.item] = row
    return found


def items_from(facts: Facts, rules: RulesSettings, tz: tzinfo = DEFAULT_TZ) -> list[Item]:
    """The six items, in the order of L-三(一), from an organisation's facts."""
    months = rules.six_have_period_months
    last = f"，最近一次 {facts.last_meeting.astimezone(tz):%Y-%m-%d}" if facts.last_meeting else ""
    items = {"organisation": Item("organisation", facts.convenors > 0 and facts.members > 0,
                                  f"召集人 {facts.convenors} 人，成员 {facts.members} 人"),
             "activities": Item("activities", facts.meetings > 0, f"近 {months} 个月开会 {facts.meetings} 次{last}"),
             "results": Item("results", facts.done > 0, f"近 {months} 个月落实议题 {facts.done} 件")}
    for code in ENTERED:
        row = facts.entered.get(code)
        items[code] = Item(code, bool(row and row.present), row.note if row and row.present else "未登记")
    return [items[code] for code in ORDER]


def six_have(db: Session, org: Organisation, now: datetime | None = None, rules: RulesSettings | None = None,
             tz: tzinfo = DEFAULT_TZ) -> list[Item]:
    """The six items of the organisation's room, in the order of L-三(一)."""
    now, rules = now or utcnow(), rules or RulesSettings()
    return items_from(facts_by_org(db, [org.id], now, rules, tz)[org.id], rules, tz)


def six_have_gaps(db: Session, org: Organisation, now: datetime | None = None, rules: RulesSettings | None = None,
                  tz: tzinfo = DEFAULT_TZ) -> list[str]:
    """The labels of the items the room lacks (for supervisors), e.g. ["有标识", "有成效"]."""
    return [item.label for item in six_have(db, org, now, rules, tz) if not item.present]


def gaps_by_org(db: Session, org_ids: Iterable[int], now: datetime, rules: RulesSettings,
                tz: tzinfo = DEFAULT_TZ) -> dict[int, list[str]]:
    """The missing labels of every organisation (the supervisors' view), with the queries of one."""
    return {org_id: [item.label for item in items_from(facts, rules, tz) if not item.present]
            for org_id, facts in facts_by_org(db, org_ids, now, rules, tz).items()}


def lines(items: list[Item]) -> list[str]:
    """Plain lines: each item with ✓ or ✗, then the gaps."""
    shown = [f"  {'✓' if item.present else '✗'} {item.label}：{item.how}" for item in items]
    gaps = [item.label for item in items if not item.present]
    shown.append(f"  六有缺：{'、'.join(gaps)}" if gaps else "  六有齐全。")
    return shown
