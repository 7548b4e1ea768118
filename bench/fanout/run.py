"""bench/fanout: one notice to N followers, delivered by 1 then 2 `shangliang sender` processes through the
WeChat stand-in (its own process) answering every template send after --latency-ms.

Baseline in the same run: the stand-in's own accept rate, a thread pool of the senders' total concurrency
posting template sends straight to it. Exactly-once: the stand-in's record file, counted per openid.
Target: 1M recipients in <= 10 minutes with 2 senders (>= 1,700/s) and >= 0.8x the stand-in's rate.

Usage: .venv/bin/python -m bench.fanout.run [--recipients 10000] [--latency-ms 50] [--senders 1,2]
       [--concurrency 64] [--timeout 900]
"""

from __future__ import annotations

import argparse
import logging
import secrets
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy import select

from bench.common import ROOT, drop_database, fresh_database, servers
from bench.standin import (
    Baseline,
    StandIn,
    accept_rate,
    children_cpu,
    load_average,
    start_sender,
    stop,
    tally,
    write_sender_config,
)

logger = logging.getLogger("bench.fanout")
TARGET_RATE = 1700.0
TARGET_RATIO = 0.8


def migrate(db_url: str) -> None:
    """Schema at head, plus any table or index the models gained since the last migration (the bench measures
    the models as they are)."""
    from sqlalchemy import create_engine

    from models.base import Base
    from models.db import normalise_url
    from models.migrate import upgrade

    upgrade(db_url)
    engine = create_engine(normalise_url(db_url))
    Base.metadata.create_all(engine)
    for table in Base.metadata.sorted_tables:
        for index in table.indexes:
            index.create(engine, checkfirst=True)
    engine.dispose()


