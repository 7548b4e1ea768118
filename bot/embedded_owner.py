"""Who owns an embedded server: owner files, live pids, processes of a data folder, signals that stop us."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path


def alive(pid: int) -> bool:
    """Whether a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def read_owner(path: Path) -> dict[str, int] | None:
    """The live process that started a server of this data folder (and its port), or None."""
    try:
        owner = json.loads(path.read_text(encoding="utf-8"))
        pid, port = int(owner["pid"]), int(owner["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {"pid": pid, "port": port} if alive(pid) else None


def write_owner(path: Path, port: int) -> None:
    """Record this process as the one that started the server on ``port``."""
    path.write_text(json.dumps({"pid": os.getpid(), "port": port}), encoding="utf-8")


def processes_in(folder: Path) -> list[int]:
    """Pids of the processes whose working folder is ``folder`` (redis-server and postgres chdir there)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if Path(os.readlink(entry / "cwd")) == folder:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP end the process like Ctrl-C does, so atexit stops the servers we started."""
    if threading.current_thread() is not threading.main_thread():
        return

    def leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, leave)
