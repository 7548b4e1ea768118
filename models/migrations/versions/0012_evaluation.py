"""Ratings and evaluations (R-RES-6): the table topic_evaluations.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=24)


def upgrade() -> None:
    """Add the tables and columns."""
    op.create_table(
        "topic_evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("by_proxy_id", sa.Integer(), nullable=True),
        sa.Column("kind", _enum("evaluationkind", "party_comment", "member_review", "resident_rating",
                                "organiser_analysis"), nullable=False),
        sa.Column("aspect", _enum("evaluationaspect", "process", "result", "overall"), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score IS NULL OR score BETWEEN 1 AND 5", name="ck_topic_evaluations_score_range"),
        sa.ForeignKeyConstraint(["topic_id"], ["topics.id"], name="fk_topic_evaluations_topic_id_topics"),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name="fk_topic_evaluations_org_id_organisations"),
        sa.ForeignKeyConstraint(["author_id"], ["people.id"], name="fk_topic_evaluations_author_id_people"),
        sa.ForeignKeyConstraint(["by_proxy_id"], ["people.id"], name="fk_topic_evaluations_by_proxy_id_people"),
        sa.PrimaryKeyConstraint("id", name="pk_topic_evaluations"),
        sa.UniqueConstraint("topic_id", "author_id", "kind", "aspect",
                            name="uq_topic_evaluations_topic_id_author_id_kind_aspect"),
    )
    op.create_index("ix_topic_evaluations_author_id", "topic_evaluations", ["author_id"])
    op.create_index("ix_topic_evaluations_org_kind", "topic_evaluations", ["org_id", "kind"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_topic_evaluations_org_kind", table_name="topic_evaluations")
    op.drop_index("ix_topic_evaluations_author_id", table_name="topic_evaluations")
    op.drop_table("topic_evaluations")
