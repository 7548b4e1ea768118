"""Topic numbers (2026-007) and finding a topic from what a person types (7, 7号, 第7号, 议题7, 2026-7, 2026-007,
东风村2026-007, demo-v1/2026-007).

Replies show one form: the number, 2026-007, and where one number could mean topics of several organisations
(a township's reviewer, a township topic) the organisation's name before it: 东风村2026-007 (``Topic.ref``).
A bare number means this year's topic (in the configured time zone) in one of the organisations the person
may act in; a name (or an ``<org-code>/`` prefix, still accepted) names the organisation outright.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import InvalidInput, NotFound
from domain.orgs import people
from domain.orgs import tree as org_ops
from domain.orgs.people import role_orgs
from domain.topics.scope import may_cosign
from models import Organisation, Person, Role, Topic, TopicCosigner

REF_RE = re.compile(r"^(?:(?P<org>[A-Za-z0-9][A-Za-z0-9-]{0,39})/)?(?:(?P<year>\d{4})[-年])?(?P<seq>\d{1,5})$")
NAMED_RE = re.compile(r"^(?P<name>[^\x00-\x7f]{2,30}?)/?第?(?:(?P<year>\d{4})[-年])?(?P<seq>\d{1,5})号?$")
BAD_REF = "议题编号写法不对。请写成 2026-007，或只写 7（今年的第 7 号）。"
SUPERVISING_ROLES = (Role.UPPER_OFFICE, Role.CONVENOR, Role.PARTY_REVIEWER)


@dataclass(frozen=True)
class TopicRef:
    """A parsed topic reference."""

    org_code: str | None
    year: int | None
    seq: int
    org_name: str | None = None


def format_number(year: int, seq: int) -> str:
    """The displayed number: 2026-007."""
    return f"{year}-{seq:03d}"


def parse_ref(text: str) -> TopicRef:
    """Read 7, 007, 7号, 第7号, 议题7, 7号议题, 2026-007, 2026年7号, 东风村2026-007 or demo-v1/2026-007."""
    cleaned = text.strip().replace(" ", "").rstrip("。.!！?？").removeprefix("议题").removesuffix("议题")
    cleaned = cleaned.removeprefix("第").removeprefix("#").removesuffix("号")
    match = REF_RE.match(cleaned)
    if match and int(match["seq"]):
        return TopicRef(match["org"], int(match["year"]) if match["year"] else None, int(match["seq"]))
    named = NAMED_RE.match(cleaned)
    if named and int(named["seq"]) and not named["name"].startswith("议题"):
        return TopicRef(None, int(named["year"]) if named["year"] else None, int(named["seq"]), named["name"])
    raise InvalidInput(BAD_REF)


def split_ref(text: str) -> tuple[str, str]:
    """Split "<编号> <the rest>" into the reference and the rest ("东风村 2026-007 理由" keeps the name with it)."""
    head, _, rest = text.strip().partition(" ")
    if not head:
        raise InvalidInput(BAD_REF)
    first, _, after = rest.strip().partition(" ")
    if not any(ch.isdigit() for ch in head) and first[:1].isdigit():  # a name, then the number
        return head + first, after.strip()
    return head, rest.strip()


def with_subtrees(db: Session, roots: Iterable[Organisation]) -> list[Organisation]:
    """The organisations and everything below them, without repeats."""
    found: dict[int, Organisation] = {}
    for root in roots:
        for org in org_ops.list_orgs(db, root):
            found.setdefault(org.id, org)
    return list(found.values())


def visible_orgs(db: Session, person: Person) -> list[Organisation]:
    """Where the person may look at topics: home, every role org, and below supervising roles (R-ORG-1)."""
    found = {o.id: o for o in role_orgs(db, person, *Role)}
    for org in with_subtrees(db, role_orgs(db, person, *SUPERVISING_ROLES)):
        found.setdefault(org.id, org)
    if person.home_org is not None:
        found.setdefault(person.home_org.id, person.home_org)
        if person.home_org.parent is not None:  # the township's topics are its villages' too (X-10)
            found.setdefault(person.home_org.parent.id, person.home_org.parent)
    return list(found.values())


def is_insider(db: Session, person: Person, topic: Topic) -> bool:
    """Whether the person sees the topic's full detail: its people, its council, its supervisors (R-ORG-1)."""
    if person.id == topic.proposer_id or any(c.person_id == person.id for c in topic.cosigners):
        return True
    if people.has_role(db, person, topic.org, *Role):
        return True
    return any(people.has_role(db, person, up, *SUPERVISING_ROLES) for up in org_ops.ancestors(topic.org))


def can_view(db: Session, person: Person, topic: Topic) -> bool:
    """Whether the person may see the topic at all: insiders and the organisation's own followers (for a
    township topic, the followers of the villages below it)."""
    return may_cosign(person, topic.org) or is_insider(db, person, topic)


def resolve(
    db: Session,
    text: str,
    among: list[Organisation],
    now: datetime,
    tz: ZoneInfo,
    *,
    prefer: Organisation | None = None,
    narrow: Callable[[Topic], bool] | None = None,
) -> Topic:
    """The topic a person means, searched among some organisations (or the one named by code)."""
    ref = parse_ref(text)
    year = ref.year or now.astimezone(tz).year
    number = format_number(year, ref.seq)
    if ref.org_code:
        named = db.scalar(select(Organisation).where(Organisation.code == ref.org_code))
        if named is None:
            raise NotFound(f"没有代码为 {ref.org_code} 的组织。")
        among = [named]
    elif ref.org_name:
        among = [o for o in among if o.name == ref.org_name] or list(
            db.scalars(select(Organisation).where(Organisation.name == ref.org_name)))
        if not among:
            raise NotFound(f"没有叫“{ref.org_name}”的村（社区）。请检查名字，或只写编号，例如 {number}。")
    if not among:
        raise NotFound(f"没有找到议题 {number}。")
    stmt = select(Topic).where(Topic.org_id.in_([o.id for o in among]), Topic.year == year, Topic.seq == ref.seq)
    matches = list(db.scalars(stmt.order_by(Topic.org_id)))
    if len(matches) > 1 and prefer is not None:
        matches = [t for t in matches if t.org_id == prefer.id] or matches
    if len(matches) > 1 and narrow is not None:
        matches = [t for t in matches if narrow(t)] or matches
    if not matches:
        raise NotFound(f"没有找到议题 {number}。请检查编号，或发送“我的议题”“待审”查看。")
    if len(matches) > 1:
        options = "、".join(t.ref for t in matches[:5])
        raise InvalidInput(f"有几个议题都是 {number}：{options}。请在编号前写上村（社区）名，例如 {matches[0].ref}。")
    return matches[0]


def cosigned_by(db: Session, person: Person) -> list[int]:
    """Ids of the topics the person co-signed."""
    return list(db.scalars(select(TopicCosigner.topic_id).where(TopicCosigner.person_id == person.id)))
