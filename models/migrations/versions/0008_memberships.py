"""Memberships: binds and moves recorded, eligibility from the organisation at opening; 代办 needs a help mark.

Every bind and move becomes a ``memberships`` row (one open row per person); followers polls and
questionnaires count a person in the organisation whose row covered their opening. Existing homes are
backfilled as ``legacy`` rows from ``bound_at`` (or the person's creation), counting for any opening
when ``bound_at`` is unknown. ``people.needs_help_at`` / ``needs_help_by_id``: the convenor's mark that
lets grid workers act for someone (代办).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create memberships (backfilled from people.home_org_id) and the 代办 help mark."""
    op.add_column("people", sa.Column("needs_help_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("people", sa.Column("needs_help_by_id", sa.Integer(), nullable=True))
    op.create_foreign_key(op.f("fk_people_needs_help_by_id_people"), "people", "people", ["needs_help_by_id"], ["id"])
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("from_org_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counts_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("how", sa.String(length=20), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_memberships_person_id_people")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_memberships_org_id_organisations")),
        sa.ForeignKeyConstraint(["from_org_id"], ["organisations.id"],
                                name=op.f("fk_memberships_from_org_id_organisations")),
        sa.ForeignKeyConstraint(["by_id"], ["people.id"], name=op.f("fk_memberships_by_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
    )
    op.create_index(op.f("ix_memberships_person_id"), "memberships", ["person_id"])
    op.create_index("uq_memberships_open", "memberships", ["person_id"], unique=True,
                    postgresql_where=sa.text("ended_at IS NULL"))
    op.create_index("ix_memberships_org_span", "memberships", ["org_id", "counts_from", "ended_at"])
    op.execute(
        "INSERT INTO memberships (person_id, org_id, started_at, counts_from, how, created_at) "
        "SELECT id, home_org_id, COALESCE(bound_at, created_at), bound_at, 'legacy', now() "
        "FROM people WHERE home_org_id IS NOT NULL"
    )


def downgrade() -> None:
    """Drop memberships and the help mark (the current home stays in people.home_org_id)."""
    op.drop_index("ix_memberships_org_span", table_name="memberships")
    op.drop_index("uq_memberships_open", table_name="memberships")
    op.drop_index(op.f("ix_memberships_person_id"), table_name="memberships")
    op.drop_table("memberships")
    op.drop_constraint(op.f("fk_people_needs_help_by_id_people"), "people", type_="foreignkey")
    op.drop_column("people", "needs_help_by_id")
    op.drop_column("people", "needs_help_at")
