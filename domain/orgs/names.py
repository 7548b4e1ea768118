"""Display names a follower gives themself (我叫): no role titles, no organisation, nobody else of the village.

Others see these names in meeting lists, on topics and in 代办's search, so a name that reads like an
office (东风村书记, 网格员小李) or copies a neighbour (a second 张秀英) would let a follower pass as someone
else (issue 12). Administrators' roster names (``shangliang person add``) are not checked here.
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from domain.errors import Conflict, InvalidInput
from domain.orgs.tree import ancestors
from models import Organisation, Person, RoleGrant
from models.people import ROLE_LABELS

MAX_CHARS = 20
# Words of an office or of the account itself; role labels are added below.
TITLE_WORDS = (
    "书记", "支书", "主任", "村长", "镇长", "乡长", "县长", "区长", "组长", "干部", "委员", "村委", "居委",
    "党委", "党支部", "支部", "召集人", "主持", "秘书", "网格", "议事会", "协商办", "办公室", "政府", "领导",
    "官方", "客服", "管理员", "工作人员", "系统", "書記", "幹部", "網格", "領導",
)
MARK_CHARS = " ·・•.-_'"  # what people put inside a name; a name without them is the same name
_NAME_MARKS = str.maketrans("", "", MARK_CHARS)
_SPACE_AND_MARKS = re.compile(r"[\s\W_]+", re.UNICODE)


def _plain(text: str) -> str:
    return _SPACE_AND_MARKS.sub("", unicodedata.normalize("NFKC", text)).lower()


def _invisible(ch: str) -> bool:
    """Control, format (zero-width, direction marks) and unassigned characters: a name shows them as nothing."""
    return unicodedata.category(ch).startswith("C")


def _titles() -> tuple[str, ...]:
    return TITLE_WORDS + tuple(ROLE_LABELS.values())


def check_display_name(db: Session, person: Person, name: str) -> str:
    """The cleaned name, or InvalidInput / Conflict when it is too long, a title or another villager's name."""
    name = name.strip()
    if not name:
        raise InvalidInput("请发送“我叫 您的姓名”，例如：我叫 张秀英。")
    if len(name) > MAX_CHARS or any(ch in name for ch in "<>&") or any(_invisible(ch) for ch in name):
        raise InvalidInput("姓名太长或有特殊符号，请只写您的姓名。")
    plain = _plain(name)
    if not plain or any(_plain(word) in plain for word in _titles()):
        raise InvalidInput("称呼里不能有职务或单位（如书记、主任、网格员），请只写您的姓名。")
    org_names = db.scalars(select(Organisation.name).where(  # "东 风 村老张" too
        or_(func.strpos(name, Organisation.name) > 0, func.strpos(plain, Organisation.name) > 0)).limit(1)).first()
    if org_names:
        raise InvalidInput("称呼里不能有村（社区）或单位的名字，请只写您的姓名。")
    if person.home_org is not None and _taken(db, person, person.home_org, name):
        raise Conflict(f"{person.home_org.name}已经有人叫“{name}”了。同名的话请加个区别，例如：{name}（东头）。")
    return name


def _taken(db: Session, person: Person, org: Organisation, name: str) -> bool:
    """Whether someone else of the organisation (home there, or a role there or above) has this name."""
    org_ids = [org.id, *(o.id for o in ancestors(org))]
    with_role = select(RoleGrant.person_id).where(RoleGrant.org_id.in_(org_ids), RoleGrant.revoked_at.is_(None))
    bare = name.translate(_NAME_MARKS)  # "张 三" and "张·三" are the neighbour 张三 too
    stmt = select(Person.id).where(
        Person.id != person.id,
        or_(Person.real_name == name, Person.nickname == name, Person.real_name == bare, Person.nickname == bare,
            func.translate(Person.real_name, MARK_CHARS, "") == bare),
        or_(Person.home_org_id == org.id, Person.id.in_(with_role)),
    )
    return db.scalar(stmt.limit(1)) is not None
