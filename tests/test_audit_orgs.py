"""The audit trail is one hash chain per organisation (R-TOPIC-8): independent chains, per-organisation locks."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select, text

from domain.errors import DomainError
from domain.topics import audit
from domain.topics import operations as topics
from models import Organisation, TopicEvent, TopicSource, TopicState
from tests.topic_world import NOW, advance, build, new_topic, who


@pytest.fixture
def two_villages(db, services):
    """Interleaved changes in 东风村 (v1) and 红旗村 (v2); returns the world."""
    world = build(db)
    first = new_topic(db, services)  # v1
    other = new_topic(db, services, "红旗村修水渠", openid="u-wang")  # v2
    topics.cosign(db, first, who(db, "u-li"), NOW)
    topics.screen(db, other, who(db, "c-v2"), NOW, "dialogue")
    advance(db, services, first, TopicState.SUBMITTED)
    topics.withdraw(db, other, who(db, "u-wang"), NOW, "已经解决了")
    db.commit()
    return world


def _chain(db, org_id):
    return list(db.scalars(select(TopicEvent).where(TopicEvent.org_id == org_id).order_by(TopicEvent.id)))


def _propose_in_thread(services, openid, words):
    """Propose from another session in a thread; the dict gets the number or the refusal."""
    outcome: dict[str, str] = {}

    def run() -> None:
        with services.sessions() as session:
            try:
                outcome["number"] = topics.propose(session, who(session, openid), words, NOW,
                                                   settings=services.settings).number
                session.commit()
            except DomainError as exc:
                session.rollback()
                outcome["refused"] = exc.reply

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_r_topic_8_each_organisation_has_its_own_chain(db, two_villages):
    world = two_villages
    for org_id in (world.v1, world.v2):
        chain = _chain(db, org_id)
        assert len(chain) >= 3 and chain[0].prev_hash == audit.GENESIS
        for before, event in zip(chain, chain[1:], strict=False):
            assert event.prev_hash == before.hash  # linked to its own organisation's previous record
        assert all(audit.event_hash(e) == e.hash for e in chain)
    ids = list(db.scalars(select(TopicEvent.org_id).order_by(TopicEvent.id)))
    assert ids[:2] == [world.v1, world.v2]  # really interleaved in id order
    report = audit.verify(db)
    assert report.ok and report.orgs == 2 and report.checked == len(ids) and report.topics == 2


def test_r_topic_8_tampering_in_one_organisation_is_reported_with_it(db, two_villages):
    target = _chain(db, two_villages.v2)[1]
    db.execute(text("UPDATE topic_events SET reason = '改过' WHERE id = :id"), {"id": target.id})
    db.commit()
    report = audit.verify(db)
    assert not report.ok and report.problem_event_id == target.id and report.problem_org == "v2"
    assert "组织 v2（红旗村）" in report.problem and "改动过" in report.problem


def test_r_topic_8_deleted_row_in_one_organisation_is_reported_with_it(db, two_villages):
    chain = _chain(db, two_villages.v1)
    db.execute(text("DELETE FROM topic_events WHERE id = :id"), {"id": chain[1].id})
    db.commit()
    report = audit.verify(db)
    assert not report.ok and report.problem_event_id == chain[2].id and report.problem_org == "v1"
    assert "东风村" in report.problem and "删除" in report.problem


def test_r_topic_8_event_moved_to_another_organisation_detected(db, two_villages):
    moved = _chain(db, two_villages.v1)[1]
    db.execute(text("UPDATE topic_events SET org_id = :org WHERE id = :id"), {"org": two_villages.v2, "id": moved.id})
    db.commit()
    report = audit.verify(db)
    assert not report.ok and report.problem_event_id == moved.id and "挪动" in report.problem


def test_r_topic_8_event_moved_with_its_topic_to_another_organisation_detected(db, two_villages):
    moved = _chain(db, two_villages.v1)[1]
    v2_topic = _chain(db, two_villages.v2)[0].topic_id
    db.execute(text("UPDATE topic_events SET org_id = :org, topic_id = :topic WHERE id = :id"),
               {"org": two_villages.v2, "topic": v2_topic, "id": moved.id})
    db.commit()
    report = audit.verify(db)
    assert not report.ok and report.problem_event_id == moved.id and report.problem_org == "v2"


def test_r_topic_8_csv_export_keeps_each_organisations_records(db, services, two_villages, tmp_path):
    from tests.topic_world import run_cli

    result = run_cli(services, tmp_path, "audit", "export", "--org", "v2", "--out", str(tmp_path / "v2.csv"))
    assert f"已导出 {len(_chain(db, two_villages.v2))} 条记录" in result.output
    verified = run_cli(services, tmp_path, "audit", "verify")
    assert verified.exit_code == 0 and "2 个组织" in verified.output


def test_r_topic_8_organisations_do_not_wait_for_each_other(db, services):
    world = build(db)
    holder = services.sessions()
    audit.lock(holder, world.v1)  # another transaction is changing a topic of 东风村 and has not committed yet
    try:
        lock = holder.execute(text(
            "SELECT classid::bigint, objid::bigint, objsubid FROM pg_locks WHERE locktype = 'advisory' "
            "AND pid = pg_backend_pid()")).all()
        assert lock == [(audit.AUDIT_LOCK_CLASS, world.v1, 2)]  # the two-int key: (class, organisation)
        other, other_outcome = _propose_in_thread(services, "u-wang", "红旗村修水渠")
        other.join(10)
        assert not other.is_alive() and other_outcome == {"number": "2026-001"}  # 红旗村 did not wait
        same, same_outcome = _propose_in_thread(services, "u-zhang", "东风村修路")
        same.join(1.5)
        assert same.is_alive() and same_outcome == {}  # 东风村 waits for its own lock
        waiting = db.execute(text(
            "SELECT classid::bigint, objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).all()
        assert waiting == [(audit.AUDIT_LOCK_CLASS, world.v1)]
        db.rollback()
    finally:
        holder.rollback()
        holder.close()
    same.join(10)
    assert not same.is_alive() and same_outcome == {"number": "2026-001"}
    assert audit.verify(db).ok


def test_r_topic_2_same_text_in_two_organisations_at_once_is_refused_once(db, services):
    world = build(db)
    first = services.sessions()
    office = who(first, "c-t1")  # the township convenor may register topics in both villages
    topics.register(first, first.get(Organisation, world.v1), "两村共修水渠", source=TopicSource.OPEN_CALL,
                    actor=office, now=NOW, settings=services.settings)
    outcome: dict[str, str] = {}

    def twin() -> None:
        with services.sessions() as session:
            try:
                topics.register(session, session.get(Organisation, world.v2), "两村共修水渠",
                                source=TopicSource.OPEN_CALL, actor=who(session, "c-t1"), now=NOW,
                                settings=services.settings)
                session.commit()
                outcome["ok"] = "registered"
            except DomainError as exc:
                session.rollback()
                outcome["refused"] = exc.reply

    thread = threading.Thread(target=twin, daemon=True)
    try:
        thread.start()
        thread.join(1.5)
        assert thread.is_alive()  # 红旗村's lock is free: it waits on the unique key of the uncommitted twin
        first.commit()
    finally:
        first.close()
    thread.join(10)
    assert outcome == {"refused": "今天已经提过这个议题了。发送“我的议题”查看进展。"}
    assert audit.verify(db).ok


def _my_chain_locks(db, org_id: int) -> int:
    return db.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                          "AND classid = :cls AND objid = :org"), {"cls": audit.AUDIT_LOCK_CLASS, "org": org_id})


def test_r_topic_8_chain_lock_taken_once_per_transaction_and_again_after_it_ends(db):
    sent: list[str] = []

    def note(conn, cursor, statement, *args):  # noqa: ANN001, ANN202
        if "pg_advisory_xact_lock" in statement:
            sent.append(statement)

    engine = db.get_bind()
    sa_event.listen(engine, "before_cursor_execute", note)
    try:
        audit.lock(db, 4242)
        audit.lock(db, 4242)  # remembered: no second statement
    finally:
        sa_event.remove(engine, "before_cursor_execute", note)
    assert len(sent) == 1
    assert _my_chain_locks(db, 4242) == 1
    db.commit()  # the transaction's locks are gone with it
    assert _my_chain_locks(db, 4242) == 0
    audit.lock(db, 4242)
    assert _my_chain_locks(db, 4242) == 1
    db.rollback()
    audit.lock_all(db, [4243, 4242])
    assert _my_chain_locks(db, 4242) == 1 and _my_chain_locks(db, 4243) == 1
    db.rollback()
