"""The meeting room: a check-in code per meeting, its chair and secretary, when it opened.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the check-in code, chair, secretary and opening time to meetings."""
    op.add_column("meetings", sa.Column("checkin_code", sa.String(length=12), nullable=True))
    op.add_column("meetings", sa.Column("chair_id", sa.Integer(), nullable=True))
    op.add_column("meetings", sa.Column("secretary_id", sa.Integer(), nullable=True))
    op.add_column("meetings", sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True))
    op.create_unique_constraint("uq_meetings_checkin_code", "meetings", ["checkin_code"])
    op.create_foreign_key("fk_meetings_chair_id_people", "meetings", "people", ["chair_id"], ["id"])
    op.create_foreign_key("fk_meetings_secretary_id_people", "meetings", "people", ["secretary_id"], ["id"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_constraint("fk_meetings_secretary_id_people", "meetings", type_="foreignkey")
    op.drop_constraint("fk_meetings_chair_id_people", "meetings", type_="foreignkey")
    op.drop_constraint("uq_meetings_checkin_code", "meetings", type_="unique")
    op.drop_column("meetings", "opened_at")
    op.drop_column("meetings", "secretary_id")
    op.drop_column("meetings", "chair_id")
    op.drop_column("meetings", "checkin_code")
