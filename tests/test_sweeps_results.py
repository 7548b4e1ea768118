"""The result sweeps: result and implementation notices (R-RES-2), the next meeting's implementation summary
(R-RES-3), the cadence watchdog (R-MEET-1) and poll closing; each run twice makes nothing twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from domain.meetings import cadence, sweeps
from domain.notices import broadcasts as notices
from domain.notices.outbox import push_to
from domain.notices.texts import full_text
from domain.topics import results as result_notices
from models import Delivery, MeetingStatus, Notice, NoticeKind, TopicCosigner, TopicState
from tests.test_notices_helpers import T0, event, meeting, topic, world

CST = ZoneInfo("Asia/Shanghai")


def _recipients(db, notice) -> set[str]:
    return set(db.scalars(select(Delivery.openid).where(Delivery.notice_id == notice.id)))


def _v1_followers() -> set[str]:
    return {"conv-1", "member-1", "fan-1", "fan-2", "fan-3"}


# ---- R-RES-2 --------------------------------------------------------------------------------------
def _result_setup(db, state=TopicState.CONSENSUS, at=T0 - timedelta(hours=1)):
    w = world(db)
    t = topic(db, w["v1"], w["fans"][0], state=state, result_note="同意硬化，年底前完工。")
    db.add(TopicCosigner(topic_id=t.id, person_id=w["fans"][1].id))
    event(db, t, state, at)
    db.commit()
    return w, t


def test_r_res_2_result_is_publicly_noticed_for_7_days_and_the_proposers_get_feedback(db, services):
    w, t = _result_setup(db)
    [notice] = result_notices.publish_results(db, T0, services.settings)
    db.commit()
    assert result_notices.publish_results(db, T0, services.settings) == []
    assert notice.kind is NoticeKind.RESULT_NOTICE and "协商结果：达成共识" in notice.body
    assert notice.public_until == datetime(2025, 11, 28, 0, 0, tzinfo=CST)  # 7 full local days
    assert "公示期：11月20日至11月27日" in full_text(notice, w["v1"], services.settings.tz)
    assert _recipients(db, notice) == _v1_followers()
    [feedback] = db.scalars(select(Notice).where(Notice.kind == NoticeKind.FEEDBACK)).all()
    assert _recipients(db, feedback) == {"fan-1", "fan-2"} and "达成共识" in feedback.body


def test_r_res_2_implementation_gets_its_own_notice(db, services):
    w, t = _result_setup(db)
    result_notices.publish_results(db, T0, services.settings)
    t.state = TopicState.IMPLEMENTED
    event(db, t, TopicState.IMPLEMENTED, T0 + timedelta(days=20))
    db.commit()
    [done] = result_notices.publish_results(db, T0 + timedelta(days=20), services.settings)
    assert done.title.endswith("落实情况") and "协商结果：已落实" in done.body


def test_r_res_2_feedback_already_pushed_at_the_transition_is_not_repeated(db, services):
    w, t = _result_setup(db)
    push_to(db, [w["fans"][0]], org=w["v1"], title="议题进展", body="达成共识", now=T0 - timedelta(hours=1),
            topic=t, source_key="topic:x")
    db.commit()
    result_notices.publish_results(db, T0, services.settings)
    assert len(db.scalars(select(Notice).where(Notice.kind == NoticeKind.FEEDBACK)).all()) == 1


def test_r_res_2_results_recorded_long_ago_are_not_published_now(db, services):
    _result_setup(db, at=T0 - timedelta(days=30))
    assert result_notices.publish_results(db, T0, services.settings) == []


def test_r_res_2_window_edges_in_asia_shanghai_then_closed_and_convenor_told(db, services):
    w, t = _result_setup(db)
    [notice] = result_notices.publish_results(db, T0, services.settings)
    db.commit()
    last_second = datetime(2025, 11, 27, 23, 59, 59, tzinfo=CST)
    midnight = datetime(2025, 11, 28, 0, 0, tzinfo=CST)  # = 2025-11-27 16:00 UTC
    assert [n.id for n, _ in notices.in_force(db, w["fans"][2], last_second)] == [notice.id]
    assert notices.in_force(db, w["fans"][2], midnight) == []
    assert result_notices.close_expired(db, last_second, services.settings) == []
    [closed] = result_notices.close_expired(db, midnight, services.settings)
    db.commit()
    assert closed.id == notice.id and closed.closed_at == midnight
    [told] = db.scalars(select(Notice).where(Notice.kind == NoticeKind.REMINDER)).all()
    assert _recipients(db, told) == {"conv-1"} and "公示期已于11月27日结束" in told.body
    assert result_notices.close_expired(db, midnight + timedelta(hours=1), services.settings) == []


# ---- R-RES-3 --------------------------------------------------------------------------------------
def test_r_res_3_next_meeting_is_told_what_was_implemented_since_the_last(db, services):
    w = world(db)
    old = meeting(db, w["v1"], T0 - timedelta(days=60), title="上次会议")
    old.status = MeetingStatus.CLOSED
    before = topic(db, w["v1"], w["fans"][0], seq=1, state=TopicState.IMPLEMENTED, title="修路灯")
    event(db, before, TopicState.IMPLEMENTED, T0 - timedelta(days=90))
    since = topic(db, w["v1"], w["fans"][0], seq=2, state=TopicState.IMPLEMENTED, title="清理河道")
    event(db, since, TopicState.IMPLEMENTED, T0 - timedelta(days=10))
    topic(db, w["v1"], w["fans"][1], seq=3, state=TopicState.IMPLEMENTING, title="建文化广场")
    nxt = meeting(db, w["v1"], T0 + timedelta(days=10), attendees=[w["member"], w["fans"][2]])
    meeting(db, w["v2"], T0 + timedelta(days=10), title="红旗村会议")  # nothing to report there
    db.commit()
    [summary] = sweeps.summarise_implementation(db, T0, services.settings)
    db.commit()
    assert sweeps.summarise_implementation(db, T0, services.settings) == []
    assert summary.meeting_id == nxt.id and _recipients(db, summary) == {"member-1", "fan-3"}
    assert "已落实：2025-002 清理河道" in summary.body and "落实中：2025-003 建文化广场" in summary.body
    assert "修路灯" not in summary.body


# ---- R-MEET-1 -------------------------------------------------------------------------------------
def test_r_meet_1_convenor_reminded_before_the_council_is_due_then_overdue_with_the_township(db, services):
    w = world(db)
    held = meeting(db, w["v1"], T0 - timedelta(days=55), title="上次会议")
    held.status = MeetingStatus.CLOSED
    db.commit()
    s = services.settings
    [soon] = cadence.watch_cadence(db, T0, s)
    db.commit()
    assert soon.org_id == w["v1"].id and _recipients(db, soon) == {"conv-1"}
    assert "应在11月26日前再开一次" in soon.body and "上次会议是9月26日" in soon.body
    assert cadence.watch_cadence(db, T0 + timedelta(days=1), s) == []
    made = cadence.watch_cadence(db, T0 + timedelta(days=70), s)
    db.commit()
    [late] = [n for n in made if n.org_id == w["v1"].id]
    assert [n.org_id for n in made if n is not late] == [w["v2"].id]  # 红旗村 never met: overdue too
    assert "已经超期" in late.body and _recipients(db, late) == {"conv-1", "conv-town"}
    assert cadence.watch_cadence(db, T0 + timedelta(days=71), s) == []
    meeting(db, w["v1"], T0 + timedelta(days=80))  # the convenor arranged one: quiet
    db.commit()
    assert cadence.watch_cadence(db, T0 + timedelta(days=75), s) == []


def test_r_meet_1_township_every_six_months_and_new_village_not_yet_due(db, services):
    w = world(db)
    held = meeting(db, w["town"], T0 - timedelta(days=170), title="镇协商会")
    held.status = MeetingStatus.CLOSED
    meeting(db, w["v1"], T0 + timedelta(days=5))
    db.commit()
    made = cadence.watch_cadence(db, T0, services.settings)
    assert [n.org_id for n in made] == [w["town"].id]  # 红旗村 was created 20 days ago: due in 40 days


def test_r_meet_1_months_add_up_on_the_calendar():
    tz = CST
    assert cadence.add_months(datetime(2025, 12, 31, 10, tzinfo=tz), 2, tz) == datetime(2026, 2, 28, 10, tzinfo=tz)
    assert cadence.add_months(datetime(2025, 8, 15, 10, tzinfo=tz), 6, tz) == datetime(2026, 2, 15, 10, tzinfo=tz)


# ---- polls ----------------------------------------------------------------------------------------
def test_poll_closing_sweep_runs(db, services):
    world(db)
    assert sweeps.close_polls(db, T0, services.settings) == []
