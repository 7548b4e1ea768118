"""Secret ballots: nothing links a ballot to its voter

Anonymous ballots were written in their voter's transaction, so ``poll_voters`` and ``poll_ballots`` shared
``xmin`` and disk order. A ballot now waits sealed in ``poll_ballot_queue`` (random id, no time) and reaches
``poll_ballots`` in a batch ordered by the random receipts (domain/votes/ballot_box.py). The ballots already
stored are rewritten the same way: one transaction, receipt order. Their old row versions stay on disk until
``VACUUM FULL poll_ballots`` (docs/polls.md).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the sealed buffer and rewrite stored ballots in receipt order."""
    op.create_table(
        "poll_ballot_queue",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["poll_id"], ["polls.id"], name=op.f("fk_poll_ballot_queue_poll_id_polls"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_ballot_queue")),
    )
    op.create_index(op.f("ix_poll_ballot_queue_poll_id"), "poll_ballot_queue", ["poll_id"], unique=False)
    op.execute("CREATE TEMPORARY TABLE reseated_ballots ON COMMIT DROP AS "
               "SELECT poll_id, receipt, choices, voter_id FROM poll_ballots")
    op.execute("DELETE FROM poll_ballots")
    op.execute("INSERT INTO poll_ballots (poll_id, receipt, choices, voter_id) "
               "SELECT poll_id, receipt, choices, voter_id FROM reseated_ballots ORDER BY poll_id, receipt")


def downgrade() -> None:
    """Drop the buffer (its sealed ballots are lost: close or flush polls first)."""
    op.drop_index(op.f("ix_poll_ballot_queue_poll_id"), table_name="poll_ballot_queue")
    op.drop_table("poll_ballot_queue")
