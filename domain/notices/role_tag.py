"""Who should carry the role tag: the WeChat tag that shows convenors, chairs and reviewers their own menu.

WeChat matches a conditional menu (个性化菜单) on one user tag. Everyone holding one of ``ROLE_TAG_ROLES``
anywhere, and following the account, carries the tag ``ROLE_TAG_NAME`` besides their organisation's tag
(``domain/notices/tags.py``); the tag sync (``bot/wechat_role_tag.py``) keeps WeChat in step. See docs/menu.md.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Person, Role, RoleGrant

ROLE_TAG_NAME = "召集人等"  # no "#": never the name of an organisation's tag ("东风村#3")
ROLE_TAG_ROLES = (Role.CONVENOR, Role.CHAIR, Role.PARTY_REVIEWER, Role.CPPCC_COMMITTEE)


def role_tag_openids(db: Session) -> set[str]:
    """Openids of followers holding a role that gets the role menu (active grants only)."""
    stmt = (
        select(Person.openid)
        .join(RoleGrant, RoleGrant.person_id == Person.id)
        .where(RoleGrant.role.in_(ROLE_TAG_ROLES), RoleGrant.revoked_at.is_(None),
               Person.subscribed.is_(True), Person.openid.is_not(None))
        .distinct()
    )
    return {str(openid) for openid in db.scalars(stmt)}
