"""bench/sizing: the figures behind docs/deployment.md's Sizing section.

* PostgreSQL connections each process holds at most: a web worker under traffic, a sender delivering, a
  scheduler running every sweep (sampled from pg_stat_activity every 20 ms).
* Redis memory per 100k followers: real messages go through the webhook, then every key the app made is
  measured with MEMORY USAGE, grouped by kind; a day of 100k followers × N messages is computed from that.
  Baseline ratio: Redis bytes per message against the reply text it caches.

Usage: .venv/bin/python -m bench.sizing.run [--messages 3000] [--followers 100000] [--per-follower 3]
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import redis
import requests

from bench.common import ROOT, VENV_BIN, Gunicorn, drop_database, fresh_database, servers
from bench.fanout.run import create_broadcast
from bench.standin import SHANGLIANG, StandIn, start_sender, stop, write_sender_config
from bench.webhook.requests_gen import write_requests
from bench.webhook.run import FOLLOWERS, TOKEN, seed

WORDS = ["我的议题", "帮助", "通知", "提议"]  # 提议 alone opens a dialog: a cursor in Redis
PRIVATE_TTL = 60  # bot/dedup.py keeps a private reply (personal data) for WeChat's retry window only


class ConnectionSampler:
    """The most connections to one database seen at once (pg_stat_activity, our own excluded)."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        name = self.db_url.rsplit("/", 1)[1]
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            while not self._stop.is_set():
                count = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                                     "AND pid <> pg_backend_pid()", (name,)).fetchone()
                self.peak = max(self.peak, int(count[0]) if count else 0)
                time.sleep(0.02)

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def write_config(path: Path, db_url: str, redis_url: str, prefix: str) -> Path:
    """Settings for the web worker (defaults otherwise: reply cache, pool size)."""
    path.write_text(f'[wechat]\ntoken = "{TOKEN}"\napp_id = "wxbench0000000001"\napp_secret = "bench-app-secret"\napi_base_url = "http://127.0.0.1:9"\n'
                    f'[database]\nurl = "{db_url}"\n[redis]\nurl = "{redis_url}"\nkey_prefix = "{prefix}"\n',
                    encoding="utf-8")
    return path


def web_traffic(tmp: Path, db_url: str, redis_url: str, prefix: str, messages: int) -> tuple[int, int]:
    """Post ``messages`` messages to one gunicorn worker (8 threads); (peak connections, replies bytes)."""
    lines: list[str] = []
    base = int(time.time()) * 1000
    for i, word in enumerate(WORDS):
        path = write_requests(tmp / f"size-{i}.txt", count=messages // len(WORDS), token=TOKEN,
                              timestamp=int(time.time()), followers=FOLLOWERS, content=word, unique_content=False,
                              msgid_base=base + i * messages)
        lines += path.read_text(encoding="utf-8").splitlines()
    config = write_config(tmp / "size.toml", db_url, redis_url, prefix)
    reply_bytes = 0
    with Gunicorn("bot.app:create_app()", 1, 8, {"SHANGLIANG_CONFIG": str(config)}) as server, \
            ConnectionSampler(db_url) as sampler:
        session = requests.Session()
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=8))

        def post(line: str) -> int:
            path, body = line.split("\t", 1)
            answer = session.post(f"http://127.0.0.1:{server.port}{path}", data=body.encode(), timeout=30)
            return len(answer.content) if answer.status_code == 200 else 0

        with ThreadPoolExecutor(8) as pool:
            reply_bytes = sum(pool.map(post, lines))
    return sampler.peak, reply_bytes


def redis_keys(client: redis.Redis, prefix: str) -> dict[str, tuple[int, int, int]]:
    """Per key kind (the part after the prefix up to ':'; dedup keys of private replies apart):
    (count, total MEMORY USAGE bytes, the longest TTL seen)."""
    sizes: dict[str, list[int]] = defaultdict(lambda: [0, 0, -1])
    for key in client.scan_iter(match=prefix + "*", count=1000):
        kind = key.decode()[len(prefix):].split(":", 1)[0]
        ttl = int(client.ttl(key))
        if kind == "dedup" and 0 <= ttl <= PRIVATE_TTL:
            kind = "dedup-private"
        entry = sizes[kind]
        entry[0] += 1
        entry[1] += int(client.memory_usage(key, samples=0) or 0)
        entry[2] = max(entry[2], ttl)
    return {k: (v[0], v[1], v[2]) for k, v in sizes.items()}


