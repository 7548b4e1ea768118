"""Peak RSS (VmHWM) of one `shangliang sender` during N deliveries, against an idle sender (same run)."""

from __future__ import annotations

import secrets
import subprocess
import time
from pathlib import Path

from bench.common import drop_database, fresh_database
from bench.fanout.run import create_broadcast, migrate, seed
from bench.standin import StandIn, load_average, peak_rss_mb, start_sender, stop, write_sender_config

CONCURRENCY = 32
IDLE_SECONDS = 5.0
LATENCY_MS = 5


def _watch(proc: subprocess.Popen[bytes], standin: StandIn, target: int, timeout: float) -> tuple[float, int]:
    """Wait until the stand-in has ``target`` sends (or the time is up); the peak RSS read while it still runs."""
    deadline = time.monotonic() + timeout
    peak, sent = 0.0, 0
    while time.monotonic() < deadline and proc.poll() is None:
        peak = max(peak, peak_rss_mb(proc.pid))
        sent = standin.sends()
        if sent >= target:
            break
        time.sleep(2)
    if proc.poll() is None:
        peak = max(peak, peak_rss_mb(proc.pid))
    return peak, sent


def sender_peak(deliveries: int, tmp: Path, db_server: str, redis_url: str, timeout: float = 1200.0) -> None:
    """Print the peak RSS of a sender delivering one notice to ``deliveries`` followers, and its ratio."""
    db_url = fresh_database(db_server, "memsend")
    try:
        migrate(db_url)
        seed(db_url, deliveries)
        with StandIn(tmp / "sender-memory.jsonl") as standin:
            standin.delay(LATENCY_MS)
            config = write_sender_config(tmp / "sender-memory.toml", db_url=db_url, redis_url=redis_url,
                                         prefix=f"mem{secrets.token_hex(3)}:", api=standin.url, batch_size=200)
            idle = start_sender(config, "mem-idle", CONCURRENCY, tmp / "sender-idle.log", once=False)
            try:
                time.sleep(IDLE_SECONDS)
                idle_mb = peak_rss_mb(idle.pid)
            finally:
                stop(idle)
            queued, _ = create_broadcast(db_url, redis_url, "memory")
            busy = start_sender(config, "mem-busy", CONCURRENCY, tmp / "sender-busy.log", once=False)
            started = time.monotonic()
            try:
                busy_mb, sent = _watch(busy, standin, queued, timeout)
            finally:
                stop(busy)
        took = time.monotonic() - started
        print(f"sender peak RSS during {sent:,} of {queued:,} deliveries ({CONCURRENCY} threads, {took:.0f} s, "
              f"load {load_average()}): {busy_mb:.1f} MB (idle sender: {idle_mb:.1f} MB; ratio {busy_mb / idle_mb:.2f}x; "
              f"growth {busy_mb - idle_mb:.1f} MB)", flush=True)
    finally:
        drop_database(db_url)
