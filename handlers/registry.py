"""The one router of the bot; feature modules register their routes on it when imported."""

from __future__ import annotations

from sqlalchemy import select

from domain.meetings.attendance import meeting_duties
from handlers.context import Context
from handlers.router import Router
from models import Role, RoleGrant


def held_roles(ctx: Context) -> frozenset[Role]:
    """Every role the sender holds anywhere (read once per message)."""
    ctx.person  # noqa: B018 - loading the sender loads their roles too
    if ctx.held_roles is None:
        stmt = select(RoleGrant.role).where(RoleGrant.person_id == ctx.person.id, RoleGrant.revoked_at.is_(None))
        ctx.held_roles = frozenset(Role(r) for r in ctx.db.scalars(stmt.distinct()))
    return ctx.held_roles


def holds_any_role(ctx: Context, roles: tuple[Role, ...]) -> bool:
    """Whether the sender holds one of the roles in any organisation, or chairs or minutes a meeting."""
    if not held_roles(ctx).isdisjoint(roles):
        return True
    if Role.CHAIR not in roles and Role.SECRETARY not in roles:
        return False
    if ctx.meeting_roles is None:  # a member named chair or secretary of one meeting (X-13.1, 13.2)
        if ctx.listing_help:
            return False  # the help list stays one query: a named chair's keywords work, unlisted
        ctx.meeting_roles = meeting_duties(ctx.db, ctx.person, ctx.now)
    return not ctx.meeting_roles.isdisjoint(roles)


def role_key(ctx: Context) -> tuple[frozenset[Role], frozenset[Role] | None]:
    """Everything holds_any_role reads of a sender: routes they may use are the same for the same key."""
    return held_roles(ctx), ctx.meeting_roles


router = Router(role_check=holds_any_role, role_key=role_key)
