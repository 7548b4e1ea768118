"""bench/scheduler: one sweep's time with 1k, 10k and 100k due rows among a million rows that are not due.

Sweeps: meeting reminders (domain.sweeps.remind_meetings), the seven-day result notices
(domain.result_notices.publish_results) and closing ended notices (domain.result_notices.close_expired).
Baseline in the same run: the same sweep over the same due rows in a database holding only them; the ratio
shows whether the cost is flat in the total row count. Target: <= 2 s at 100k due, ratio about 1.

Usage: .venv/bin/python -m bench.scheduler.run [--due 1000,10000,100000] [--total 1000000] [--max-seconds 180]
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from bench.common import ROOT, drop_database, fresh_database, servers
from bench.fanout.run import migrate
from bench.scheduler import seed
from bench.standin import load_average

FIRST = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
STEP = timedelta(days=20)  # each due count runs at its own instant: earlier batches are no longer due then
TARGET_SECONDS = 2.0


def sweeps() -> list[tuple[str, Callable[..., Any], Callable[..., None]]]:
    """(job id, the domain sweep, the maker of its due rows)."""
    from domain.meetings.sweeps import remind_meetings
    from domain.topics.results import close_expired, publish_results

    return [
        ("meeting-reminders", remind_meetings, lambda conn, n, now, k: seed.due_meetings(conn, n, now)),
        ("result-notices", publish_results, seed.due_topics),
        ("close-notices", close_expired, seed.due_notices),
    ]


def timed_sweep(services: Any, sweep: Callable[..., Any], now: datetime) -> tuple[float, int]:
    """Run one sweep as the scheduler does (committed after each chunk); (seconds including commits, things made)."""
    from models.db import transaction

    started = time.perf_counter()
    with transaction(services.sessions) as db:
        made = len(sweep(db, now, services.settings, checkpoint=db.commit))
    return time.perf_counter() - started, made


def warm_up(urls: dict[str, str], services: dict[str, Any]) -> None:
    """A few due rows of every kind at an instant of their own, swept once (statement caches filled)."""
    now = FIRST - STEP
    for label, url in urls.items():
        for _, sweep, make_due in sweeps():
            with psycopg.connect(url, autocommit=True) as conn:
                make_due(conn, 20, now, 99)
            timed_sweep(services[label], sweep, now)
        with psycopg.connect(url, autocommit=True) as conn:
            seed.settle(conn, now)


def idle_ticks(urls: dict[str, str], services: dict[str, Any], now: datetime, total: int) -> dict[str, float]:
    """The tick that runs every minute with nothing due: its time among the background and alone (best of 5)."""
    print("\nidle tick (nothing due; the scheduler runs this every [scheduler] sweep_seconds):", flush=True)
    among_times: dict[str, float] = {}
    for name, sweep, _ in sweeps():
        best = {label: min(timed_sweep(services[label], sweep, now)[0] for _ in range(5)) for label in urls}
        among_times[name] = best["among"]
        print(f"  {name:<18} {best['among'] * 1000:8.1f} ms among {total:,}; alone {best['alone'] * 1000:6.1f} ms; "
              f"ratio {best['among'] / best['alone']:6.1f}x", flush=True)
    return among_times


def open_services(db_url: str, redis_url: str) -> Any:
    """Services on a bench database."""
    from bot.services import Services
    from domain.settings import parse_settings

    return Services.from_settings(parse_settings({"database": {"url": db_url}, "redis": {"url": redis_url}}))


def main() -> None:
    """Seed, run every sweep at every due count in both databases, print times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--due", default="1000,10000,100000", help="due row counts, ascending")
    parser.add_argument("--total", type=int, default=1_000_000, help="rows per table that are not due")
    parser.add_argument("--max-seconds", type=float, default=180.0,
                        help="skip a sweep at a due count when the smaller count projects longer than this")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    counts = [int(n) for n in args.due.split(",")]
    last = FIRST + STEP * len(counts)
    print(f"sweeps with due rows among {args.total:,} rows per table (meetings, topics + events, notices); "
          f"2-core machine; load {load_average()}", flush=True)
    db_server, redis_url = servers(ROOT / ".shangliang" / "bench")
    urls = {"alone": fresh_database(db_server, "sched_alone"), "among": fresh_database(db_server, "sched_among")}
    services: dict[str, Any] = {}
    try:
        for label, url in urls.items():
            migrate(url)
            with psycopg.connect(url, autocommit=True) as conn:
                seed.world(conn)
                if label == "among":
                    started = time.perf_counter()
                    seed.background(conn, args.total, FIRST, last)
                    print(f"  background of {args.total:,} rows per table made in {time.perf_counter() - started:.0f} s",
                          flush=True)
            services[label] = open_services(url, redis_url)
        warm_up(urls, services)
        idle = idle_ticks(urls, services, FIRST, args.total)
        per_row: dict[str, float] = {}
        results: dict[tuple[str, int], tuple[float, float]] = {}
        for k, n in enumerate(counts):
            now = FIRST + STEP * k
            print(f"\n{n:,} due rows (now = {now:%Y-%m-%d %H:%M} UTC; load {load_average()})", flush=True)
            for name, sweep, make_due in sweeps():
                projected = per_row.get(name, 0.0) * n
                if projected > args.max_seconds:
                    print(f"  {name:<18} not run: projected {projected:.0f} s > --max-seconds {args.max_seconds:.0f}",
                          flush=True)
                    continue
                times: dict[str, tuple[float, int]] = {}
                after: dict[str, float] = {}
                for label, url in urls.items():
                    with psycopg.connect(url, autocommit=True) as conn:
                        make_due(conn, n, now, k + 1)
                        for table in ("meetings", "meeting_attendees", "topics", "topic_events", "notices"):
                            conn.execute(f"ANALYZE {table}")
                    times[label] = timed_sweep(services[label], sweep, now)
                    after[label] = timed_sweep(services[label], sweep, now)[0]  # the next tick: all done already
                (alone, made_alone), (among, made) = times["alone"], times["among"]
                per_row[name] = max(alone, among) / n
                results[(name, n)] = (among, among / alone)
                print(f"  {name:<18} {among:7.2f} s among {args.total:,} ({made:,} made); alone {alone:7.2f} s "
                      f"({made_alone:,} made); ratio {among / alone:5.2f}x; {among / n * 1000:.2f} ms per due row; "
                      f"the tick after: {after['among'] * 1000:.0f} ms (alone {after['alone'] * 1000:.0f} ms)",
                      flush=True)
            for url in urls.values():
                with psycopg.connect(url, autocommit=True) as conn:
                    seed.settle(conn, now)
        print("\nverdict:")
        for name, _, _ in sweeps():
            done = [(n, *results[(name, n)]) for n in counts if (name, n) in results]
            if not done:
                continue
            n, seconds, ratio = done[-1]
            flat = all(r <= 1.5 for _, _, r in done) and idle[name] <= 0.05
            print(f"  {name:<18} idle tick {idle[name] * 1000:.0f} ms; largest run {n:,} due: {seconds:.2f} s "
                  f"({'MET' if seconds <= TARGET_SECONDS else 'NOT MET'} <= {TARGET_SECONDS:.0f} s"
                  f"{'' if n >= 100_000 else ' at that count; 100k not run'}); "
                  f"flat in total rows (idle tick <= 50 ms, every ratio <= 1.5x): {'yes' if flat else 'NO'} "
                  f"[{', '.join(f'{r:.2f}x' for _, _, r in done)}]")
    finally:
        for s in services.values():
            s.close()
        for url in urls.values():
            drop_database(url)


if __name__ == "__main__":
    main()
