"""bench/memory: peak RSS of one gunicorn web worker after 10,000 messages (target <= 120 MB), and of one
`shangliang sender` during 100,000 deliveries.

Baselines in the same run: the bare Flask + wechatpy echo worker after the same 10,000 messages; an idle
`shangliang sender` that finds nothing to do.
Usage: .venv/bin/python -m bench.memory.run [--messages 10000] [--sender-deliveries 100000] [--parts web,sender]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench.common import ROOT, Gunicorn, drop_database, fresh_database, servers
from bench.webhook.requests_gen import write_requests
from bench.webhook.run import FOLLOWERS, TOKEN, seed, write_config


def worker_peak_rss_mb(master_pid: int) -> float:
    """VmHWM (peak resident set) of the master's first child, in MB."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    status = Path(f"/proc/{children[0]}/status").read_text()
    kb = int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])
    return kb / 1024


def drive(app: str, env: dict[str, str], requests_file: Path, messages: int) -> tuple[float, int]:
    """Serve with one worker, post `messages` messages, return (peak RSS MB, requests done)."""
    lines = requests_file.read_text(encoding="utf-8").splitlines()[:messages]
    with Gunicorn(app, 1, 4, env) as server:
        base = f"http://127.0.0.1:{server.port}"
        session = requests.Session()
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=8))

        def post(line: str) -> int:
            path, body = line.split("\t", 1)
            return session.post(base + path, data=body.encode("utf-8"), timeout=30).status_code

        with ThreadPoolExecutor(8) as pool:
            ok = sum(1 for status in pool.map(post, lines) if status == 200)
        assert server.process is not None
        return worker_peak_rss_mb(server.process.pid), ok


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--sender-deliveries", type=int, default=100_000)
    parser.add_argument("--parts", default="web,sender", help="which parts to run: web, sender or both")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    db_server, redis_url = servers(ROOT / ".shangliang" / "bench")
    parts = set(args.parts.split(","))
    if "web" in parts:
        web_worker(args, tmp, db_server, redis_url)
    if "sender" in parts:
        from bench.memory.sender import sender_peak

        sender_peak(args.sender_deliveries, tmp, db_server, redis_url)


def web_worker(args: argparse.Namespace, tmp: Path, db_server: str, redis_url: str) -> None:
    """Peak RSS of one web worker after N messages, against the Flask echo worker."""
    db_url = fresh_database(db_server)
    try:
        seed(db_url)
        base = int(time.time()) * 1000
        reqs = write_requests(tmp / "r.txt", count=args.messages, token=TOKEN, timestamp=int(time.time()),
                              followers=FOLLOWERS, content="我的议题", unique_content=False, msgid_base=base)
        echo_mb, echo_n = drive("bench.webhook.echo_flask:app", {"BENCH_TOKEN": TOKEN}, reqs, args.messages)
        reqs = write_requests(tmp / "r2.txt", count=args.messages, token=TOKEN, timestamp=int(time.time()),
                              followers=FOLLOWERS, content="我的议题", unique_content=False,
                              msgid_base=base + args.messages)
        cfg = write_config(tmp / "c.toml", db_url, redis_url, aes=False)
        ours_mb, ours_n = drive("bot.app:create_app()", {"SHANGLIANG_CONFIG": str(cfg)}, reqs, args.messages)
        print(f"web worker peak RSS after {ours_n} messages: {ours_mb:.1f} MB "
              f"(flask echo after {echo_n}: {echo_mb:.1f} MB; ratio {ours_mb / echo_mb:.2f}x); "
              f"target <= 120 MB: {'MET' if ours_mb <= 120 else 'NOT MET'}")
    finally:
        drop_database(db_url)


if __name__ == "__main__":
    main()
