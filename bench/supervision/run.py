"""bench/supervision: how long the supervisors' overview (监督, R-RES-7) takes for a county of 300 villages.

The overview carries, for every organisation below the office, meetings against the cadence, topics and what
they wait for, residents' ratings, the 六有 gaps and participation. Baselines in the same run: the same
overview of a township of 3 villages (same rows per village), and a trivial query (``SELECT 1``). Also counted:
the SQL statements each overview runs (the set-based overview runs the same number for 3 and for 303).
Last, the chat itself: ``监督`` from the county office's holder, posted to the webhook as WeChat posts it.

Goals: the county overview in <= 1 s (WeChat wants the reply within 5 s) and <= 10x the overview of 3, the chat
reply in <= 2 s, and the statements for 303 organisations no more than for 3.

Usage: .venv/bin/python -m bench.supervision.run [--townships 3] [--villages 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import inspect
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import event, select, text

from bench.common import ROOT, drop_database, fresh_database, servers
from bench.fanout.run import migrate
from bench.standin import load_average
from bench.supervision import seed
from bench.webhook.run import APP_ID, TOKEN

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
TARGET_SECONDS = 1.0
TARGET_RATIO = 10.0  # the county's overview against the township's of 3: rows grow 100-fold, time should not
CHAT_TARGET_SECONDS = 2.0


def open_services(db_url: str, redis_url: str) -> Any:
    """Services on the bench database, with the bench's WeChat token (no real WeChat is called)."""
    from bot.services import Services
    from domain.settings import parse_settings

    return Services.from_settings(parse_settings({
        "database": {"url": db_url}, "redis": {"url": redis_url, "key_prefix": "bench-supervise"},
        "wechat": {"token": TOKEN, "app_id": APP_ID, "app_secret": "bench-app-secret",
                   "api_base_url": "http://127.0.0.1:9"}}))


def best(repeat: int, work: Callable[[], Any]) -> float:
    """The shortest of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


class StatementCounter:
    """Counts the statements an engine sends while active."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.count = engine, 0

    def _hit(self, *args: Any) -> None:
        self.count += 1

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._hit)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._hit)


def overview_of(services: Any, code: str) -> Callable[[], int]:
    """The overview as the chat builds it (with 六有 and participation), said in lines; returns the rows."""
    from domain.orgs import tree
    from domain.supervision import overview
    from domain.supervision.text import overview_lines

    with_records = "records" in inspect.signature(overview.build).parameters  # the code before the change

    def work() -> int:
        with services.sessions() as db:
            office = tree.get_org(db, code)
            extra = {"records": True} if with_records else {}
            view = overview.build(db, office, NOW, services.settings, **extra)
            overview_lines(view)
            return len(view.rows)

    return work


def chat_reply(services: Any, repeat: int) -> tuple[float, str]:
    """``监督`` from the county office's holder through the webhook (in a thread, over loopback)."""
    from werkzeug.serving import make_server

    from bot.app import create_app
    from fakewechat.user import WeChatPusher

    app = create_app(services=services, clock=lambda: NOW)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    w = services.settings.wechat
    pusher = WeChatPusher(f"http://127.0.0.1:{server.server_port}/wechat", w.token, w.app_id, w.encoding_aes_key)
    replies: list[str] = []
    try:
        seconds = best(repeat, lambda: replies.append(pusher.post(pusher.text("bs-office", "监督")).text or ""))
    finally:
        server.shutdown()
        thread.join(5)
    return seconds, replies[-1]


def main() -> None:
    """Seed both counties, time the overviews, the trivial query and the chat, print the verdict."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--townships", type=int, default=3)
    parser.add_argument("--villages", type=int, default=100, help="villages per township")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    db_server, redis_url = servers(ROOT / ".shangliang" / "bench")
    url = fresh_database(db_server, "supervise")
    services = None
    try:
        migrate(url)
        started = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            seed.world(conn, NOW, args.townships, args.villages)
            rows = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
                    for t in ("organisations", "people", "meeting_attendees", "topics", "poll_voters")}
        print(f"seeded in {time.perf_counter() - started:.1f} s: {rows}; 2-core machine; load {load_average()}",
              flush=True)
        services = open_services(url, redis_url)
        big, small = overview_of(services, "bs-c"), overview_of(services, "bq-t1")
        big(), small()  # warm-up: statement caches, mappers
        trivial = best(args.repeat * 4, lambda: services.sessions().execute(select(text("1"))).close())
        engine = services.engine
        counts = {}
        for label, work in (("big", big), ("small", small)):
            with StatementCounter(engine) as counter:
                n = work()
            counts[label] = (n, counter.count)
        t_small = best(args.repeat, small)
        t_big = best(args.repeat, big)
        print(f"trivial query (SELECT 1 in a session): {trivial * 1000:7.2f} ms")
        print(f"overview of {counts['small'][0]:>3} organisations: {t_small * 1000:8.1f} ms, "
              f"{counts['small'][1]} statements; {t_small / trivial:7.0f}x the trivial query")
        print(f"overview of {counts['big'][0]:>3} organisations: {t_big * 1000:8.1f} ms, "
              f"{counts['big'][1]} statements; {t_big / trivial:7.0f}x the trivial query; "
              f"{t_big / t_small:5.1f}x the overview of {counts['small'][0]}", flush=True)
        chat, reply = chat_reply(services, args.repeat)
        head = reply.splitlines()[:2]
        print(f"chat 监督 (county office, webhook): {chat * 1000:8.1f} ms; reply {len(reply.encode())} bytes: {head}")
        print("\nverdict:")
        print(f"  county overview {t_big:.2f} s: {'MET' if t_big <= TARGET_SECONDS else 'NOT MET'} <= {TARGET_SECONDS:.0f} s")
        ratio = t_big / t_small
        print(f"  county overview {ratio:.1f}x the overview of {counts['small'][0]}: "
              f"{'MET' if ratio <= TARGET_RATIO else 'NOT MET'} <= {TARGET_RATIO:.0f}x")
        print(f"  chat reply {chat:.2f} s: {'MET' if chat <= CHAT_TARGET_SECONDS else 'NOT MET'} <= {CHAT_TARGET_SECONDS:.0f} s")
        flat = counts["big"][1] <= counts["small"][1]
        print(f"  statements flat in the number of organisations ({counts['big'][1]} for {counts['big'][0]} vs "
              f"{counts['small'][1]} for {counts['small'][0]}): {'MET' if flat else 'NOT MET'}")
    finally:
        if services is not None:
            services.close()
        drop_database(url)


if __name__ == "__main__":
    main()
