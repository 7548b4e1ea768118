"""The Alembic migrations build exactly the schema the models declare."""

from __future__ import annotations

import secrets

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from models.base import Base
from models.db import normalise_url
from models.migrate import upgrade


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
