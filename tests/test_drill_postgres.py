"""Fault drill: PostgreSQL restarted during traffic (issue: benchmarks and fault drills)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from bot.embedded import EmbeddedPostgres
from bot.services import Services, _ensure_database
from domain.orgs import tree as orgs
from models import InboundMessage, OrgKind, Person
from models.db import transaction
from models.migrate import upgrade
from tests.driver import live_bot


@pytest.fixture
def own_postgres(tmp_path, base_settings):
    """A PostgreSQL of this test's own, so the test may restart it."""
    server = EmbeddedPostgres(tmp_path / "pg").start()
    url = _ensure_database(server.url, "drill")
    upgrade(url)
    settings = base_settings.with_overrides(database={"url": url, "pool_size": 4})
    services = Services.from_settings(settings, pre_ping=False)  # as the web app runs
    yield server, services
    services.close()
    server.stop()


def test_postgres_restart_during_traffic_apologises_then_retry_succeeds(own_postgres):
    server, services = own_postgres
    with transaction(services.sessions) as db:
        orgs.create_org(db, code="t", name="镇", kind=OrgKind.TOWNSHIP)
        village = orgs.create_org(db, code="v", name="东风村", kind=OrgKind.VILLAGE, parent_code="t")
        invite = village.invite_code
    with live_bot(services) as bot:
        messages = [(f"drill-{i}", bot.pusher.text(f"drill-{i}", f"绑定 {invite}")) for i in range(60)]
        replies: dict[str, str | None] = {}
        stop = threading.Event()

        def traffic() -> None:
            for openid, xml in messages:
                if stop.is_set():
                    break
                try:
                    result = bot.post(xml)
                except Exception as exc:  # noqa: BLE001 - recorded and asserted below
                    replies[openid] = f"transport error {exc}"
                    continue
                assert result.status == 200, result.body
                replies[openid] = result.text
                time.sleep(0.02)

        sender = threading.Thread(target=traffic)
        sender.start()
        time.sleep(0.3)
        server.stop()
        server._started_here = False
        time.sleep(0.3)
        restarted = EmbeddedPostgres(server.data_dir, port=server.port).start()
        sender.join(60)
        stop.set()
        apologised = [openid for openid, text in replies.items() if text and "抱歉" in text]
        assert not [t for t in replies.values() if t and t.startswith("transport error")]
        assert apologised, "the restart should have hit some messages"
        # WeChat's retry of every message (same MsgId) now succeeds; nothing is doubled.
        for _openid, xml in messages:
            retry = bot.post(xml)
            assert retry.status == 200
            assert "抱歉" not in (retry.text or "")
    with services.sessions() as db:
        bound = db.scalar(select(func.count()).select_from(Person).where(Person.home_org_id.is_not(None)))
        rows = db.scalar(select(func.count()).select_from(InboundMessage))
    restarted.stop()
    assert bound == len(messages)
    assert rows == len(messages)
