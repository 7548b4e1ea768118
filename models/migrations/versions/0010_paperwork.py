"""The opinion list and the result feedback list (R-RES-4).

Tables opinion_lists (one per meeting, numbered per organisation and year, sent to the upper level)
and topic_feedbacks (what the department did, by whom, by when). The new role ``department`` needs
no change: roles are stored as VARCHAR(24) without a CHECK constraint.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the tables and columns."""
    op.create_table(
        "opinion_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("upper_org_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_count", sa.Integer(), nullable=False),
        sa.Column("sent_by_id", sa.Integer(), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], name="fk_opinion_lists_meeting_id_meetings"),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name="fk_opinion_lists_org_id_organisations"),
        sa.ForeignKeyConstraint(["upper_org_id"], ["organisations.id"],
                                name="fk_opinion_lists_upper_org_id_organisations"),
        sa.ForeignKeyConstraint(["sent_by_id"], ["people.id"], name="fk_opinion_lists_sent_by_id_people"),
        sa.ForeignKeyConstraint(["read_by_id"], ["people.id"], name="fk_opinion_lists_read_by_id_people"),
        sa.PrimaryKeyConstraint("id", name="pk_opinion_lists"),
        sa.UniqueConstraint("meeting_id", name="uq_opinion_lists_meeting_id"),
        sa.UniqueConstraint("org_id", "year", "seq", name="uq_opinion_lists_org_id_year_seq"),
    )
    op.create_table(
        "topic_feedbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("done", sa.Text(), nullable=False),
        sa.Column("done_by", sa.String(length=100), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=False),
        sa.Column("department_org_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["topic_id"], ["topics.id"], name="fk_topic_feedbacks_topic_id_topics"),
        sa.ForeignKeyConstraint(["department_org_id"], ["organisations.id"],
                                name="fk_topic_feedbacks_department_org_id_organisations"),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["people.id"], name="fk_topic_feedbacks_recorded_by_id_people"),
        sa.PrimaryKeyConstraint("id", name="pk_topic_feedbacks"),
        sa.UniqueConstraint("topic_id", "seq", name="uq_topic_feedbacks_topic_id_seq"),
    )
    op.create_index("ix_topic_feedbacks_topic_id", "topic_feedbacks", ["topic_id"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_topic_feedbacks_topic_id", table_name="topic_feedbacks")
    op.drop_table("topic_feedbacks")
    op.drop_table("opinion_lists")
