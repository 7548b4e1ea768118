"""The meeting room: check-in code, chair and secretary, form and agenda step of a meeting;
requests for the floor and online opinions (meeting_speeches); the minutes (meeting_minutes).

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


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=24)


def upgrade() -> None:
    """Add the meeting room's columns and tables."""
    op.add_column("meetings", sa.Column("checkin_code", sa.String(length=12), nullable=True))
    op.add_column("meetings", sa.Column("chair_id", sa.Integer(), nullable=True))
    op.add_column("meetings", sa.Column("secretary_id", sa.Integer(), nullable=True))
    op.add_column("meetings", sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("meetings", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("meetings", sa.Column("form", _enum("meetingform", "meeting", "dialogue", "written", "online", "linked"),
                                        nullable=False, server_default="meeting"))
    op.add_column("meetings", sa.Column("step", _enum("agendastep", "present", "proposer", "consult", "revise", "confirm"),
                                        nullable=True))
    op.add_column("meetings", sa.Column("online_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("meetings", sa.Column("revised_text", sa.Text(), nullable=False, server_default=""))
    op.add_column("meetings", sa.Column("summary", sa.Text(), nullable=False, server_default=""))
    op.add_column("meetings", sa.Column("confirm_method", sa.String(length=20), nullable=False, server_default=""))
    op.create_unique_constraint("uq_meetings_checkin_code", "meetings", ["checkin_code"])
    op.create_foreign_key("fk_meetings_chair_id_people", "meetings", "people", ["chair_id"], ["id"])
    op.create_foreign_key("fk_meetings_secretary_id_people", "meetings", "people", ["secretary_id"], ["id"])
    op.create_table(
        "meeting_speeches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("side", _enum("side", "for", "against", "other"), nullable=False),
        sa.Column("status", _enum("speechstatus", "queued", "speaking", "done", "stopped", "withdrawn"), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overtime_told_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], name="fk_meeting_speeches_meeting_id_meetings"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name="fk_meeting_speeches_person_id_people"),
        sa.PrimaryKeyConstraint("id", name="pk_meeting_speeches"),
    )
    op.create_index("ix_meeting_speeches_meeting_id", "meeting_speeches", ["meeting_id"])
    op.create_table(
        "meeting_minutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["people.id"], name="fk_meeting_minutes_author_id_people"),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"], name="fk_meeting_minutes_meeting_id_meetings"),
        sa.PrimaryKeyConstraint("id", name="pk_meeting_minutes"),
    )
    op.create_index("ix_meeting_minutes_meeting_id", "meeting_minutes", ["meeting_id"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_meeting_minutes_meeting_id", table_name="meeting_minutes")
    op.drop_table("meeting_minutes")
    op.drop_index("ix_meeting_speeches_meeting_id", table_name="meeting_speeches")
    op.drop_table("meeting_speeches")
    op.drop_constraint("fk_meetings_secretary_id_people", "meetings", type_="foreignkey")
    op.drop_constraint("fk_meetings_chair_id_people", "meetings", type_="foreignkey")
    op.drop_constraint("uq_meetings_checkin_code", "meetings", type_="unique")
    for column in ("confirm_method", "summary", "revised_text", "online_until", "step", "form", "closed_at",
                   "opened_at", "secretary_id", "chair_id", "checkin_code"):
        op.drop_column("meetings", column)
