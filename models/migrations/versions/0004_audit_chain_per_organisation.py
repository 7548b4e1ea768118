"""audit chain per organisation

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 17:58:09.298913

``topic_events`` gets ``org_id`` (the topic's organisation) and the one global hash chain becomes one
chain per organisation. Existing rows are re-chained here, per organisation in id order, with the hash
of domain/audit.py (frozen below: a later change there must not change what this migration wrote), and
each topic's ``audit_head`` follows, so existing data verifies after the upgrade. The downgrade re-chains
globally without ``org_id``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
BATCH = 5000
COLUMNS = "id, topic_id, org_id, actor_id, on_behalf_of_id, at, from_state, to_state, action, reason"


def _hash(row: sa.Row, prev_hash: str, per_org: bool) -> str:
    """domain.audit.event_hash as of this revision (with org_id) or of 0003 (without)."""
    payload = {
        "id": row.id,
        "topic_id": row.topic_id,
        "actor_id": row.actor_id,
        "on_behalf_of_id": row.on_behalf_of_id,
        "at": row.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "from": row.from_state,
        "to": row.to_state,
        "action": row.action,
        "reason": row.reason or "",
        "prev_hash": prev_hash,
    }
    if per_org:
        payload["org_id"] = row.org_id
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _rechain(per_org: bool) -> None:
    """Recompute prev_hash and hash of every event in id order, then every topic's audit_head."""
    bind = op.get_bind()
    columns = COLUMNS if per_org else COLUMNS.replace(" org_id,", "")
    select = sa.text(f"SELECT {columns} FROM topic_events WHERE id > :after ORDER BY id LIMIT {BATCH}")
    update = sa.text("UPDATE topic_events SET prev_hash = :prev_hash, hash = :hash WHERE id = :id")
    last: dict[int | None, str] = {}  # chain (organisation, or None for the global one) -> its last hash
    after = 0
    while rows := bind.execute(select, {"after": after}).all():
        changes = []
        for row in rows:
            chain = row.org_id if per_org else None
            prev_hash = last.get(chain, GENESIS)
            last[chain] = _hash(row, prev_hash, per_org)
            changes.append({"id": row.id, "prev_hash": prev_hash, "hash": last[chain]})
        bind.execute(update, changes)
        after = rows[-1].id
    bind.execute(sa.text(
        "UPDATE topics t SET audit_head = e.hash FROM (SELECT DISTINCT ON (topic_id) topic_id, hash "
        "FROM topic_events ORDER BY topic_id, id DESC) e WHERE e.topic_id = t.id"
    ))


def upgrade() -> None:
    op.add_column('topic_events', sa.Column('org_id', sa.Integer(), nullable=True))
    op.execute("UPDATE topic_events e SET org_id = t.org_id FROM topics t WHERE t.id = e.topic_id")
    _rechain(per_org=True)
    op.alter_column('topic_events', 'org_id', existing_type=sa.Integer(), nullable=False)
    op.create_index('ix_topic_events_org', 'topic_events', ['org_id', 'id'], unique=False)
    op.create_foreign_key(op.f('fk_topic_events_org_id_organisations'), 'topic_events', 'organisations', ['org_id'], ['id'])


def downgrade() -> None:
    op.drop_constraint(op.f('fk_topic_events_org_id_organisations'), 'topic_events', type_='foreignkey')
    op.drop_index('ix_topic_events_org', table_name='topic_events')
    op.drop_column('topic_events', 'org_id')
    _rechain(per_org=False)
