"""Each [rules] setting below proved used: set to another value than its default, the behaviour follows it at
its edge (a default hard-coded in the code breaks these tests)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from domain.errors import Conflict, InvalidInput
from domain.meetings import cadence, sweeps
from domain.meetings import schedule as meetings
from domain.meetings.schedule import NoticeTooShort
from domain.notices import broadcasts as notices
from domain.notices.outbox import create_notice, public_window_end
from domain.notices.texts import full_text
from domain.topics import operations as topics
from domain.topics import results as result_notices
from models import Audience, MeetingStatus, Notice, NoticeKind, Topic, TopicState
from tests.test_notices_helpers import T0, event, meeting, topic, world
from tests.topic_world import NOW, advance, build, new_topic, who

CST = ZoneInfo("Asia/Shanghai")


def _rules(services, **rules):
    return services.settings.with_overrides(rules=rules)


# ---- R-TOPIC-6: topic_notice_days ----------------------------------------------------------------
def test_r_topic_6_sweep_follows_topic_notice_days_late_only_under_ten_days(db, services):
    s = _rules(services, topic_notice_days=10)
    w = world(db)
    on_time = topic(db, w["v1"], w["fans"][0], seq=1)
    late = topic(db, w["v1"], w["fans"][1], seq=2)
    meeting(db, w["v1"], T0 + timedelta(days=10), topic_row=on_time)  # 11月30日 10:00
    meeting(db, w["v1"], T0 + timedelta(days=10) - timedelta(minutes=1), topic_row=late)
    db.commit()
    made = sweeps.publish_topic_notices(db, T0, s)
    db.commit()
    assert len(made) == 2
    first = next(n for n in made if n.topic_id == on_time.id)
    # 10 full local days from 11月20日: in force until 12月1日 00:00, past the meeting (11月30日 10:00)
    assert first.public_until == datetime(2025, 12, 1, 0, 0, tzinfo=CST)
    assert "公示期：11月20日至11月30日" in full_text(first, w["v1"], s.tz)
    [warning] = db.scalars(select(Notice).where(Notice.kind == NoticeKind.REMINDER)).all()
    assert warning.topic_id == late.id and "2025-002 公示不足10天" in warning.title


def test_r_topic_6_scheduled_notice_public_days_follow_topic_notice_days(db, services):
    s = _rules(services, topic_notice_days=3)
    build(db)
    researched = advance(db, services, new_topic(db, services), TopicState.RESEARCHED)
    with pytest.raises(NoticeTooShort, match="公示满 3 天"):
        meetings.schedule_meeting(db, researched, NOW + timedelta(days=3) - timedelta(minutes=1), "村委会议室",
                                  who(db, "c-v1"), NOW, settings=s)
    db.rollback()
    made = meetings.schedule_meeting(db, researched, NOW + timedelta(days=3), "村委会议室", who(db, "c-v1"), NOW,
                                     settings=s)
    db.commit()
    [notice] = db.scalars(select(Notice).where(Notice.kind == NoticeKind.TOPIC_NOTICE)).all()
    assert notice.meeting_id == made.id and notice.public_from == NOW
    assert notice.public_until == public_window_end(NOW, 3, services.settings.tz)  # 3 whole local days, not 7


def test_r_topic_6_topic_notice_withdrawal_minimum_follows_topic_notice_days(db, services):
    s = _rules(services, topic_notice_days=10)
    build(db)
    researched = advance(db, services, new_topic(db, services), TopicState.RESEARCHED)
    meetings.schedule_meeting(db, researched, NOW + timedelta(days=10), "村委会议室", who(db, "c-v1"), NOW, settings=s)
    db.commit()
    [notice] = db.scalars(select(Notice).where(Notice.kind == NoticeKind.TOPIC_NOTICE)).all()
    org, convenor = researched.org, who(db, "c-v1")
    end = datetime(2026, 3, 13, 0, 0, tzinfo=CST)  # 10 full local days from 3月2日 10:00
    with pytest.raises(Conflict, match="至少要公示10天"):
        notices.close_notice(db, person=convenor, org=org, seq=notice.seq, now=end - timedelta(seconds=1), settings=s)
    db.rollback()
    closed = notices.close_notice(db, person=convenor, org=org, seq=notice.seq, now=end, settings=s)
    db.commit()
    assert closed.closed_at == end


# ---- R-RES-2: result_notice_days -----------------------------------------------------------------
def _result(db, w, seq, at):
    made = topic(db, w["v1"], w["fans"][0], seq=seq, state=TopicState.CONSENSUS, result_note="同意硬化。",
                 title=f"议题{seq}")
    event(db, made, TopicState.CONSENSUS, at)
    return made


def test_r_res_2_result_notice_window_follows_result_notice_days(db, services):
    s = _rules(services, result_notice_days=10)
    w = world(db)
    inside = _result(db, w, 1, T0 - timedelta(days=10))  # recorded exactly 10 days ago: still published
    _result(db, w, 2, T0 - timedelta(days=10) - timedelta(minutes=1))  # a minute earlier: too old
    db.commit()
    [notice] = result_notices.publish_results(db, T0, s)
    db.commit()
    assert notice.topic_id == inside.id and notice.kind is NoticeKind.RESULT_NOTICE
    assert notice.public_until == datetime(2025, 12, 1, 0, 0, tzinfo=CST)  # 10 full local days
    assert "公示期：11月20日至11月30日" in full_text(notice, w["v1"], s.tz)


def test_r_res_2_result_notice_withdrawal_minimum_follows_result_notice_days(db, services):
    s = _rules(services, result_notice_days=3)
    w = world(db)
    _result(db, w, 1, T0 - timedelta(hours=1))
    db.commit()
    [notice] = result_notices.publish_results(db, T0, s)
    db.commit()
    end = datetime(2025, 11, 24, 0, 0, tzinfo=CST)  # 3 full local days from 11月20日 10:00
    with pytest.raises(Conflict, match="至少要公示3天"):
        notices.close_notice(db, person=w["convenor"], org=w["v1"], seq=notice.seq, now=end - timedelta(seconds=1),
                             settings=s)
    db.rollback()
    closed = notices.close_notice(db, person=w["convenor"], org=w["v1"], seq=notice.seq, now=end, settings=s)
    db.commit()
    assert closed.closed_at == end


def test_r_topic_6_withdrawal_of_a_plain_topic_notice_follows_the_setting(db, services):
    s = _rules(services, topic_notice_days=2)
    w = world(db)
    made = create_notice(db, org=w["v1"], kind=NoticeKind.TOPIC_NOTICE, audience=Audience.FOLLOWERS, title="议题公示",
                         body="……", now=T0, public_days=10)
    db.commit()
    end = datetime(2025, 11, 23, 0, 0, tzinfo=CST)  # 2 full local days from 11月20日 10:00
    with pytest.raises(Conflict, match="至少要公示2天"):
        notices.close_notice(db, person=w["convenor"], org=w["v1"], seq=made.seq, now=end - timedelta(seconds=1),
                             settings=s)
    db.rollback()
    assert notices.close_notice(db, person=w["convenor"], org=w["v1"], seq=made.seq, now=end, settings=s).closed_at


# ---- R-MEET-1: the cadence settings --------------------------------------------------------------
def _held(db, org, at):
    done = meeting(db, org, at, title="上次会议")
    done.status = MeetingStatus.CLOSED
    db.commit()


def _for(made, org):
    return [n for n in made if n.org_id == org.id]


def _reminded_at_due(db, s, org, due: datetime) -> None:
    """Quiet until the lead time before ``due``, then 快到期, then 超期 exactly at ``due``."""
    lead = timedelta(days=s.scheduler.cadence_lead_days)
    assert _for(cadence.watch_cadence(db, due - lead - timedelta(minutes=1), s), org) == []
    db.commit()
    [soon] = _for(cadence.watch_cadence(db, due - lead, s), org)
    db.commit()
    assert soon.title == "协商议事会议快到期了" and f"应在{due.month}月{due.day}日前再开一次" in soon.body
    assert _for(cadence.watch_cadence(db, due - timedelta(minutes=1), s), org) == []
    db.commit()
    [late] = _for(cadence.watch_cadence(db, due, s), org)
    db.commit()
    assert late.title == "协商议事会议已超期" and "已经超期" in late.body


def test_r_meet_1_village_interval_follows_village_meeting_interval_months(db, services):
    s = _rules(services, village_meeting_interval_months=3)
    w = world(db)
    _held(db, w["v1"], datetime(2025, 9, 21, 10, 0, tzinfo=CST))
    _reminded_at_due(db, s, w["v1"], datetime(2025, 12, 21, 10, 0, tzinfo=CST))  # 3 months on, not 2


def test_r_meet_1_township_interval_follows_township_meeting_interval_months(db, services):
    s = _rules(services, township_meeting_interval_months=4)
    w = world(db)
    _held(db, w["town"], datetime(2025, 8, 1, 10, 0, tzinfo=CST))
    _reminded_at_due(db, s, w["town"], datetime(2025, 12, 1, 10, 0, tzinfo=CST))  # 4 months on, not 6


def test_r_meet_1_meetings_min_per_year_shortens_the_township_interval(db, services):
    s = _rules(services, meetings_min_per_year=4)  # at least every 3 months, though township_… says 6
    w = world(db)
    _held(db, w["town"], datetime(2025, 9, 1, 10, 0, tzinfo=CST))
    _reminded_at_due(db, s, w["town"], datetime(2025, 12, 1, 10, 0, tzinfo=CST))


def test_r_meet_1_meetings_min_per_year_zero_lifts_the_twice_a_year_floor(db, services):
    s = _rules(services, meetings_min_per_year=0, village_meeting_interval_months=9)
    w = world(db)
    _held(db, w["v1"], datetime(2025, 3, 1, 10, 0, tzinfo=CST))
    _reminded_at_due(db, s, w["v1"], datetime(2025, 12, 1, 10, 0, tzinfo=CST))  # 9 months on, not capped at 6


# ---- topic_max_chars -----------------------------------------------------------------------------
def test_topic_max_chars_follows_the_setting_at_its_edge(db, services):
    s = _rules(services, topic_max_chars=20)
    build(db)
    fits = "村东头的路坑坑洼洼，雨天一身泥，请尽快修好"[:20]
    too_long = "村口的路灯坏了三盏，晚上回家看不见路，请修一下"[:21]
    assert (len(fits), len(too_long)) == (20, 21)
    made = topics.propose(db, who(db, "u-zhang"), fits, NOW, settings=s)
    db.commit()
    assert made.title == fits
    with pytest.raises(InvalidInput, match="21 字.*请控制在 20 字以内"):
        topics.propose(db, who(db, "u-zhang"), too_long, NOW, settings=s)
    db.rollback()
    assert len(db.scalars(select(Topic)).all()) == 1



def test_r_topic_6_next_step_text_names_the_notice_days():
    from domain.topics.text import waiting

    assert "至少公示 10 天" in waiting(TopicState.RESEARCHED, 10)
    assert "至少公示 7 天" in waiting(TopicState.RESEARCHED, 7)
