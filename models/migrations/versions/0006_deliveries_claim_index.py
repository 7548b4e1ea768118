"""The senders' claim index: copies still to send, in claim order.

The claim took the due copies ordered by (next_attempt_at, id) through an index on (status, next_attempt_at),
which cannot give that order for two statuses: every claim sorted every waiting copy, 0.5–0.8 s each with
1,000,000 waiting. The partial index holds only copies still to send, in claim order, so a claim reads one
batch and stops.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Replace ix_deliveries_due with the partial claim index."""
    op.create_index("ix_deliveries_claim", "deliveries", ["next_attempt_at", "id"],
                    postgresql_where=sa.text("status IN ('pending', 'sending')"))
    op.drop_index("ix_deliveries_due", table_name="deliveries")


def downgrade() -> None:
    """Put back the (status, next_attempt_at) index."""
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"])
    op.drop_index("ix_deliveries_claim", table_name="deliveries")
