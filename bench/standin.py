"""Outbox bench plumbing: the WeChat stand-in as its own process, sender configs and processes, the baseline.

The stand-in runs as `python -m fakewechat --record FILE` (never inside the bench process); its record
file is what the benches count: every template send it accepted, per openid, duplicates apart.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bench.common import ROOT, VENV_BIN
from bot.embedded import free_port

APP_ID, APP_SECRET = "wxbenchoutbox00001", "bench-outbox-secret"
TEMPLATE_PATH = "/cgi-bin/message/template/send"
SHANGLIANG = str(VENV_BIN / "shangliang")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


@dataclass
class StandIn:
    """The WeChat stand-in in a subprocess of its own, recording every call to a JSON-lines file."""

    record: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    http: requests.Session = field(default_factory=requests.Session)

    @property
    def url(self) -> str:
        """Its base URL (the [wechat] api_base_url of the senders)."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> StandIn:
        self.port = free_port()
        self.record.unlink(missing_ok=True)
        log = self.record.with_suffix(".log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fakewechat", "--port", str(self.port), "--app-id", APP_ID, "--secret", APP_SECRET,
             "--record", str(self.record)], cwd=ROOT, env=_env(), stdout=log, stderr=subprocess.STDOUT)
        self.http.trust_env = False
        deadline = time.monotonic() + 20
        while True:
            try:
                self.http.get(self.url + "/_fake/health", timeout=1).raise_for_status()
                return self
            except requests.RequestException:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"the stand-in did not start (see {log.name})") from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        stop(self.process)

    def delay(self, latency_ms: int, path: str = TEMPLATE_PATH) -> None:
        """Answer every call to ``path`` after ``latency_ms`` (POST /_fake/faults with delay_ms)."""
        if latency_ms > 0:
            self.http.post(self.url + "/_fake/faults", json={"path": path, "delay_ms": latency_ms},
                           timeout=5).raise_for_status()

    def token(self) -> str:
        """A valid access token (the stable one the senders share)."""
        body = {"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET}
        return str(self.http.post(self.url + "/cgi-bin/stable_token", json=body, timeout=5).json()["access_token"])

    def cpu(self) -> float:
        """CPU seconds the stand-in has used so far."""
        assert self.process is not None
        return cpu_seconds(self.process.pid)

    def sends(self) -> int:
        """Template sends the stand-in has answered so far (one cheap look at its counters)."""
        stats = self.http.get(self.url + "/_fake/stats", timeout=30).json()
        return int(stats["paths"].get(TEMPLATE_PATH, 0))


def stop(process: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    """SIGTERM a process we started, then SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@dataclass
class Tally:
    """What the stand-in's record file says about template sends."""

    per_openid: Counter[str]
    duplicates: int
    errors: int
    first: float
    last: float

    @property
    def delivered(self) -> int:
        """Distinct recipients that got one accepted, non-duplicate send."""
        return len(self.per_openid)

    def exactly_once(self, expected: set[str] | int) -> bool:
        """Every expected recipient exactly one copy, nobody else."""
        count = expected if isinstance(expected, int) else len(expected)
        ok = self.delivered == count and set(self.per_openid.values()) <= {1}
        return ok and (isinstance(expected, int) or set(self.per_openid) == expected)


def tally(record: Path, path: str = TEMPLATE_PATH) -> Tally:
    """Count the recorded accepted sends per openid (client_msg_id repeats counted apart)."""
    per_openid: Counter[str] = Counter()
    duplicates = errors = 0
    first, last = float("inf"), 0.0
    marker = f'"path": "{path}"'
    with record.open(encoding="utf-8") as handle:
        for line in handle:
            if marker not in line:
                continue
            entry = json.loads(line)
            if entry.get("errcode") != 0:
                errors += 1
                continue
            if entry.get("duplicate"):
                duplicates += 1
                continue
            per_openid[entry["openid"]] += 1
            first, last = min(first, entry["time"]), max(last, entry["time"])
    return Tally(per_openid, duplicates, errors, first if per_openid else 0.0, last)


@dataclass
class Baseline:
    """What the stand-in alone accepted from a plain concurrent client, and the CPU it took."""

    sent: int
    rate: float
    client_cpu_ms: float  # per send
    standin_cpu_ms: float  # per send


def accept_rate(standin: StandIn, concurrency: int, count: int, seconds: float) -> Baseline:
    """The stand-in alone: ``concurrency`` threads post template sends straight to it.

    Stops after ``count`` sends or ``seconds``, whichever comes first.
    """
    url = f"{standin.url}{TEMPLATE_PATH}?access_token={standin.token()}"
    local = threading.local()
    ids = iter(range(count))
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    data = {f"thing{i}": {"value": "压测通知：全村大扫除"} for i in (1, 3, 4, 5)}
    data["time2"] = {"value": "2025年11月20日 10:00"}
    stamp = f"{time.time_ns()}"

    def worker(_: int) -> int:
        http = getattr(local, "http", None)
        if http is None:
            http = local.http = requests.Session()
            http.trust_env = False
        done = 0
        while time.monotonic() < deadline:
            with lock:
                n = next(ids, None)
            if n is None:
                break
            body = {"touser": f"base-{n}", "template_id": "bench", "data": data, "client_msg_id": f"b{stamp}-{n}"}
            answer = http.post(url, data=json.dumps(body, ensure_ascii=False).encode(), timeout=10).json()
            done += answer.get("errcode") == 0
        return done

    started, cpu_before, standin_before = time.monotonic(), _self_cpu(), standin.cpu()
    with ThreadPoolExecutor(concurrency) as pool:
        sent = sum(pool.map(worker, range(concurrency)))
    took = time.monotonic() - started
    per = 1000 / max(sent, 1)
    return Baseline(sent, sent / took, (_self_cpu() - cpu_before) * per, (standin.cpu() - standin_before) * per)


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu() -> float:
    """CPU seconds of this process's finished (reaped) children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def write_sender_config(path: Path, *, db_url: str, redis_url: str, prefix: str, api: str,
                        **delivery: Any) -> Path:
    """A config file pointing `shangliang sender` at the bench database, Redis and the stand-in."""
    values = {"rate_per_second": 100000.0, "rate_burst": 5000, "poll_seconds": 0.2, "lease_seconds": 60, **delivery}
    path.write_text(
        f'[database]\nurl = "{db_url}"\n\n[redis]\nurl = "{redis_url}"\nkey_prefix = "{prefix}"\n\n'
        f'[wechat]\ntoken = "bench-webhook-token"\napp_id = "{APP_ID}"\napp_secret = "{APP_SECRET}"\napi_base_url = "{api}"\n'
        f'account_type = "service_verified"\ntimeout_seconds = 10\n\n[delivery]\n'
        + "".join(f"{k} = {v!r}\n" for k, v in values.items()),
        encoding="utf-8",
    )
    return path


def start_sender(config: Path, worker_id: str, concurrency: int, log: Path, *, once: bool = True,
                 max_wait: float = 5.0) -> subprocess.Popen[bytes]:
    """A real `shangliang sender` process."""
    args = [SHANGLIANG, "sender", "--worker-id", worker_id, "--concurrency", str(concurrency)]
    if once:
        args += ["--once", "--max-wait", str(max_wait)]
    return subprocess.Popen(args, cwd=ROOT, env={**_env(), "SHANGLIANG_CONFIG": str(config)},
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of a running process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    """The 1-minute load average now (the machine is shared)."""
    return f"{os.getloadavg()[0]:.2f}"
