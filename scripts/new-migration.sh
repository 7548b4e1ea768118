#!/usr/bin/env bash
# Autogenerate a migration against a scratch database on the embedded server.
# usage: scripts/new-migration.sh REV_ID "message"
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python - "$1" "$2" <<'PY'
import secrets, sys
from pathlib import Path
import psycopg
from alembic import command
from bot.embedded import EmbeddedPostgres
from models.migrate import alembic_config, upgrade
pg = EmbeddedPostgres(Path(".shangliang/postgres")).start()
name = f"scratch_{secrets.token_hex(3)}"
with psycopg.connect(pg.url, autocommit=True) as conn:
    conn.execute(f'CREATE DATABASE "{name}"')
url = pg.url.rsplit("/", 1)[0] + "/" + name
try:
    upgrade(url)
    command.revision(alembic_config(url), message=sys.argv[2], autogenerate=True, rev_id=sys.argv[1])
finally:
    with psycopg.connect(pg.url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
PY
