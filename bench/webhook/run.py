"""bench/webhook: our webhook under gunicorn vs a bare Flask echo and WeRoBot's echo, same settings.

Usage: .venv/bin/python -m bench.webhook.run [--seconds 10] [--connections 32] [--workers 2] [--threads 4]
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from bench.common import ROOT, Gunicorn, WrkResult, drop_database, fresh_database, run_wrk, servers
from bench.webhook.requests_gen import write_requests

logger = logging.getLogger("bench.webhook")
HERE = Path(__file__).parent
BASELINE_VENV = ROOT / "bench" / ".venv-baseline"
TOKEN, APP_ID = "benchtoken", "wxbench0000000001"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
FOLLOWERS = 1000


def baseline_venv() -> Path:
    """A venv holding WeRoBot and gunicorn only (WeRoBot never enters the project's venv)."""
    python = BASELINE_VENV / "bin" / "python"
    if not python.exists():
        logger.info("creating %s with WeRoBot", BASELINE_VENV)
        subprocess.run([sys.executable, "-m", "venv", str(BASELINE_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "werobot==1.13.1", "cryptography", "gunicorn"], check=True)
    return python.parent


def seed(db_url: str) -> None:
    """Migrate and bind 1,000 followers to one village."""
    from models.migrate import upgrade

    upgrade(db_url)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO organisations (code, name, kind, platform_kind, invite_code, created_at) "
                     "VALUES ('bench-t', '压测镇', 'township', 'room', 'BENCHTOWN1', now()), "
                     "('bench-v', '压测村', 'village', 'room', 'BENCHVILL1', now())")
        conn.execute("UPDATE organisations SET parent_id = (SELECT id FROM organisations WHERE code='bench-t') "
                     "WHERE code='bench-v'")
        conn.execute("INSERT INTO people (openid, real_name, home_org_id, subscribed, created_at) "
                     "SELECT 'bench-u' || g, '村民' || g, (SELECT id FROM organisations WHERE code='bench-v'), "
                     "true, now() FROM generate_series(0, %s) g", (FOLLOWERS - 1,))


def write_config(path: Path, db_url: str, redis_url: str, aes: bool) -> Path:
    """Settings for the gunicorn workers."""
    key = AES_KEY if aes else ""
    path.write_text(
        f'[wechat]\ntoken = "{TOKEN}"\napp_id = "{APP_ID}"\nencoding_aes_key = "{key}"\n'
        f'api_base_url = "http://127.0.0.1:9"\n'
        f'[database]\nurl = "{db_url}"\npool_size = 8\n[redis]\nurl = "{redis_url}"\nkey_prefix = "bench:"\n',
        encoding="utf-8",
    )
    return path


def measure(name: str, app: str, env: dict[str, str], requests_file: Path, args: argparse.Namespace,
            python_bin: Path | None = None) -> WrkResult:
    """Serve an app with gunicorn and drive it with wrk."""
    env = {**env, "BENCH_REQUESTS": str(requests_file), "BENCH_THREADS": "2"}
    kwargs = {"python_bin": python_bin} if python_bin else {}
    with Gunicorn(app, args.workers, args.threads, env, **kwargs) as server:
        os.environ.update(env)
        url = f"http://127.0.0.1:{server.port}"
        run_wrk(url, HERE / "post.lua", args.connections, 2)  # warm-up
        result = run_wrk(url, HERE / "post.lua", args.connections, args.seconds)
    print(f"  {name:<28} {result.line()}", flush=True)
    return result


def main() -> None:
    """Run every scenario and print ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--requests", type=int, default=60000, help="pre-signed requests per scenario")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    db_server, redis_url = servers(ROOT / ".shangliang" / "bench")
    db_url = fresh_database(db_server)
    print(f"gunicorn -w {args.workers} -k gthread --threads {args.threads}; wrk -t2 -c{args.connections} "
          f"-d{args.seconds}s; {FOLLOWERS} followers; PostgreSQL + Redis", flush=True)
    try:
        seed(db_url)
        base_bin = baseline_venv()
        results: dict[str, WrkResult] = {}
        msgid = int(time.time()) * 1000

        def reqs(label: str, content: str, unique: bool = False, aes: bool = False) -> Path:
            nonlocal msgid
            msgid += args.requests
            return write_requests(tmp / f"{label}.txt", count=args.requests, token=TOKEN, timestamp=int(time.time()),
                                  followers=FOLLOWERS, content=content, unique_content=unique, msgid_base=msgid,
                                  aes_key=AES_KEY if aes else "", app_id=APP_ID)

        env = {"BENCH_TOKEN": TOKEN}
        results["flask echo"] = measure("baseline: flask+wechatpy echo", "bench.webhook.echo_flask:app", env,
                                        reqs("flask", "你好"), args)
        results["werobot echo"] = measure("baseline: WeRoBot echo", "bench.webhook.echo_werobot:app", env,
                                          reqs("werobot", "你好"), args, base_bin)
        aes_env = {**env, "BENCH_AES_KEY": AES_KEY, "BENCH_APP_ID": APP_ID}
        results["werobot echo aes"] = measure("baseline: WeRoBot echo (AES)", "bench.webhook.echo_werobot:app",
                                              aes_env, reqs("werobot-aes", "你好", aes=True), args, base_bin)
        plain = {"SHANGLIANG_CONFIG": str(write_config(tmp / "plain.toml", db_url, redis_url, aes=False))}
        safe = {"SHANGLIANG_CONFIG": str(write_config(tmp / "safe.toml", db_url, redis_url, aes=True))}
        app = "bot.app:create_app()"
        results["帮助"] = measure("ours: 帮助 (no write)", app, plain, reqs("help", "帮助"), args)
        results["我的议题"] = measure("ours: 我的议题 (DB read)", app, plain, reqs("mine", "我的议题"), args)
        results["提议"] = measure("ours: 提议 (DB write)", app, plain, reqs("propose", "提议 修村东头的路第", True), args)
        results["我的议题 aes"] = measure("ours: 我的议题 (AES safe)", app, safe, reqs("mine-aes", "我的议题", aes=True), args)
        werobot = results["werobot echo"].rps
        print("\nratios to WeRoBot echo throughput (same gunicorn settings, same run):")
        for key in ("flask echo", "帮助", "我的议题", "提议"):
            print(f"  {key:<14} {results[key].rps / werobot:5.2f}x   p99 {results[key].p99_ms:.1f} ms")
        print(f"  {'我的议题 aes':<14} {results['我的议题 aes'].rps / results['werobot echo aes'].rps:5.2f}x "
              f"(vs WeRoBot AES)   p99 {results['我的议题 aes'].p99_ms:.1f} ms")
        print(f"\ntarget: 我的议题 >= 0.5x WeRoBot (aim 1.0x): "
              f"{'MET' if results['我的议题'].rps >= 0.5 * werobot else 'NOT MET'}; "
              f"p99 <= 50 ms: {'MET' if results['我的议题'].p99_ms <= 50 else 'NOT MET'}; "
              f"errors: {sum(r.errors + r.non_2xx for r in results.values())}")
    finally:
        drop_database(db_url)


if __name__ == "__main__":
    main()
