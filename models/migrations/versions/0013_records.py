"""Participation records, platforms, 六有 (R-ORG-2, R-ORG-3, R-ORG-6, R-ORG-7).

council_terms (entry and exit of council members, X-三(四)), training_records, platforms with the villages a
joint room serves, a mobile room's stops and the liaising CPPCC members (L-三(一), L-四(二)), and the
entered 六有 items (six_have_entries).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

PLATFORM_KINDS = ("room", "liaison_point", "mobile_room", "joint_room")


def _fk(table: str, column: str, target: str, **kw: object) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), **kw)


def upgrade() -> None:
    """Add the tables."""
    op.create_table(
        "council_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("entered_on", sa.Date(), nullable=False),
        sa.Column("exited_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("council_terms", "person_id", "people"),
        _fk("council_terms", "org_id", "organisations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_council_terms")),
    )
    op.create_index(op.f("ix_council_terms_person_id"), "council_terms", ["person_id"])
    op.create_index(op.f("ix_council_terms_org_id"), "council_terms", ["org_id"])
    op.create_index("uq_council_terms_open", "council_terms", ["person_id", "org_id"], unique=True,
                    postgresql_where=sa.text("exited_on IS NULL"))
    op.create_table(
        "training_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("training_records", "person_id", "people"),
        _fk("training_records", "org_id", "organisations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_records")),
        sa.UniqueConstraint("person_id", "org_id", "held_on", "title",
                            name=op.f("uq_training_records_person_id_org_id_held_on_title")),
    )
    op.create_index(op.f("ix_training_records_person_id"), "training_records", ["person_id"])
    op.create_index(op.f("ix_training_records_org_id"), "training_records", ["org_id"])
    op.create_table(
        "platforms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum(*PLATFORM_KINDS, name="platformkind", native_enum=False, length=24),
                  nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("platforms", "org_id", "organisations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platforms")),
        sa.UniqueConstraint("org_id", "number", name=op.f("uq_platforms_org_id_number")),
    )
    op.create_index(op.f("ix_platforms_org_id"), "platforms", ["org_id"])
    op.create_table(
        "platform_villages",
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        _fk("platform_villages", "platform_id", "platforms", ondelete="CASCADE"),
        _fk("platform_villages", "org_id", "organisations"),
        sa.PrimaryKeyConstraint("platform_id", "org_id", name=op.f("pk_platform_villages")),
    )
    op.create_index(op.f("ix_platform_villages_org_id"), "platform_villages", ["org_id"])
    op.create_table(
        "platform_stops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        _fk("platform_stops", "platform_id", "platforms", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_stops")),
        sa.UniqueConstraint("platform_id", "on_date", "place", name=op.f("uq_platform_stops_platform_id_on_date_place")),
    )
    op.create_index(op.f("ix_platform_stops_platform_id"), "platform_stops", ["platform_id"])
    op.create_table(
        "platform_liaisons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("granted_convenor", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("platform_liaisons", "platform_id", "platforms", ondelete="CASCADE"),
        _fk("platform_liaisons", "person_id", "people"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_liaisons")),
    )
    op.create_index(op.f("ix_platform_liaisons_platform_id"), "platform_liaisons", ["platform_id"])
    op.create_index(op.f("ix_platform_liaisons_person_id"), "platform_liaisons", ["person_id"])
    op.create_index("uq_platform_liaisons_active", "platform_liaisons", ["platform_id", "person_id"], unique=True,
                    postgresql_where=sa.text("ended_at IS NULL"))
    op.create_table(
        "six_have_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=12), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("six_have_entries", "org_id", "organisations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_six_have_entries")),
    )
    op.create_index("ix_six_have_entries_org_item", "six_have_entries", ["org_id", "item", "id"])


def downgrade() -> None:
    """Drop them."""
    op.drop_table("six_have_entries")
    op.drop_table("platform_liaisons")
    op.drop_table("platform_stops")
    op.drop_table("platform_villages")
    op.drop_table("platforms")
    op.drop_table("training_records")
    op.drop_table("council_terms")
