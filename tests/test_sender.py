"""The sender: channels, payload limits, faults and retries, leases, two workers, the rate limit."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from bot.ratelimit import TokenBucket
from bot.sender import Sender
from domain.notices import delivery
from domain.notices.outbox import create_notice
from models import Audience, Delivery, DeliveryStatus, NoticeKind, Person
from models.db import transaction
from tests.test_notices_helpers import (
    CUSTOM_PATH,
    TEMPLATE_PATH,
    bulk_followers,
    drain,
    fast,
    world,
)

BODY = "周六上午9点在村委会议室开会，商量村东头道路硬化。请大家准时参加。"


def _broadcast(db, org, *, title: str = "道路硬化协商会", body: str = BODY, kind=NoticeKind.GENERAL):
    notice = create_notice(db, org=org, kind=kind, audience=Audience.FOLLOWERS, title=title, body=body,
                           now=datetime.now(UTC), public_days=7)
    db.commit()
    return notice


def _statuses(db) -> Counter:
    db.expire_all()
    return Counter(dict(db.execute(select(Delivery.status, func.count(Delivery.id)).group_by(Delivery.status)).all()))


def test_template_payload_is_self_contained_and_within_wechat_limits(db, services, fake_wechat):
    w = world(db, followers=1)
    notice = _broadcast(db, w["v1"], title="关于村东头道路硬化工程施工期间交通安排的通知")
    drain(services)
    [call] = [c for c in fake_wechat.calls(path=TEMPLATE_PATH) if c["openid"] == "fan-1"]
    body = call["body"]
    row = db.scalar(select(Delivery).where(Delivery.openid == "fan-1"))
    assert body["template_id"] == "TPL_GENERAL" and body["client_msg_id"] == f"d{row.id}"
    data = {k: v["value"] for k, v in body["data"].items()}
    assert set(data) == {"thing1", "time2", "thing3", "thing4", "thing5"}
    assert all(len(data[k]) <= 20 and "\n" not in data[k] for k in ("thing1", "thing3", "thing4", "thing5"))
    assert data["thing1"].endswith("…")  # the long title was cut to WeChat's 20 characters
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", data["time2"])
    assert data["thing3"] == "东风村" and data["thing5"] == f"回复“通知 {notice.seq}”查看全文"
    assert data["thing4"].startswith("通知至")


def test_customer_service_message_inside_48_hours_carries_the_full_text(db, services, fake_wechat):
    w = world(db, followers=2)
    w["fans"][0].last_message_at = datetime.now(UTC) - timedelta(hours=3)
    w["fans"][1].last_message_at = datetime.now(UTC) - timedelta(hours=49)
    db.commit()
    _broadcast(db, w["v1"])
    drain(services)
    [custom] = fake_wechat.messages_to("fan-1")
    assert custom["msgtype"] == "text" and BODY in custom["text"]["content"]
    assert "template_id" in fake_wechat.messages_to("fan-2")[0]


def test_customer_service_refused_falls_back_to_template_in_the_same_attempt(db, services, fake_wechat):
    w = world(db, followers=1)
    w["fans"][0].last_message_at = datetime.now(UTC) - timedelta(hours=1)
    db.commit()
    fake_wechat.add_fault(path=CUSTOM_PATH, errcode=45015)
    _broadcast(db, w["v1"])
    drain(services)
    [got] = fake_wechat.messages_to("fan-1")
    assert "template_id" in got
    row = db.scalar(select(Delivery).where(Delivery.openid == "fan-1"))
    assert row.status is DeliveryStatus.SENT and row.channel == "template" and row.attempts == 1


def test_unfollowed_recipient_is_final_and_never_retried(db, services, fake_wechat):
    w = world(db, followers=2)
    fake_wechat.unfollow("fan-1")
    _broadcast(db, w["v1"])
    drain(services)
    row = db.scalar(select(Delivery).where(Delivery.openid == "fan-1"))
    assert row.status is DeliveryStatus.FAILED and "对方已取消关注" in row.last_error and row.attempts == 1
    assert len(fake_wechat.calls(path=TEMPLATE_PATH, openid="fan-1")) == 1
    db.expire_all()
    assert db.scalar(select(Person.subscribed).where(Person.openid == "fan-1")) is False
    _broadcast(db, w["v1"], title="第二条")  # later notices skip them at queue time
    assert db.scalar(select(Delivery.status).where(Delivery.openid == "fan-1", Delivery.notice_id != row.notice_id)) \
        is DeliveryStatus.SKIPPED


def test_invalid_openid_40003_is_final(db, services, fake_wechat):
    w = world(db, followers=1)
    fake_wechat.add_fault(path=TEMPLATE_PATH, errcode=40003)
    _broadcast(db, w["v1"])
    drain(services)
    assert _statuses(db) == Counter({DeliveryStatus.FAILED: 3})  # convenor, member, follower
    assert len(fake_wechat.calls(path=TEMPLATE_PATH)) == 3


def test_thirty_percent_faults_all_delivered_eventually_none_doubled(db, services, fake_wechat):
    w = world(db, followers=0)
    bulk_followers(db, w["v1"], 150)
    _broadcast(db, w["v1"])
    expected = db.scalar(select(func.count(Delivery.id)))
    fake_wechat.add_fault(path=TEMPLATE_PATH, errcode=-1, ratio=0.1, seed=1)
    fake_wechat.add_fault(path=TEMPLATE_PATH, errcode=45009, ratio=0.11, seed=2)
    fake_wechat.add_fault(path=TEMPLATE_PATH, delay_ms=900, ratio=0.125, seed=3)  # beyond the client's timeout
    quick = fast(services)
    quick = quick.__class__(**{**quick.__dict__, "settings": quick.settings.with_overrides(
        wechat={"timeout_seconds": 0.4}, delivery={"max_attempts": 30})})
    Sender(quick, worker_id="faulty", concurrency=8).run(once=True, max_wait=5)
    assert _statuses(db) == Counter({DeliveryStatus.SENT: expected})
    delivered = Counter(c["openid"] for c in fake_wechat.calls(path=TEMPLATE_PATH)
                        if c["errcode"] == 0 and not c["duplicate"])
    assert len(delivered) == expected and set(delivered.values()) == {1}
    calls = fake_wechat.calls(path=TEMPLATE_PATH)
    assert sum(1 for c in calls if c["errcode"] in (-1, 45009)) > 10  # the faults really happened
    assert db.scalar(select(func.max(Delivery.attempts))) > 1


def test_copy_left_sending_by_a_dead_worker_is_resent_under_the_same_key_and_delivered_once(
        db, services, fake_wechat):
    w = world(db, followers=1)
    _broadcast(db, w["v1"])
    settings = fast(services).settings
    now = datetime.now(UTC)
    with transaction(services.sessions) as session:
        attempts = delivery.claim_and_begin(session, worker="dead", now=now, settings=settings, batch=10)
    doomed = next(a for a in attempts if a.openid == "fan-1")
    Sender(fast(services), worker_id="dead").send(doomed)  # WeChat got it; the worker died before recording
    assert db.scalar(select(Delivery.status).where(Delivery.id == doomed.delivery_id)) is DeliveryStatus.SENDING
    with transaction(services.sessions) as session:  # its lease has not run out: nobody else may take it
        assert delivery.claim_due(session, worker="other", now=now, lease_seconds=60, batch=10) == []
    later = now + timedelta(seconds=settings.delivery.lease_seconds + 1)
    with services.sessions() as session:  # once the lease has run out, another worker may take it
        assert doomed.delivery_id in delivery.claim_due(session, worker="other", now=later, lease_seconds=60,
                                                        batch=10)
        session.rollback()
    db.execute(update(Delivery).where(Delivery.id == doomed.delivery_id).values(lease_until=now - timedelta(seconds=1)))
    db.commit()  # as if the lease had run out now
    drain(services, worker_id="other")
    assert len(fake_wechat.messages_to("fan-1")) == 1  # the repeat was WeChat-deduplicated by client_msg_id
    repeat = [c for c in fake_wechat.calls(path=TEMPLATE_PATH, openid="fan-1") if c["duplicate"]]
    assert len(repeat) == 1 and repeat[0]["body"]["client_msg_id"] == doomed.client_msg_id
    row = db.scalar(select(Delivery).where(Delivery.id == doomed.delivery_id))
    assert row.status is DeliveryStatus.SENT and row.attempts == 2


def test_two_workers_on_postgres_never_claim_the_same_row(db, services, fake_wechat):
    w = world(db, followers=0)
    bulk_followers(db, w["v1"], 400)
    _broadcast(db, w["v1"])
    barrier = threading.Barrier(4)
    claimed: dict[str, list[int]] = {}

    def claim(worker: str) -> None:
        barrier.wait()
        got: list[int] = []
        for _ in range(3):
            with transaction(services.sessions) as session:
                got += delivery.claim_due(session, worker=worker, now=datetime.now(UTC), lease_seconds=60, batch=30)
        claimed[worker] = got

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for ids in claimed.values() for i in ids]
    assert len(everything) == len(set(everything)) == 4 * 3 * 30


def test_two_sender_workers_deliver_each_copy_exactly_once(db, services, fake_wechat):
    w = world(db, followers=0)
    bulk_followers(db, w["v1"], 300)
    _broadcast(db, w["v1"])
    expected = db.scalar(select(func.count(Delivery.id)))
    workers = [Sender(fast(services), worker_id=f"w{i}", concurrency=4) for i in (1, 2)]
    threads = [threading.Thread(target=s.run, kwargs={"once": True, "max_wait": 3}) for s in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    keys = Counter(c["body"]["client_msg_id"] for c in fake_wechat.calls(path=TEMPLATE_PATH))
    assert len(keys) == expected and set(keys.values()) == {1}  # not even a WeChat-side duplicate
    assert all(s.counts["sent"] > 0 for s in workers)  # both took part
    assert _statuses(db) == Counter({DeliveryStatus.SENT: expected})


def test_temporary_error_gives_up_after_max_attempts_with_reason(db, services, fake_wechat):
    w = world(db, followers=1)
    fake_wechat.add_fault(path=TEMPLATE_PATH, errcode=-1)
    _broadcast(db, w["v1"])
    drain(services, max_attempts=3)
    row = db.scalar(select(Delivery).where(Delivery.openid == "fan-1"))
    assert row.status is DeliveryStatus.FAILED and row.attempts == 3 and "微信系统繁忙（-1）" in row.last_error


def test_backoff_is_exponential_with_jitter(services):
    from domain.notices.delivery_results import retry_delay

    settings = services.settings
    assert retry_delay(1, settings, rng=lambda: 0.5) == timedelta(seconds=30)
    assert retry_delay(3, settings, rng=lambda: 0.5) == timedelta(seconds=120)
    assert retry_delay(20, settings, rng=lambda: 0.5) == timedelta(seconds=3600)
    assert retry_delay(2, settings, rng=lambda: 0.0) == timedelta(seconds=30)
    assert retry_delay(2, settings, rng=lambda: 0.999) < timedelta(seconds=90)


def test_unverified_account_skips_pushes_with_reason(db, services, fake_wechat):
    w = world(db, followers=1)
    _broadcast(db, w["v1"])
    plain = fast(services)
    plain = plain.__class__(**{**plain.__dict__, "settings": plain.settings.with_overrides(
        wechat={"account_type": "service"})})
    Sender(plain, worker_id="x").run(once=True, max_wait=1)
    assert _statuses(db) == Counter({DeliveryStatus.SKIPPED: 3})
    assert set(db.scalars(select(Delivery.last_error))) == {"账号类型不支持主动推送"}
    assert fake_wechat.calls(path=TEMPLATE_PATH) == []


def test_subscription_account_uses_customer_service_only_inside_the_window(db, services, fake_wechat):
    w = world(db, followers=2)
    w["fans"][0].last_message_at = datetime.now(UTC) - timedelta(hours=1)
    db.commit()
    _broadcast(db, w["v1"])
    sub = fast(services)
    sub = sub.__class__(**{**sub.__dict__, "settings": sub.settings.with_overrides(
        wechat={"account_type": "subscription_verified"})})
    Sender(sub, worker_id="x").run(once=True, max_wait=1)
    assert fake_wechat.messages_to("fan-1")[0]["msgtype"] == "text"
    assert fake_wechat.messages_to("fan-2") == []
    assert "超过48小时" in db.scalar(select(Delivery.last_error).where(Delivery.openid == "fan-2"))


def test_rate_limit_is_shared_by_every_process(services):
    key = services.rkey("ratelimit", "test")
    first, second = TokenBucket(services.redis, key, 40, 4), TokenBucket(services.redis, key, 40, 4)
    started = time.monotonic()
    for i in range(24):
        (first if i % 2 else second).acquire()
    elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 2.0  # 4 at once, then 40/s: 20 more take about half a second


def test_rate_limit_survives_redis_errors(services):
    import redis

    broken = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    bucket = TokenBucket(broken, "x", 1000, 10)
    for _ in range(5):
        assert bucket.acquire()
