"""Shared bench plumbing: servers, gunicorn processes, wrk runs and their parsing."""

from __future__ import annotations

import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bot.embedded import free_port, start_embedded

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def servers(data_dir: Path) -> tuple[str, str]:
    """PostgreSQL server URL and Redis URL: BENCH_DATABASE_URL/BENCH_REDIS_URL or embedded ones."""
    db_url = os.environ.get("BENCH_DATABASE_URL", "")
    redis_url = os.environ.get("BENCH_REDIS_URL", "")
    if not (db_url and redis_url):
        emb_db, emb_redis = start_embedded(data_dir, need_postgres=not db_url, need_redis=not redis_url)
        db_url, redis_url = db_url or str(emb_db), redis_url or str(emb_redis)
    return db_url, redis_url


def fresh_database(server_url: str, prefix: str = "bench") -> str:
    """Create an empty database for this run and return its URL."""
    name = f"{prefix}_{secrets.token_hex(3)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    """Drop a database made by fresh_database."""
    server, name = url.rsplit("/", 1)
    with psycopg.connect(server + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Gunicorn:
    """A gunicorn serving some WSGI app on a free port."""

    app: str
    workers: int
    threads: int
    env: dict[str, str]
    python_bin: Path = VENV_BIN
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        self.port = free_port()
        args = [
            str(self.python_bin / "gunicorn"), "-w", str(self.workers), "-k", "gthread",
            "--threads", str(self.threads), "-b", f"127.0.0.1:{self.port}", "--log-level", "warning",
            "--backlog", "2048", self.app,
        ]
        env = {**os.environ, **self.env, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(args, cwd=ROOT, env=env)
        wait_http(self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def wait_http(port: int, timeout: float = 30) -> None:
    """Wait until something answers HTTP on the port."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port}")


@dataclass
class WrkResult:
    """What wrk measured."""

    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    non_2xx: int

    def line(self) -> str:
        """One printable line."""
        return (f"{self.rps:9.0f} req/s  p50 {self.p50_ms:6.1f} ms  p99 {self.p99_ms:6.1f} ms  "
                f"requests {self.requests}  errors {self.errors}  non-2xx {self.non_2xx}")


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url: str, script: Path, connections: int, seconds: int, threads: int = 2) -> WrkResult:
    """Run wrk with a Lua script and parse its latency distribution."""
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", str(script), url],
        check=True, capture_output=True, text=True,
    ).stdout
    dist = out.split("Latency Distribution", 1)[-1]
    if "Latency Distribution" not in out or not re.search(r"^\s*99%\s+[\d.]+[a-z]+\s*$", dist, re.MULTILINE):
        raise RuntimeError(f"wrk printed no latency distribution (did the server answer?):\n{out}")
    requests_ = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", dist, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", dist, re.MULTILINE).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    return WrkResult(requests_, rps, p50, p99, errors, non2xx)
