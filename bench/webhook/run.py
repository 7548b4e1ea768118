"""bench/webhook: our webhook under gunicorn vs a bare Flask echo and WeRoBot's echo, same settings.

Usage: .venv/bin/python -m bench.webhook.run [--seconds 10] [--connections 32] [--workers 2] [--threads 4]
       [--villages 20] [--repeat 3] [--only 提议 ...]

With --repeat N every chosen scenario runs N times, in rounds (each round runs every scenario once, so drift
in the machine's load touches all of them alike), and the median by throughput is printed and compared.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from bench.common import ROOT, Gunicorn, WrkResult, drop_database, fresh_database, run_wrk, servers
from bench.webhook.requests_gen import RECEIPT_MSGID_BASE, write_requests

logger = logging.getLogger("bench.webhook")
HERE = Path(__file__).parent
BASELINE_VENV = ROOT / "bench" / ".venv-baseline"
TOKEN, APP_ID = "benchtoken", "wxbench0000000001"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
FOLLOWERS = 1000
SCENARIOS = ["flask echo", "werobot echo", "werobot echo aes", "帮助", "我的议题", "提议", "我的议题 aes", "提议 最长",
             "提议 30KB", "没看懂", "帮助 通过", "菜单 我的议题", "模板回执"]
UNKNOWN_TEXT = "今天晚上村里放电影吗"  # no route, no natural opening: the short 没看懂 with next steps
RECEIPTS = 20_000  # template copies seeded with a wechat_msgid, one receipt request each (20 notices x 1,000)
# The longest text the bot reads ([webhook] max_text_chars, 4,000 characters by default; WeChat documents no
# limit for what a user types) and the 30 KB message of issue 12 (10,000 characters, refused unread).
LONGEST = "提议 " + "修路" * 1995  # + the request's number and 号: 3,999 characters
LONG_30KB = "提议 " + "修路" * 5000
LONG_REQUESTS = 4000  # long request files are big: fewer, each still unique (run these for a few seconds)


def baseline_venv() -> Path:
    """A venv holding WeRoBot and gunicorn only (WeRoBot never enters the project's venv)."""
    python = BASELINE_VENV / "bin" / "python"
    if not python.exists():
        logger.info("creating %s with WeRoBot", BASELINE_VENV)
        subprocess.run([sys.executable, "-m", "venv", str(BASELINE_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "werobot==1.13.1", "cryptography", "gunicorn"], check=True)
    return python.parent


def seed(db_url: str, villages: int = 20) -> None:
    """Migrate and bind 1,000 followers to the villages of one township, round robin (bench-u7 → village 8)."""
    from models.migrate import upgrade

    upgrade(db_url)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO organisations (code, name, kind, platform_kind, invite_code, created_at) "
                     "VALUES ('bench-t', '压测镇', 'township', 'room', 'BENCHTOWN1', now())")
        conn.execute("INSERT INTO organisations (code, name, kind, platform_kind, invite_code, parent_id, created_at) "
                     "SELECT 'bench-v' || v, '压测村' || v, 'village', 'room', 'BENCHVILL' || v, "
                     "(SELECT id FROM organisations WHERE code = 'bench-t'), now() FROM generate_series(1, %s) v",
                     (villages,))
        conn.execute("INSERT INTO people (openid, real_name, home_org_id, subscribed, created_at) "
                     "SELECT 'bench-u' || g, '村民' || g, o.id, true, now() FROM generate_series(0, %s) g "
                     "JOIN organisations o ON o.code = 'bench-v' || (g %% %s + 1)", (FOLLOWERS - 1, villages))
        # Template copies already sent, waiting for WeChat's receipt (TEMPLATESENDJOBFINISH): copy g went to
        # follower g % 1,000 as notice g // 1,000 + 1, with wechat_msgid RECEIPT_MSGID_BASE + g.
        conn.execute("INSERT INTO notices (org_id, seq, kind, audience, title, body, delivery_plan, created_at) "
                     "SELECT o.id, n, 'general', 'followers', '压测通知' || n, '压测', 'direct', now() "
                     "FROM generate_series(1, %s) n, organisations o WHERE o.code = 'bench-t'", (RECEIPTS // FOLLOWERS,))
        conn.execute("INSERT INTO deliveries (notice_id, person_id, openid, status, channel, attempts, next_attempt_at, "
                     "wechat_msgid, sent_at) "
                     "SELECT nt.id, p.id, p.openid, 'sent', 'template', 1, now(), (%s + g)::text, now() "
                     "FROM generate_series(0, %s) g JOIN people p ON p.openid = 'bench-u' || (g %% %s) "
                     "JOIN notices nt ON nt.seq = g / %s + 1 AND nt.title LIKE '压测通知%%'",
                     (RECEIPT_MSGID_BASE, RECEIPTS - 1, FOLLOWERS, FOLLOWERS))
        conn.execute("ANALYZE")


def write_config(path: Path, db_url: str, redis_url: str, aes: bool) -> Path:
    """Settings for the gunicorn workers."""
    key = AES_KEY if aes else ""
    path.write_text(
        f'[wechat]\ntoken = "{TOKEN}"\napp_id = "{APP_ID}"\napp_secret = "bench-app-secret"\nencoding_aes_key = "{key}"\n'
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


def median_results(runs: dict[str, list[WrkResult]]) -> dict[str, WrkResult]:
    """Each scenario's median run by throughput (the lower middle one for an even count)."""
    out = {}
    for key, results in runs.items():
        ordered = sorted(results, key=lambda r: r.rps)
        out[key] = ordered[(len(ordered) - 1) // 2]
    return out


def print_medians(runs: dict[str, list[WrkResult]]) -> None:
    """Every run's throughput and the medians, with ratios to the Flask echo's median (when it ran)."""
    medians = median_results(runs)
    echo = medians.get("flask echo")
    print("\nmedians (req/s of each run in brackets):")
    for key, result in medians.items():
        ratio = f"{result.rps / echo.rps:6.3f}x flask echo" if echo is not None else ""
        every = ", ".join(f"{r.rps:.0f}" for r in runs[key])
        print(f"  {key:<14} {result.rps:7.0f} req/s  p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:6.1f} ms  "
              f"{ratio}  [{every}]  (median of {len(runs[key])}; stdev {statistics.pstdev(r.rps for r in runs[key]):.0f})")


def print_ratios(results: dict[str, WrkResult]) -> None:
    """Ratios to the WeRoBot echo measured in the same run, and the targets (when those scenarios ran)."""
    werobot, werobot_aes = results.get("werobot echo"), results.get("werobot echo aes")
    if werobot is not None:
        print("\nratios to WeRoBot echo throughput (same gunicorn settings, same run):")
        for key in ("flask echo", "帮助", "我的议题", "提议", "提议 最长", "提议 30KB"):
            if key in results:
                print(f"  {key:<14} {results[key].rps / werobot.rps:5.2f}x   p99 {results[key].p99_ms:.1f} ms")
    if werobot_aes is not None and "我的议题 aes" in results:
        print(f"  {'我的议题 aes':<14} {results['我的议题 aes'].rps / werobot_aes.rps:5.2f}x "
              f"(vs WeRoBot AES)   p99 {results['我的议题 aes'].p99_ms:.1f} ms")
    if werobot is not None and "我的议题" in results:
        print(f"\ntarget: 我的议题 >= 0.5x WeRoBot (aim 1.0x): "
              f"{'MET' if results['我的议题'].rps >= 0.5 * werobot.rps else 'NOT MET'}; "
              f"p99 <= 50 ms: {'MET' if results['我的议题'].p99_ms <= 50 else 'NOT MET'}")
    print(f"errors: {sum(r.errors + r.non_2xx for r in results.values())}")


def main() -> None:
    """Run every scenario and print ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--requests", type=int, default=60000, help="pre-signed requests per scenario")
    parser.add_argument("--villages", type=int, default=20,
                        help="villages the followers are spread over (a county's township; 1 = all in one)")
    parser.add_argument("--repeat", type=int, default=1, help="run every scenario this many times (medians)")
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, default=SCENARIOS, metavar="SCENARIO",
                        help=f"run only these scenarios: {', '.join(SCENARIOS)}")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    db_server, redis_url = servers(ROOT / ".shangliang" / "bench")
    db_url = fresh_database(db_server)
    print(f"gunicorn -w {args.workers} -k gthread --threads {args.threads}; wrk -t2 -c{args.connections} "
          f"-d{args.seconds}s; {FOLLOWERS} followers in {args.villages} village(s); PostgreSQL + Redis", flush=True)
    try:
        seed(db_url, args.villages)
        msgid = int(time.time()) * 1000

        def reqs(label: str, content: str, unique: bool = False, aes: bool = False, count: int = 0,
                 kind: str = "text") -> Path:
            nonlocal msgid
            msgid += args.requests
            return write_requests(tmp / f"{label}.txt", count=count or args.requests, token=TOKEN, timestamp=int(time.time()),
                                  followers=FOLLOWERS, content=content, unique_content=unique, msgid_base=msgid,
                                  aes_key=AES_KEY if aes else "", app_id=APP_ID, kind=kind)

        env = {"BENCH_TOKEN": TOKEN}
        aes_env = {**env, "BENCH_AES_KEY": AES_KEY, "BENCH_APP_ID": APP_ID}
        plain = {"SHANGLIANG_CONFIG": str(write_config(tmp / "plain.toml", db_url, redis_url, aes=False))}
        safe = {"SHANGLIANG_CONFIG": str(write_config(tmp / "safe.toml", db_url, redis_url, aes=True))}
        app, echo, werobot = "bot.app:create_app()", "bench.webhook.echo_flask:app", "bench.webhook.echo_werobot:app"
        plan: dict[str, Callable[[], WrkResult]] = {
            "flask echo": lambda: measure("baseline: flask+wechatpy echo", echo, env, reqs("flask", "你好"), args),
            "werobot echo": lambda: measure("baseline: WeRoBot echo", werobot, env, reqs("werobot", "你好"), args,
                                            baseline_venv()),
            "werobot echo aes": lambda: measure("baseline: WeRoBot echo (AES)", werobot, aes_env,
                                                reqs("werobot-aes", "你好", aes=True), args, baseline_venv()),
            "帮助": lambda: measure("ours: 帮助 (no write)", app, plain, reqs("help", "帮助"), args),
            "我的议题": lambda: measure("ours: 我的议题 (DB read)", app, plain, reqs("mine", "我的议题"), args),
            "提议": lambda: measure("ours: 提议 (DB write)", app, plain, reqs("propose", "提议 修村东头的路第", True),
                                  args),
            "我的议题 aes": lambda: measure("ours: 我的议题 (AES safe)", app, safe,
                                        reqs("mine-aes", "我的议题", aes=True), args),
            "提议 最长": lambda: measure("ours: 提议 + 3,996 chars", app, plain,
                                     reqs("longest", LONGEST, True, count=min(args.requests, LONG_REQUESTS)), args),
            "提议 30KB": lambda: measure("ours: 提议 + 10,000 chars", app, plain,
                                     reqs("30kb", LONG_30KB, True, count=min(args.requests, LONG_REQUESTS)), args),
            "没看懂": lambda: measure("ours: unknown text (没看懂)", app, plain, reqs("unknown", UNKNOWN_TEXT), args),
            "帮助 通过": lambda: measure("ours: 帮助 通过", app, plain, reqs("help-about", "帮助 通过"), args),
            "菜单 我的议题": lambda: measure("ours: menu CLICK KW_我的议题", app, plain,
                                       reqs("click", "KW_我的议题", kind="click"), args),
            "模板回执": lambda: measure("ours: TEMPLATESENDJOBFINISH", app, plain,
                                    reqs("receipt", "success", count=min(args.requests, RECEIPTS), kind="receipt"),
                                    args),
        }
        chosen = [key for key in SCENARIOS if key in args.only]
        runs: dict[str, list[WrkResult]] = {key: [] for key in chosen}
        for round_ in range(args.repeat):
            if args.repeat > 1:
                print(f"round {round_ + 1} of {args.repeat}", flush=True)
            for key in chosen:
                runs[key].append(plan[key]())
        results = median_results(runs)
        if args.repeat > 1:
            print_medians(runs)
        print_ratios(results)
    finally:
        drop_database(db_url)


if __name__ == "__main__":
    main()
