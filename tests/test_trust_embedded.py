"""Issue 12, item 10: the embedded servers of `serve` stop on SIGTERM, and one Redis runs per data folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.embedded import free_port, processes_in

SHANGLIANG = str(Path(sys.executable).with_name("shangliang"))
pytestmark = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc")


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigterm_stops_embedded_servers_and_a_cli_command_joins_the_one_redis(tmp_path):
    data = (tmp_path / "data").resolve()
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nport = {free_port()}\ndata_dir = {json.dumps(str(data))}\n', encoding="utf-8")
    env = {**os.environ, "SHANGLIANG_CONFIG": str(config), "NO_PROXY": "127.0.0.1"}
    log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen([SHANGLIANG, "serve", "--no-scheduler", "--fake-port", "0"], env=env,
                             stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(lambda: "公众号后台已启动" in (tmp_path / "serve.log").read_text(errors="replace")
                  or serve.poll() is not None, 180, "serve to start")
        assert serve.poll() is None, (tmp_path / "serve.log").read_text()
        redis_dir, pg_dir = data / "redis", data / "postgres"
        assert len(processes_in(redis_dir)) == 1 and processes_in(pg_dir)
        # A CLI command while serve is up joins its Redis (and PostgreSQL): still one redis-server.
        listed = subprocess.run([SHANGLIANG, "org", "list"], env=env, capture_output=True, text=True, timeout=120)
        assert listed.returncode == 0, listed.stderr
        assert len(processes_in(redis_dir)) == 1
        serve.send_signal(signal.SIGTERM)
        serve.wait(60)
        _wait_for(lambda: not processes_in(redis_dir) and not processes_in(pg_dir), 30, "servers to stop")
    finally:
        if serve.poll() is None:
            serve.kill()
        log.close()


def test_orphaned_redis_is_replaced_not_doubled(tmp_path):
    from bot.embedded import EmbeddedRedis

    folder = (tmp_path / "redis").resolve()
    first = EmbeddedRedis(folder).start()
    (folder / "owner.json").write_text(json.dumps({"pid": 2**22 + 7, "port": first.port}), encoding="utf-8")
    orphan = first._process
    first._process = None  # as if its owner had been killed with SIGKILL
    try:
        second = EmbeddedRedis(folder).start()
        assert orphan.wait(10) is not None
        assert processes_in(folder) == [second._process.pid]
        second.stop()
    finally:
        if orphan.poll() is None:
            orphan.kill()
