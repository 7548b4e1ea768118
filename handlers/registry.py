"""The one router of the bot; feature modules register their routes on it when imported."""

from __future__ import annotations

from sqlalchemy import select

from handlers.context import Context
from handlers.router import Router
from models import Role, RoleGrant


def holds_any_role(ctx: Context, roles: tuple[Role, ...]) -> bool:
    """Whether the sender holds one of the roles in any organisation."""
    stmt = select(RoleGrant.id).where(
        RoleGrant.person_id == ctx.person.id,
        RoleGrant.role.in_(roles),
        RoleGrant.revoked_at.is_(None),
    )
    return ctx.db.scalar(stmt.limit(1)) is not None


router = Router(role_check=holds_any_role)
