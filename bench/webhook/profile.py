"""Where one webhook request spends its time: the app in-process, no HTTP server, one thread.

Usage: .venv/bin/python -m bench.webhook.profile [--requests 2000] [--content 我的议题] [--top 25] [--aes]
       .venv/bin/python -m bench.webhook.profile --kind click --content KW_我的议题     (a menu tap)
       .venv/bin/python -m bench.webhook.profile --kind receipt --content success --requests 1500  (TEMPLATESENDJOBFINISH)
       .venv/bin/python -m bench.webhook.profile --content "提议 修村东头的路"   (a write: every title unique)

Prints the mean time per request of our webhook and of the bare Flask + wechatpy echo driven the same
way (the ratio between them is the cost of our own work), the CPU this process spent per request (less
moved by other work on the machine than the wall time) and the SQL statements per request, then
cProfile's heaviest functions.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import tempfile
import time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.common import ROOT, drop_database, fresh_database, servers
from bench.webhook.requests_gen import write_requests
from bench.webhook.run import AES_KEY, APP_ID, FOLLOWERS, TOKEN, seed, write_config

logger = logging.getLogger("bench.webhook.profile")


def _load(path: Path) -> list[tuple[str, bytes]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(q, b.encode("utf-8")) for q, b in (line.split("\t", 1) for line in lines)]


STATEMENTS = [0]  # SQL statements sent by every engine of this process


def _count(*_: object) -> None:
    STATEMENTS[0] += 1


def _drive(client, requests: list[tuple[str, bytes]]) -> float:  # type: ignore[no-untyped-def]
    """Post every request; returns the mean milliseconds per request (fails on any non-200)."""
    return _drive_measured(client, requests)[0]


def _drive_measured(client, requests: list[tuple[str, bytes]]) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """Post every request; mean wall ms, CPU ms and SQL statements per request (fails on any non-200)."""
    start, cpu, statements = time.perf_counter(), time.process_time(), STATEMENTS[0]
    for query, body in requests:
        response = client.post(query, data=body, content_type="text/xml")
        if response.status_code != 200:
            raise SystemExit(f"{query}: HTTP {response.status_code} {response.get_data(as_text=True)[:200]}")
    n = len(requests)
    return ((time.perf_counter() - start) * 1000 / n, (time.process_time() - cpu) * 1000 / n,
            (STATEMENTS[0] - statements) / n)


def main() -> None:
    """Time and profile the hot path."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--content", default="我的议题")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--aes", action="store_true")
    parser.add_argument("--kind", choices=("text", "click", "receipt"), default="text")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    event.listen(Engine, "before_cursor_execute", _count)
    tmp = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    db_server, redis_url = servers(ROOT / ".shangliang" / "bench")
    db_url = fresh_database(db_server)
    try:
        seed(db_url, 20)
        os.environ["SHANGLIANG_CONFIG"] = str(write_config(tmp / "c.toml", db_url, redis_url, aes=args.aes))
        from bench.webhook.echo_flask import app as echo
        from bot.app import create_app

        app = create_app()
        base = int(time.time()) * 1000

        def batch(n: int, offset: int, content: str, kind: str = "text", first: int = 0) -> list[tuple[str, bytes]]:
            unique = content.startswith("提议")  # a proposal's title must be new, or it is refused as a repeat
            path = write_requests(tmp / f"r{offset}.txt", count=n, token=TOKEN, timestamp=int(time.time()),
                                  followers=FOLLOWERS, content=f"{content}第{offset}批" if unique else content,
                                  unique_content=unique, msgid_base=base + offset,
                                  aes_key=AES_KEY if args.aes else "", app_id=APP_ID, kind=kind, first=first)
            return _load(path)

        client, echo_client = app.test_client(), echo.test_client()
        kind, n = args.kind, args.requests
        _drive(client, batch(300, 0, args.content, kind))  # warm-up: caches, pools, first-contact rows
        echo_ms = _drive(echo_client, batch(n, 10_000_000, "你好"))
        ours = batch(n, 20_000_000, args.content, kind, first=300)
        profiler = cProfile.Profile()
        timed = batch(n, 30_000_000, args.content, kind, first=300 + n)
        ours_ms, ours_cpu, ours_sql = _drive_measured(client, timed)
        profiler.enable()
        _drive(client, ours)
        profiler.disable()
        logger.warning("profiled %d requests", args.requests)
        print(f"ours ({args.content}{', AES' if args.aes else ''}): {ours_ms:.2f} ms/request;  "
              f"flask+wechatpy echo: {echo_ms:.2f} ms/request;  ratio {ours_ms / echo_ms:.1f}x;  "
              f"CPU {ours_cpu:.2f} ms/request;  SQL statements {ours_sql:.2f}/request")
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
    finally:
        drop_database(db_url)


if __name__ == "__main__":
    main()
