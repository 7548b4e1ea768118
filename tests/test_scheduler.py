"""The scheduler: fixed job ids, coalescing, a leader lock, every sweep idempotent, the jobs commands."""

from __future__ import annotations

import gc
import threading
from collections import Counter
from datetime import timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from models import Delivery, Notice, TopicState
from scheduler import jobs
from scheduler.main import _leader, configure
from tests.test_notices_helpers import T0, TEMPLATE_PATH, drain, event, meeting, topic, world
from tests.test_sender_kill import write_config


def _busy_day(db):
    """A topic meeting in 10 days, a meeting in 2 hours, a consensus just reached, a council falling due."""
    w = world(db)
    noticed = topic(db, w["v1"], w["fans"][0], seq=1)
    meeting(db, w["v1"], T0 + timedelta(days=10), topic_row=noticed, attendees=[w["member"]])
    soon = topic(db, w["v2"], w["outsider"], seq=2, title="红旗村修桥")
    meeting(db, w["v2"], T0 + timedelta(hours=2), topic_row=soon, attendees=[w["outsider"]], title="红旗村协商会")
    done = topic(db, w["v1"], w["fans"][1], seq=3, state=TopicState.CONSENSUS, title="安装路灯")
    event(db, done, TopicState.CONSENSUS, T0 - timedelta(hours=3))
    held = meeting(db, w["town"], T0 - timedelta(days=175), title="镇协商会")
    held.status = held.status.CLOSED
    db.commit()
    return w


def test_jobs_have_fixed_ids_coalesce_and_are_registered_once(services):
    scheduler = BackgroundScheduler(timezone=services.settings.tz)
    scheduler.start(paused=True)
    try:
        configure(scheduler, services)
        configure(scheduler, services)  # a second registration replaces, never duplicates
        registered = scheduler.get_jobs()
    finally:
        scheduler.shutdown(wait=False)
    assert sorted(j.id for j in registered) == sorted(j.id for j in jobs.JOBS)
    assert {"topic-notices", "meeting-reminders", "result-notices", "close-notices", "implementation-summary",
            "cadence-watchdog", "poll-closing", "speech-overtime", "tag-sync", "wechat-token"} == {j.id for j in registered}
    assert all(j.coalesce and j.misfire_grace_time is None and j.max_instances == 1 for j in registered)


def test_every_job_run_twice_at_the_same_now_sends_once(db, services, fake_wechat):
    _busy_day(db)
    first = dict(jobs.run_due(services, T0))
    made = db.scalar(select(func.count(Notice.id)))
    assert first["topic-notices"] == 2 and first["meeting-reminders"] == 1 and first["result-notices"] == 1
    assert first["cadence-watchdog"] >= 1 and made >= 5
    second = dict(jobs.run_due(services, T0))
    assert all(count == 0 for job, count in second.items() if job != "tag-sync"), second
    assert db.scalar(select(func.count(Notice.id))) == made
    drain(services)
    keys = Counter(c["body"]["client_msg_id"] for c in fake_wechat.calls(path=TEMPLATE_PATH))
    assert set(keys.values()) == {1}
    pairs = Counter((c["openid"], c["body"]["data"]["thing1"]["value"]) for c in fake_wechat.calls(path=TEMPLATE_PATH)
                    if not c["duplicate"])
    assert set(pairs.values()) == {1}
    assert db.scalar(select(func.count(Delivery.id)).where(Delivery.status == "sent")) == sum(keys.values())


def test_a_second_scheduler_started_by_mistake_sends_nothing_twice(db, services):
    _busy_day(db)
    barrier = threading.Barrier(2)
    results: list[dict] = []

    def run() -> None:
        barrier.wait()
        results.append(dict(jobs.run_due(services, T0)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(isinstance(v, int) for r in results for v in r.values()), results  # no sweep crashed
    keys = list(db.scalars(select(Notice.source_key)))
    assert len(keys) == len(set(keys))
    for job in ("topic-notices", "meeting-reminders", "result-notices"):
        assert sum(r[job] for r in results) == {"topic-notices": 2}.get(job, 1), job  # made by one of the two
    before = db.scalar(select(func.count(Notice.id)))
    jobs.run_due(services, T0)
    assert db.scalar(select(func.count(Notice.id))) == before


def test_leader_lock_lets_one_scheduler_run_a_job_per_tick(services):
    job = jobs.job_by_id("meeting-reminders")
    assert _leader(services, job) is True
    assert _leader(services, job) is False


def test_after_downtime_the_first_run_catches_up(db, services):
    w = world(db)
    m = meeting(db, w["v1"], T0 + timedelta(hours=80), attendees=[w["member"]])
    db.commit()
    # down from 80 hours before the meeting until 20 hours before it: one run, one (current) reminder
    made = dict(jobs.run_due(services, m.starts_at - timedelta(hours=20), only=["meeting-reminders"]))
    assert made == {"meeting-reminders": 1}
    [reminder] = db.scalars(select(Notice)).all()
    assert reminder.source_key.endswith(":24h")


@pytest.fixture
def cli(services, tmp_path):
    config = write_config(tmp_path / "cli.toml", services)
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(main, ["--config", str(config), *args], catch_exceptions=False)
        gc.collect()  # each command built its own engine: let its connections go
        return result

    return run


def test_jobs_commands_list_and_run_due(cli, db, services):
    _busy_day(db)
    listing = cli("jobs", "list")
    assert all(j.id in listing.output for j in jobs.JOBS) and "启动时" in listing.output
    ran = cli("jobs", "run-due", "--now", "2025-11-20T10:00")  # local time
    assert ran.exit_code == 0 and "topic-notices" in ran.output
    assert db.scalar(select(func.count(Notice.id))) >= 5
    again = cli("jobs", "run-due", "--now", "2025-11-20T02:00:00+00:00", "--job", "topic-notices")
    assert again.output.split() == ["topic-notices", "0"]
    assert cli("jobs", "run-due", "--now", "yesterday").exit_code != 0
    assert cli("jobs", "run-due", "--job", "nope").exit_code != 0
    from scheduler.main import record_run

    record_run(services, "topic-notices", T0)
    assert "上次 11-20 10:00:00" in cli("jobs", "list").output


def test_tag_sync_run_twice_at_once_calls_the_tag_api_once(db, services, fake_wechat):
    world(db)
    fake_wechat.add_fault("/cgi-bin/tags/create", delay_ms=300)  # slow WeChat: the two runs overlap
    barrier = threading.Barrier(2)
    results: list[dict] = []

    def run() -> None:
        barrier.wait()
        results.append(dict(jobs.run_due(services, T0, only=["tag-sync"])))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r["tag-sync"] for r in results)[0] == 0 and sum(r["tag-sync"] for r in results) > 0, results
    created = Counter(c["body"]["tag"]["name"] for c in fake_wechat.calls(path="/cgi-bin/tags/create"))
    assert len(created) == 3 and set(created.values()) == {1}  # 东风村, 红旗村 and the role tag 召集人等, once each
    tagged = Counter((c["body"]["tagid"], o) for c in fake_wechat.calls(path="/cgi-bin/tags/members/batchtagging")
                     for o in c["body"]["openid_list"])
    assert tagged and set(tagged.values()) == {1}
    assert jobs.run_due(services, T0, only=["tag-sync"]) == [("tag-sync", 0)]