def day_estimate(kinds: dict[str, tuple[int, int, int]], sent: int, day: int, reply_cache: int) -> tuple[float, str]:
    """Bytes alive at the busiest moment of a day of ``day`` messages (busy hour at 10x the average rate)."""
    peak_rate = day / 86400 * 10
    total, parts = 0.0, []
    for kind in ("dedup", "dedup-private", "nonce"):
        count, size, ttl = kinds.get(kind, (0, 0, 0))
        if not count:
            continue
        lifetime = reply_cache if kind == "dedup" else ttl
        live = count / sent * min(day, peak_rate * lifetime)
        total += live * size / count
        parts.append(f"{kind} {live:,.0f} x {size / count:.0f} B")
    return total, ", ".join(parts)


def process_connections(tmp: Path, db_url: str, redis_url: str, prefix: str) -> tuple[int, int, int]:
    """Peak connections of a sender (32 threads) delivering 1,000 copies, and of a scheduler running its sweeps."""
    create_broadcast(db_url, redis_url, "sizing", org_code="bench-v1")
    with StandIn(tmp / "size-standin.jsonl") as standin:
        standin.delay(20)
        config = write_sender_config(tmp / "size-sender.toml", db_url=db_url, redis_url=redis_url,
                                     prefix=prefix, api=standin.url, batch_size=200)
        with ConnectionSampler(db_url) as sender_peak:
            proc = start_sender(config, "sizing", 32, tmp / "size-sender.log")
            proc.wait(300)
        env = {"SHANGLIANG_CONFIG": str(config), "PATH": str(VENV_BIN)}
        with ConnectionSampler(db_url) as run_due_peak:
            subprocess.run([SHANGLIANG, "jobs", "run-due"], env=env, cwd=ROOT, capture_output=True, check=True,
                           timeout=120)
        with ConnectionSampler(db_url) as scheduler_peak:
            proc = subprocess.Popen([SHANGLIANG, "scheduler"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            time.sleep(8)
            stop(proc)
    return sender_peak.peak, run_due_peak.peak, scheduler_peak.peak


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--followers", type=int, default=100_000)
    parser.add_argument("--per-follower", type=int, default=3, help="messages per follower per day")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sizing-"))
    db_server, redis_url = servers(ROOT / ".shangliang" / "bench")
    db_url = fresh_database(db_server, "sizing")
    prefix = f"size{secrets.token_hex(3)}:"
    client = redis.Redis.from_url(redis_url)
    try:
        seed(db_url, villages=1)  # one village: the broadcast reaches all 1,000 followers
        before = int(client.info("memory")["used_memory"])
        web_peak, reply_bytes = web_traffic(tmp, db_url, redis_url, prefix, args.messages)
        after = int(client.info("memory")["used_memory"])
        kinds = redis_keys(client, prefix)
        sender_peak, run_due_peak, scheduler_peak = process_connections(tmp, db_url, redis_url, prefix + "s:")
        sent = args.messages // len(WORDS) * len(WORDS)
        print(f"PostgreSQL connections held at most: web worker (gunicorn gthread, 8 threads, {sent:,} messages) "
              f"{web_peak}; sender (32 threads, 1,000 copies) {sender_peak}; jobs run-due {run_due_peak}; "
              f"scheduler (every job at start) {scheduler_peak}")
        print(f"Redis after {sent:,} messages: used_memory grew {(after - before) / 1024:.0f} KiB (a rough figure: "
              f"keys of other runs expire meanwhile; MEMORY USAGE per key below is the one to use)")
        for kind, (count, size, ttl) in sorted(kinds.items()):
            print(f"  {kind:<14} {count:6,} keys  {size / max(count, 1):6.0f} bytes each (MEMORY USAGE)  TTL <= {ttl} s")
        per_message = sum(size for kind, (_, size, _) in kinds.items() if kind != "dialog") / sent
        print(f"per message: {per_message:.0f} bytes of short-lived keys, {per_message / (reply_bytes / sent):.2f}x "
              f"the {reply_bytes / sent:.0f} bytes of the reply it caches")
        day = args.followers * args.per_follower
        for cache in (86400, 600):
            total, parts = day_estimate(kinds, sent, day, cache)
            print(f"{args.followers:,} followers x {args.per_follower} messages/day, reply_cache_seconds={cache}: "
                  f"~{total / 1e6:.1f} MB at the busiest moment ({parts})")
        count, size, _ = kinds.get("dialog", (0, 0, 0))
        if count:
            print(f"dialog cursors: {size / count:.0f} B each; 5% of {args.followers:,} followers in a dialog at once: "
                  f"~{args.followers * 0.05 * size / count / 1e6:.1f} MB")
    finally:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        drop_database(db_url)


if __name__ == "__main__":
    main()
