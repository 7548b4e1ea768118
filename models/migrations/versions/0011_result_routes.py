"""Party confirmation, filing and escalation of results (R-RES-1, R-RES-5): the routes table.

The new topic state (confirmed) and organisation kind (city_office) are VARCHAR values: no column changes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the routes table."""
    op.create_table(
        "topic_routes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("up", "party", "proposal", "opinion", name="routekind", native_enum=False,
                                  length=24), nullable=False),
        sa.Column("from_org_id", sa.Integer(), nullable=False),
        sa.Column("to_org_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["topic_id"], ["topics.id"], name="fk_topic_routes_topic_id_topics"),
        sa.ForeignKeyConstraint(["from_org_id"], ["organisations.id"], name="fk_topic_routes_from_org_id_organisations"),
        sa.ForeignKeyConstraint(["to_org_id"], ["organisations.id"], name="fk_topic_routes_to_org_id_organisations"),
        sa.ForeignKeyConstraint(["actor_id"], ["people.id"], name="fk_topic_routes_actor_id_people"),
        sa.ForeignKeyConstraint(["event_id"], ["topic_events.id"], name="fk_topic_routes_event_id_topic_events"),
        sa.PrimaryKeyConstraint("id", name="pk_topic_routes"),
    )
    op.create_index("ix_topic_routes_to_org", "topic_routes", ["to_org_id", "id"])
    op.create_index("ix_topic_routes_topic", "topic_routes", ["topic_id", "id"])


def downgrade() -> None:
    """Drop the routes table."""
    op.drop_index("ix_topic_routes_topic", table_name="topic_routes")
    op.drop_index("ix_topic_routes_to_org", table_name="topic_routes")
    op.drop_table("topic_routes")
