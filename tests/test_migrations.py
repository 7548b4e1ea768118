"""The Alembic migrations build exactly the schema the models declare, and keep the data verifying."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC
from types import SimpleNamespace

import psycopg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from models import TopicState
from models.base import Base
from models.db import normalise_url
from models.migrate import alembic_config, upgrade


def test_migrations_match_models(server_urls):
    server = server_urls[0]
    name = f"sl_mig_{secrets.token_hex(3)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        engine = create_engine(normalise_url(url))
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        engine.dispose()
        assert diff == [], f"models and migrations differ; run scripts/new-migration.sh: {diff}"
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _old_global_hash(row, prev_hash: str) -> str:
    """The event hash of revisions 0002-0003 (one global chain, no org_id), as the test's own oracle."""
    payload = {"id": row.id, "topic_id": row.topic_id, "actor_id": row.actor_id, "on_behalf_of_id": row.on_behalf_of_id,
               "at": row.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "from": row.from_state,
               "to": row.to_state, "action": row.action, "reason": row.reason or "", "prev_hash": prev_hash}
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_r_topic_8_migration_0004_rechains_existing_records_per_organisation(server_urls, base_settings):
    from domain.topics import audit
    from domain.topics import operations as topics
    from tests.topic_world import NOW, advance, build, new_topic, who

    server = server_urls[0]
    name = f"sl_mig_{secrets.token_hex(3)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server.rsplit("/", 1)[0] + "/" + name
    engine = create_engine(normalise_url(url))
    sessions = sessionmaker(engine, expire_on_commit=False)
    world = SimpleNamespace(settings=base_settings)
    try:
        upgrade(url)
        with sessions() as db:
            build(db)
            first = new_topic(db, world)
            other = new_topic(db, world, "红旗村修水渠", openid="u-wang")
            advance(db, world, first, TopicState.APPROVED)  # with the filing record
            topics.withdraw(db, other, who(db, "u-wang"), NOW, "已经解决了")
            db.commit()
        command.downgrade(alembic_config(url), "0003")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM topic_events ORDER BY id")).all()
            heads = dict(conn.execute(text("SELECT id, audit_head FROM topics")).all())
        previous, last = audit.GENESIS, {}
        for row in rows:  # the downgrade left one global chain, exactly as 0003's code wrote it
            assert row.prev_hash == previous and row.hash == _old_global_hash(row, previous)
            previous = last[row.topic_id] = row.hash
        assert heads == last and len(rows) >= 8
        upgrade(url)
        with sessions() as db:
            report = audit.verify(db)
            assert report.ok and report.orgs == 2 and report.checked == len(rows), report.problem
            firsts = db.execute(text("SELECT DISTINCT ON (org_id) prev_hash FROM topic_events "
                                     "ORDER BY org_id, id")).scalars().all()
            assert firsts == [audit.GENESIS, audit.GENESIS]
    finally:
        engine.dispose()
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
