"""A sender killed with SIGKILL in the middle of a 10,000-recipient broadcast, then restarted: everyone once."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from domain.notices.outbox import create_notice
from models import Audience, Delivery, DeliveryStatus, NoticeKind
from tests.test_notices_helpers import T0, TEMPLATE_PATH, bulk_followers, world

RECIPIENTS = 10_000
SHANGLIANG = str(Path(sys.executable).with_name("shangliang"))


def write_config(path: Path, services, **delivery) -> Path:
    """A config file pointing a subprocess at the test database, Redis and WeChat stand-in."""
    s = services.settings
    values = {"lease_seconds": 5, "rate_per_second": 100000.0, "rate_burst": 2000, "poll_seconds": 0.1,
              "retry_base_seconds": 0.05, "retry_max_seconds": 0.5, "batch_size": 200, **delivery}
    lines = [
        f'[database]\nurl = "{s.database.url}"\npool_size = 20\n',
        f'[redis]\nurl = "{s.redis.url}"\nkey_prefix = "{s.redis.key_prefix}"\n',
        f'[wechat]\ntoken = "{s.wechat.token}"\napp_id = "{s.wechat.app_id}"\napp_secret = "{s.wechat.app_secret}"\n'
        f'api_base_url = "{s.wechat.api_base_url}"\ntimeout_seconds = 3\n',
        "[delivery]\n" + "".join(f"{k} = {v!r}\n" if not isinstance(v, str) else f'{k} = "{v}"\n'
                                 for k, v in values.items()),
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def sender_env(config: Path) -> dict[str, str]:
    """The subprocess environment: our config, and no proxy lookups for the local stand-in."""
    return {**os.environ, "SHANGLIANG_CONFIG": str(config), "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost"}


def _template_sends(fake) -> int:
    return int(fake.stats()["paths"].get(TEMPLATE_PATH, 0))


@pytest.fixture
def quiet_stand_in():
    """The stand-in's per-request INFO lines would cost more than the sends themselves."""
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.WARNING)
    yield
    werkzeug.setLevel(level)


@pytest.mark.slow
def test_sigkill_mid_broadcast_then_restart_everyone_gets_exactly_one(db, services, fake_wechat, tmp_path, quiet_stand_in):
    started = time.monotonic()
    w = world(db, followers=0)
    bulk_followers(db, w["v1"], RECIPIENTS)
    create_notice(db, org=w["v1"], kind=NoticeKind.GENERAL, audience=Audience.FOLLOWERS, title="全村大扫除",
                  body="周六上午8点全村大扫除，请各户出一人。", now=T0, public_days=7)
    db.commit()
    expected = db.scalar(select(func.count(Delivery.id)).where(Delivery.status == DeliveryStatus.PENDING))
    assert expected >= RECIPIENTS
    fake_wechat.add_fault(path=TEMPLATE_PATH, delay_ms=1)  # every send takes a moment: the kill lands mid-send
    config = write_config(tmp_path / "sender.toml", services)
    env = sender_env(config)
    first = subprocess.Popen([SHANGLIANG, "sender", "--worker-id", "doomed", "--concurrency", "16"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 40
        while _template_sends(fake_wechat) < 1500:
            assert first.poll() is None, first.stderr.read().decode()[-2000:] if first.stderr else ""
            assert time.monotonic() < deadline, f"the first sender did not get going: {_template_sends(fake_wechat)}"
            time.sleep(0.2)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    sent_before = _template_sends(fake_wechat)
    logging.getLogger(__name__).warning("killed after %d sends at %.1fs", sent_before, time.monotonic() - started)
    in_doubt = db.scalar(select(func.count(Delivery.id)).where(
        Delivery.claimed_by == "doomed", Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING])))
    assert sent_before < expected and in_doubt > 0  # killed mid-broadcast, holding claimed rows
    fake_wechat.clear_faults()
    restarted = [subprocess.Popen([SHANGLIANG, "sender", "--once", "--max-wait", "20", "--worker-id", f"restart-{n}",
                                   "--concurrency", "16"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for n in (1,)]
    for proc in restarted:
        try:
            _, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err.decode()[-2000:]
    logging.getLogger(__name__).warning("restarted workers done at %.1fs", time.monotonic() - started)
    per_openid = Counter(c["openid"] for c in fake_wechat.calls(path=TEMPLATE_PATH)
                         if c.get("errcode") == 0 and not c.get("duplicate"))
    assert len(per_openid) == expected
    assert set(per_openid.values()) == {1}
    db.expire_all()
    statuses = dict(db.execute(select(Delivery.status, func.count(Delivery.id)).group_by(Delivery.status)).all())
    assert statuses == {DeliveryStatus.SENT: expected}