def seed(db_url: str, recipients: int) -> None:
    """A township, a village and N bound followers (one INSERT ... SELECT generate_series)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO organisations (code, name, kind, platform_kind, invite_code, created_at) "
                     "VALUES ('fan-t', '压测镇', 'township', 'room', 'FANOUTTWN1', now()), "
                     "('fan-v', '压测村', 'village', 'room', 'FANOUTVIL1', now())")
        conn.execute("UPDATE organisations SET parent_id = (SELECT id FROM organisations WHERE code='fan-t') "
                     "WHERE code='fan-v'")
        conn.execute("INSERT INTO people (openid, real_name, home_org_id, subscribed, created_at) "
                     "SELECT 'fan-' || g, '村民' || g, (SELECT id FROM organisations WHERE code='fan-v'), true, now() "
                     "FROM generate_series(1, %s) g", (recipients,))
        conn.execute("ANALYZE people")


def create_broadcast(db_url: str, redis_url: str, label: str, org_code: str = "fan-v") -> tuple[int, float]:
    """One followers notice through domain.outbox.create_notice; returns (deliveries queued, seconds)."""
    from bot.services import Services
    from domain.notices.outbox import create_notice
    from domain.settings import parse_settings
    from models import Audience, Delivery, NoticeKind, Organisation
    from models.db import transaction

    services = Services.from_settings(parse_settings({"database": {"url": db_url}, "redis": {"url": redis_url}}))
    try:
        started = time.perf_counter()
        with transaction(services.sessions) as db:
            org = db.scalar(select(Organisation).where(Organisation.code == org_code))
            notice = create_notice(db, org=org, kind=NoticeKind.GENERAL, audience=Audience.FOLLOWERS,
                                   title=f"全村大扫除（{label}）", body="周六上午8点全村大扫除，请各户出一人。",
                                   now=datetime.now(UTC), public_days=7)
            notice_id = notice.id
        took = time.perf_counter() - started
        with services.sessions() as db:
            from sqlalchemy import func
            queued = int(db.scalar(select(func.count(Delivery.id)).where(Delivery.notice_id == notice_id)) or 0)
        with services.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE deliveries")
        return queued, took
    finally:
        services.close()


def wait_senders(procs: list[subprocess.Popen[bytes]], record: Path, timeout: float) -> bool:
    """Wait for the senders to finish (progress from the record file's size); False on timeout."""
    started = time.monotonic()
    last_print = started
    while any(p.poll() is None for p in procs):
        if time.monotonic() - started > timeout:
            for p in procs:
                stop(p)
            return False
        time.sleep(0.5)
        if time.monotonic() - last_print >= 10:
            last_print = time.monotonic()
            size = record.stat().st_size if record.exists() else 0
            print(f"    … {last_print - started:5.0f}s  record file {size / 1e6:7.1f} MB  load {load_average()}",
                  flush=True)
    return True


def baseline(args: argparse.Namespace, record: Path, total: int, when: str) -> Baseline:
    """The stand-in's own accept rate from a plain client of the senders' total concurrency (printed)."""
    with StandIn(record) as standin:
        standin.delay(args.latency_ms)
        accept_rate(standin, total, min(2000, args.recipients), 5)  # warm-up
        base = accept_rate(standin, total, min(args.recipients, args.baseline_count), args.baseline_seconds)
    print(f"  baseline ({when}): the stand-in alone accepts {base.rate:6.0f}/s ({base.sent:,} template sends from "
          f"{total} client threads; CPU per send: client {base.client_cpu_ms:.2f} ms, stand-in "
          f"{base.standin_cpu_ms:.2f} ms; load {load_average()})", flush=True)
    return base


def run_phase(args: argparse.Namespace, tmp: Path, db_url: str, redis_url: str, senders: int) -> dict[str, float]:
    """Baseline, then one notice delivered by ``senders`` processes; prints and returns the figures."""
    total = args.concurrency * senders
    print(f"\n== {senders} sender(s) × {args.concurrency} threads (total concurrency {total}), "
          f"latency {args.latency_ms} ms; latency-bound ceiling {total * 1000 / max(args.latency_ms, 1):,.0f}/s",
          flush=True)
    before = baseline(args, tmp / f"baseline-{senders}-before.jsonl", total, "before")
    queued, took = create_broadcast(db_url, redis_url, f"{senders} sender(s)")
    print(f"  create_notice with {queued:,} deliveries: {took:.2f} s ({queued / took:,.0f} rows/s)", flush=True)
    record = tmp / f"senders-{senders}.jsonl"
    with StandIn(record) as standin:
        standin.delay(args.latency_ms)
        config = write_sender_config(tmp / f"sender-{senders}.toml", db_url=db_url, redis_url=redis_url,
                                     prefix=f"fan{secrets.token_hex(3)}:", api=standin.url,
                                     batch_size=args.batch_size)
        launched, cpu_before, standin_before = time.time(), children_cpu(), standin.cpu()
        procs = [start_sender(config, f"bench-{senders}-{n}", args.concurrency, tmp / f"sender-{senders}-{n}.log")
                 for n in range(senders)]
        try:
            finished = wait_senders(procs, record, args.timeout)
        finally:
            for p in procs:
                stop(p)
        ended, sender_cpu, standin_cpu = time.time(), children_cpu() - cpu_before, standin.cpu() - standin_before
    after = baseline(args, tmp / f"baseline-{senders}-after.jsonl", total, "after")
    base = Baseline(before.sent + after.sent, (before.rate + after.rate) / 2, 0.0, 0.0)
    counted = tally(record)
    codes = [p.returncode for p in procs]
    to_last = counted.last - launched if counted.delivered else float("nan")
    rate = counted.delivered / to_last if counted.delivered else 0.0
    steady = counted.delivered / max(counted.last - counted.first, 1e-9) if counted.delivered > 1 else 0.0
    once = counted.exactly_once(queued)
    per = 1000 / max(counted.delivered, 1)
    print(f"  senders: {counted.delivered:,} of {queued:,} delivered; time to last delivery {to_last:.1f} s "
          f"(from launching the processes; they exited after {ended - launched:.1f} s, codes {codes}"
          f"{'' if finished else ', TIMED OUT'}); CPU per delivery: senders {sender_cpu * per:.2f} ms, "
          f"stand-in {standin_cpu * per:.2f} ms; load {load_average()}", flush=True)
    print(f"  rate: {rate:6.0f}/s from launch, {steady:6.0f}/s first→last delivery; ratio to the stand-in alone "
          f"({base.rate:.0f}/s, the mean of before and after) {rate / base.rate:.2f}x (steady {steady / base.rate:.2f}x)",
          flush=True)
    print(f"  exactly once per openid: {'YES' if once else 'NO'}; client_msg_id duplicates {counted.duplicates}, "
          f"errors {counted.errors}, max copies to one openid {max(counted.per_openid.values(), default=0)}",
          flush=True)
    return {"rate": rate, "steady": steady, "base": base.rate, "to_last": to_last, "once": float(once),
            "queued": queued, "create": took}


def main() -> None:
    """Run the phases and print the verdict."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=50, help="the stand-in answers each send after this")
    parser.add_argument("--senders", default="1,2", help="sender process counts to run, in order")
    parser.add_argument("--concurrency", type=int, default=64, help="threads per sender (--concurrency)")
    parser.add_argument("--batch-size", type=int, default=200, help="[delivery] batch_size of the senders")
    parser.add_argument("--baseline-count", type=int, default=20_000, help="most sends of the baseline client")
    parser.add_argument("--baseline-seconds", type=float, default=20.0, help="longest baseline run")
    parser.add_argument("--timeout", type=float, default=900.0, help="longest wait for the senders of one phase")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    print(f"fan-out of one notice to {args.recipients:,} followers; 2-core machine, loopback; load {load_average()}; "
          f"files in {tmp}", flush=True)
    db_server, redis_url = servers(ROOT / ".shangliang" / "bench")
    db_url = fresh_database(db_server, "fanout")
    try:
        migrate(db_url)
        started = time.perf_counter()
        seed(db_url, args.recipients)
        print(f"seeded {args.recipients:,} followers in {time.perf_counter() - started:.1f} s", flush=True)
        results = {int(n): run_phase(args, tmp, db_url, redis_url, int(n)) for n in args.senders.split(",")}
        print("\nsummary:")
        for n, r in results.items():
            print(f"  {n} sender(s): {r['rate']:6.0f}/s ({r['rate'] / r['base']:.2f}x the stand-in's "
                  f"{r['base']:.0f}/s), {args.recipients:,} in {r['to_last']:.1f} s, exactly once: "
                  f"{'yes' if r['once'] else 'NO'}; create_notice {r['create']:.2f} s")
        if 2 in results:
            r = results[2]
            print(f"target (2 senders): >= {TARGET_RATE:.0f}/s: {'MET' if r['rate'] >= TARGET_RATE else 'NOT MET'}; "
                  f">= {TARGET_RATIO}x the stand-in: {'MET' if r['rate'] >= TARGET_RATIO * r['base'] else 'NOT MET'}; "
                  f"1M would take ~{1_000_000 / max(r['rate'], 1) / 60:.1f} min at this rate")
    finally:
        drop_database(db_url)


if __name__ == "__main__":
    main()
