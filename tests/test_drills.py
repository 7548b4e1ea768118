"""Fault drills (issue: benchmarks and fault drills): Redis stopped during traffic; several web, sender and
scheduler processes against one PostgreSQL, Redis and WeChat stand-in. Hostile XML against the running server
is drilled in tests/test_webhook_hostile.py (hypothesis corpus, never a 5xx)."""

from __future__ import annotations

import dataclasses
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from bot.embedded import EmbeddedRedis, free_port
from bot.services import make_redis
from domain.orgs import tree as orgs
from fakewechat.user import WeChatPusher
from handlers.dialogs import DialogUnavailable
from models import Delivery, DeliveryStatus, InboundMessage, Notice, NoticeKind, OrgKind, Person, Topic
from tests.driver import live_bot
from tests.test_notices_helpers import CUSTOM_PATH, TEMPLATE_PATH, bulk_followers, meeting, world
from tests.test_sender_kill import SHANGLIANG, sender_env, write_config

DIALOG_PROMPT = "请用一两句话说说想商量什么事"
DETAIL_PROMPT = "要补充说明吗"


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of this test's own, so the test may stop and restart it (restarts are appended and stopped too)."""
    servers = [EmbeddedRedis(tmp_path / "redis").start()]
    yield servers
    for server in servers:
        server.stop()


def _inbound(services, msg_id: int) -> int:
    with services.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(InboundMessage)
                             .where(InboundMessage.dedup_key.like(f"m:%:{msg_id}"))) or 0)


def _topics(services, openid: str) -> int:
    with services.sessions() as db:
        return int(db.scalar(select(func.count(Topic.id)).join(Person, Person.id == Topic.proposer_id)
                             .where(Person.openid == openid)) or 0)


def test_redis_stopped_during_traffic_webhook_answers_and_recovers_without_a_step(services, db, own_redis):
    redis_server = own_redis[0]
    orgs.create_org(db, code="t", name="幸福镇", kind=OrgKind.TOWNSHIP)
    village = orgs.create_org(db, code="v", name="东风村", kind=OrgKind.VILLAGE, parent_code="t")
    db.commit()
    settings = services.settings.with_overrides(redis={"url": redis_server.url})
    scoped = dataclasses.replace(services, settings=settings, redis=make_redis(settings.redis), _wechat=None)
    users = [f"redis-drill-{i}" for i in range(12)]
    with live_bot(scoped) as bot:
        for openid in users:
            assert "绑定成功" in (bot.send(openid, f"绑定 {village.invite_code}") or "")
        answered: list[tuple[int, str]] = []
        stop = threading.Event()

        def traffic() -> None:
            words = ["我的议题", "帮助", "通知"]
            n = 0
            while not stop.is_set():
                result = bot.post(bot.pusher.text(users[n % len(users)], words[n % len(words)]))
                answered.append((result.status, result.text or ""))
                n += 1

        runner = threading.Thread(target=traffic)
        runner.start()
        try:
            time.sleep(0.5)
            redis_server.stop()
            before_down = len(answered)
            deadline = time.monotonic() + 10
            while len(answered) - before_down < 10:  # traffic goes on while Redis is down
                assert time.monotonic() < deadline and runner.is_alive(), answered[-3:]
                time.sleep(0.05)
            # Redis is down. A message WeChat retries (same XML again) still has one effect: the database decides.
            msg_id = 7_000_000_001
            retried = bot.pusher.text(users[0], "提议 村口的路灯坏了，晚上看不见路", msg_id=msg_id)
            first, again = bot.post(retried), bot.post(retried)
            assert (first.status, again.status) == (200, 200)
            assert "已登记" in (first.text or "") and again.text == first.text
            # Dialogs pause with a clear reply; keywords with their content still work.
            paused = bot.send(users[1], "提议")
            assert paused == DialogUnavailable.reply
            time.sleep(0.5)
            while_down = len(answered) - before_down
            own_redis.append(EmbeddedRedis(redis_server.data_dir, port=redis_server.port).start())
            time.sleep(0.5)
        finally:
            stop.set()
            runner.join(10)
        # Recovery needs no manual step: within a few messages dialogs work again.
        deadline = time.monotonic() + 10
        while DIALOG_PROMPT not in (reply := bot.send(users[2], "提议") or ""):
            assert time.monotonic() < deadline, f"dialogs did not come back: {reply}"
            time.sleep(0.2)
        assert DETAIL_PROMPT in (bot.send(users[2], "村东头的路坑坑洼洼，下雨天没法走") or "")
    assert while_down >= 10
    assert all(status == 200 and text for status, text in answered), [a for a in answered if a[0] != 200][:3]
    assert not [text for _, text in answered if "抱歉" in text]
    assert _inbound(services, msg_id) == 1  # the retried proposal: one row, one effect
    assert _topics(services, users[0]) == 1


# ---- several processes against one PostgreSQL, Redis and stand-in -----------------------------------------

WEB_PROCESSES = 3
FOLLOWERS = 120
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


