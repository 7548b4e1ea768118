"""Where one webhook request spends its time: the app in-process, no HTTP server, one thread.

Usage: .venv/bin/python -m bench.webhook.profile [--requests 2000] [--content 我的议题] [--top 25] [--aes]
       .venv/bin/python -m bench.webhook.profile --content "提议 修村东头的路"   (a write: every title unique)

Prints the mean time per request of our webhook and of the bare Flask + wechatpy echo driven the same
way (the ratio between them is the cost of our own work), then cProfile's heaviest functions.
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

from bench.common import ROOT, drop_database, fresh_database, servers
from bench.webhook.requests_gen import write_requests
from bench.webhook.run import AES_KEY, APP_ID, FOLLOWERS, TOKEN, seed, write_config

logger = logging.getLogger("bench.webhook.profile")


def _load(path: Path) -> list[tuple[str, bytes]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(q, b.encode("utf-8")) for q, b in (line.split("\t", 1) for line in lines)]


def _drive(client, requests: list[tuple[str, bytes]]) -> float:  # type: ignore[no-untyped-def]
    """Post every request; returns the mean milliseconds per request (fails on any non-200)."""
    start = time.perf_counter()
    for query, body in requests:
        response = client.post(query, data=body, content_type="text/xml")
        if response.status_code != 200:
            raise SystemExit(f"{query}: HTTP {response.status_code} {response.get_data(as_text=True)[:200]}")
    return (time.perf_counter() - start) * 1000 / len(requests)


def main() -> None:
    """Time and profile the hot path."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--content", default="我的议题")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--aes", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
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

        def batch(n: int, offset: int, content: str) -> list[tuple[str, bytes]]:
            unique = content.startswith("提议")  # a proposal's title must be new, or it is refused as a repeat
            path = write_requests(tmp / f"r{offset}.txt", count=n, token=TOKEN, timestamp=int(time.time()),
                                  followers=FOLLOWERS, content=f"{content}第{offset}批" if unique else content,
                                  unique_content=unique,
                                  msgid_base=base + offset, aes_key=AES_KEY if args.aes else "", app_id=APP_ID)
            return _load(path)

        client, echo_client = app.test_client(), echo.test_client()
        _drive(client, batch(300, 0, args.content))  # warm-up: caches, pools, first-contact rows
        echo_ms = _drive(echo_client, batch(args.requests, 10_000_000, "你好"))
        ours = batch(args.requests, 20_000_000, args.content)
        profiler = cProfile.Profile()
        timed = batch(args.requests, 30_000_000, args.content)
        ours_ms = _drive(client, timed)
        profiler.enable()
        _drive(client, ours)
        profiler.disable()
        logger.warning("profiled %d requests", args.requests)
        print(f"ours ({args.content}{', AES' if args.aes else ''}): {ours_ms:.2f} ms/request;  "
              f"flask+wechatpy echo: {echo_ms:.2f} ms/request;  ratio {ours_ms / echo_ms:.1f}x")
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
    finally:
        drop_database(db_url)


if __name__ == "__main__":
    main()
