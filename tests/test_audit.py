"""The hash-chained audit trail (R-TOPIC-8): verify end to end, detect tampering, export CSV."""

from __future__ import annotations

import csv
import threading

import pytest
from sqlalchemy import select, text

from domain.topics import audit
from domain.topics import operations as topics
from models import TopicEvent, TopicState
from tests.topic_world import NOW, advance, build, new_topic, run_cli, who


@pytest.fixture
def trail(db, services):
    build(db)
    first = new_topic(db, services)
    topics.cosign(db, first, who(db, "u-li"), NOW)
    second = new_topic(db, services, "=HYPERLINK(\"http://x\")村口装路灯")
    advance(db, services, first, TopicState.APPROVED)
    topics.withdraw(db, second, who(db, "u-zhang"), NOW, "-1+1 已经有人修了")
    db.commit()
    return first, second


def _ids(db):
    return list(db.scalars(select(TopicEvent.id).order_by(TopicEvent.id)))


def test_r_topic_8_intact_chain_verifies(db, trail):
    report = audit.verify(db)
    assert report.ok and report.checked == len(_ids(db)) and report.topics == 2
    first = db.scalar(select(TopicEvent).order_by(TopicEvent.id))
    assert first.prev_hash == audit.GENESIS and audit.event_hash(first) == first.hash


def test_r_topic_8_edited_row_detected(db, trail):
    target = _ids(db)[3]
    db.execute(text("UPDATE topic_events SET reason = '改过的理由' WHERE id = :id"), {"id": target})
    db.commit()
    report = audit.verify(db)
    assert not report.ok and report.problem_event_id == target and "改动过" in report.problem


def test_r_topic_8_deleted_row_detected(db, trail):
    ids = _ids(db)
    db.execute(text("DELETE FROM topic_events WHERE id = :id"), {"id": ids[2]})
    db.commit()
    report = audit.verify(db)
    assert not report.ok and report.problem_event_id == ids[3] and "删除" in report.problem


def test_r_topic_8_deleted_last_row_detected(db, trail):
    db.execute(text("DELETE FROM topic_events WHERE id = :id"), {"id": _ids(db)[-1]})
    db.commit()
    report = audit.verify(db)
    assert not report.ok and "最后一条记录" in report.problem


def test_r_topic_8_reordered_rows_detected(db, trail):
    a, b = _ids(db)[4:6]
    cols = ["topic_id", "org_id", "actor_id", "on_behalf_of_id", "at", "from_state", "to_state", "action", "reason",
            "prev_hash", "hash"]
    rows = {r.id: r._mapping for r in db.execute(text(f"SELECT id, {', '.join(cols)} FROM topic_events "
                                                      f"WHERE id IN ({a}, {b})"))}
    assignments = ", ".join(f"{c} = :{c}" for c in cols)
    db.execute(text("UPDATE topic_events SET hash = 'parked' WHERE id = :id"), {"id": a})  # free the unique hash
    db.execute(text(f"UPDATE topic_events SET {assignments} WHERE id = :id"), {**rows[a], "id": b})
    db.execute(text(f"UPDATE topic_events SET {assignments} WHERE id = :id"), {**rows[b], "id": a})
    db.commit()
    report = audit.verify(db)
    assert not report.ok and report.problem_event_id == a


def test_r_topic_8_state_edited_behind_the_trail_detected(db, trail):
    first, _ = trail
    db.execute(text("UPDATE topics SET state = 'evaluated', version = version + 1 WHERE id = :id"), {"id": first.id})
    db.commit()
    report = audit.verify(db)
    assert not report.ok and "状态和记录不一致" in report.problem


def test_r_topic_8_concurrent_appends_keep_one_chain(db, services):
    build(db)
    topic = new_topic(db, services)
    signers = [f"u-extra-{n}" for n in range(6)]
    from tests.topic_world import person

    for openid in signers:
        person(db, openid, openid, topic.org)
    db.commit()
    barrier = threading.Barrier(len(signers))

    def sign(openid: str) -> None:
        with services.sessions() as session:
            from models import Topic

            mine = session.get(Topic, topic.id)
            signer = who(session, openid)
            barrier.wait(5)
            topics.cosign(session, mine, signer, NOW)
            session.commit()

    threads = [threading.Thread(target=sign, args=(o,)) for o in signers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(_ids(db)) == 1 + len(signers)
    assert audit.verify(db).ok


def test_r_topic_8_cli_verify_reports_and_fails_on_tampering(db, services, trail, tmp_path):
    ok = run_cli(services, tmp_path, "audit", "verify")
    assert ok.exit_code == 0 and "审计记录完好" in ok.output
    db.execute(text("UPDATE topic_events SET actor_id = NULL WHERE id = :id"), {"id": _ids(db)[1]})
    db.commit()
    broken = run_cli(services, tmp_path, "audit", "verify")
    assert broken.exit_code == 1 and f"记录 #{_ids(db)[1]}" in broken.output


def test_r_topic_8_csv_export(db, services, trail, tmp_path):
    out = tmp_path / "audit.csv"
    result = run_cli(services, tmp_path, "audit", "export", "--org", "t1", "--out", str(out))
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: opens in Excel with Chinese intact
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == audit.CSV_HEADER and len(rows) == 1 + len(_ids(db))
    first = rows[1]
    assert first[1:4] == ["v1", "东风村", "2026-001"] and first[5] == "2026-03-02 10:00:00"
    assert first[6] == "登记" and first[8] == "已登记" and first[9] == "张三"
    assert any(r[6] == "批准" and r[9] == "镇党委" for r in rows)
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in rows[1:] for cell in r)
    assert any(r[4].startswith("'=HYPERLINK") for r in rows[1:]) and any(r[11].startswith("'-1+1") for r in rows)
    only_v2 = run_cli(services, tmp_path, "audit", "export", "--org", "v2", "--out", str(tmp_path / "v2.csv"))
    assert "已导出 0 条记录" in only_v2.output