@pytest.fixture
def processes():
    """Subprocesses of this test; every one is stopped at the end, whatever happened."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _spawn(processes: list, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(args, env=env, cwd=Path(__file__).resolve().parent.parent,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    processes.append(proc)
    return proc


def _wait_healthy(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, log.read_text(errors="replace")[-2000:]
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, f"web process on {port} did not come up"
        time.sleep(0.2)


def _to_all(pushers: list, xml: str) -> list:
    """The same signed message to every web process at once (as WeChat's retries may land)."""
    timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
    barrier = threading.Barrier(len(pushers))
    results: list = [None] * len(pushers)

    def post(index: int) -> None:
        barrier.wait()
        results[index] = pushers[index].post(xml, timestamp=timestamp, nonce=nonce)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(pushers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def _settled(services, timeout: float) -> None:
    """Wait until no copy is pending or being sent."""
    deadline = time.monotonic() + timeout
    while True:
        with services.sessions() as db:
            left = db.scalar(select(func.count(Delivery.id)).where(
                Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING])))
        if not left:
            return
        assert time.monotonic() < deadline, f"{left} copies still not sent"
        time.sleep(0.3)


@pytest.mark.slow
def test_three_web_two_senders_two_schedulers_everyone_exactly_once(services, db, fake_wechat, tmp_path, processes):
    w = world(db, followers=0)
    bulk_followers(db, w["v1"], FOLLOWERS)
    attendees = [w["member"], w["convenor"]]
    meeting(db, w["v1"], datetime.now(UTC) + timedelta(hours=20), attendees=attendees)  # its 24-hour reminder is due
    db.commit()
    config = write_config(tmp_path / "drill.toml", services, poll_seconds=0.2, lease_seconds=30)
    env = sender_env(config)
    s = services.settings.wechat
    ports = [free_port() for _ in range(WEB_PROCESSES)]
    webs = [_spawn(processes, [GUNICORN, "-w", "1", "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning", "bot.app:create_app()"], env, tmp_path / f"web-{port}.log")
            for port in ports]
    for proc, port in zip(webs, ports, strict=True):
        _wait_healthy(port, proc, tmp_path / f"web-{port}.log")
    pushers = [WeChatPusher(f"http://127.0.0.1:{port}/wechat", s.token, s.app_id) for port in ports]

    # The same message reaching every web process: one effect, identical replies.
    proposal = pushers[0].text("bulk-1", "提议 村口的路灯坏了，晚上看不见路", msg_id=8_000_000_001)
    replies = _to_all(pushers, proposal)
    assert {r.status for r in replies} == {200}
    assert len({r.text for r in replies}) == 1 and "已登记" in (replies[0].text or ""), [r.text for r in replies]
    with services.sessions() as check:
        assert check.scalar(select(func.count(Topic.id))) == 1
        assert check.scalar(select(func.count()).select_from(InboundMessage)
                            .where(InboundMessage.dedup_key.like("m:%:8000000001"))) == 1

    # A broadcast through the chat on one process; its 确认 reaches all three.
    preview = pushers[0].post(pushers[0].text("conv-1", "发布通知 周六上午8点全村大扫除，请各户出一人。"))
    assert "回复“确认”发布" in (preview.text or ""), preview.text
    confirmed = _to_all(pushers, pushers[0].text("conv-1", "确认"))
    assert len({r.text for r in confirmed}) == 1 and "已发布" in (confirmed[0].text or ""), [r.text for r in confirmed]

    # Two schedulers at once (the reminder is due), then two senders deliver everything.
    schedulers = [_spawn(processes, [SHANGLIANG, "jobs", "run-due"], env, tmp_path / f"sched-{n}.log") for n in (1, 2)]
    for n, proc in enumerate(schedulers, 1):
        assert proc.wait(40) == 0, (tmp_path / f"sched-{n}.log").read_text(errors="replace")[-2000:]
    senders = [_spawn(processes, [SHANGLIANG, "sender", "--worker-id", f"drill-{n}", "--concurrency", "8"], env,
                      tmp_path / f"sender-{n}.log") for n in (1, 2)]
    _settled(services, 30)
    for proc in senders:
        proc.send_signal(signal.SIGTERM)
    for n, proc in enumerate(senders, 1):
        assert proc.wait(15) == 0, (tmp_path / f"sender-{n}.log").read_text(errors="replace")[-2000:]

    with services.sessions() as check:
        notices = list(check.scalars(select(Notice)))
        rows = check.execute(select(Delivery.notice_id, Delivery.openid, Delivery.status)).all()
        followers = set(check.scalars(select(Person.openid).where(Person.home_org_id == w["v1"].id)))
    assert {r.status for r in rows} == {DeliveryStatus.SENT}
    [broadcast] = [n for n in notices if n.kind is NoticeKind.GENERAL]
    [reminder] = [n for n in notices if n.kind is NoticeKind.MEETING_NOTICE]  # two schedulers, one reminder
    assert _recipients(rows, broadcast.id) == followers and len(followers) == FOLLOWERS + 2  # + convenor, member
    assert _recipients(rows, reminder.id) == followers
    # The stand-in's records: every copy exactly once per recipient, nothing else.
    accepted = Counter(c["openid"] for c in fake_wechat.calls() if c["path"] in (TEMPLATE_PATH, CUSTOM_PATH)
                       and c.get("errcode") == 0 and not c.get("duplicate"))
    assert accepted == Counter(r.openid for r in rows)


def _recipients(rows, notice_id: int) -> set[str]:
    """Who a notice's copies went to (each once)."""
    openids = [r.openid for r in rows if r.notice_id == notice_id]
    assert len(openids) == len(set(openids))
    return set(openids)
