"""Participation records, platforms, 六有 (R-ORG-2, R-ORG-3, R-ORG-6, R-ORG-7).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401 - used once the tables are added
from alembic import op  # noqa: F401

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the tables and columns."""


def downgrade() -> None:
    """Drop them."""
