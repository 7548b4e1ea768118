"""Scheduling a topic's meeting: research first (R-TOPIC-5), public notice N days before (R-TOPIC-6)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from domain.errors import InvalidInput, NotFound, PermissionDenied
from domain.meetings import schedule as meetings
from domain.meetings.schedule import NoticeTooShort
from domain.notices.texts import full_text
from domain.topics.states import IllegalTransition
from models import (
    AttendeeKind,
    Audience,
    Delivery,
    Meeting,
    MeetingStatus,
    Notice,
    NoticeKind,
    Person,
    TopicState,
)
from tests.topic_world import NOW, advance, build, named, new_topic, notices_to, who


@pytest.fixture
def researched(db, services):
    build(db)
    return advance(db, services, new_topic(db, services), TopicState.RESEARCHED)


def _schedule(db, services, topic, starts_at, openid="c-v1", settings=None, **kw):
    made = meetings.schedule_meeting(db, topic, starts_at, kw.pop("place", "村委会议室"), who(db, openid), NOW,
                                     settings=settings or services.settings, **kw)
    db.commit()
    return made


def test_r_topic_6_meeting_less_than_seven_days_ahead_refused(db, services, researched):
    with pytest.raises(NoticeTooShort, match="公示满 7 天") as caught:
        _schedule(db, services, researched, NOW + timedelta(days=7) - timedelta(minutes=1))
    assert "3月9日 10:00" in caught.value.reply  # the earliest allowed time, in Asia/Shanghai
    db.rollback()
    assert db.scalar(select(Meeting.id)) is None and researched.state is TopicState.RESEARCHED
    made = _schedule(db, services, researched, NOW + timedelta(days=7))
    assert made.status is MeetingStatus.SCHEDULED


def test_r_topic_6_period_is_a_setting(db, services, researched):
    stricter = services.settings.with_overrides(rules={"topic_notice_days": 10})
    with pytest.raises(NoticeTooShort, match="公示满 10 天"):
        _schedule(db, services, researched, NOW + timedelta(days=8), settings=stricter)


def test_r_topic_6_schedule_writes_meeting_attendees_and_public_notice(db, services, researched):
    chosen = [named(db, "孙大爷")] + [who(db, f"s-v1-{n}") for n in range(1, 10)]  # 10 for this topic
    starts = NOW + timedelta(days=8)
    made = _schedule(db, services, researched, starts, material="修路方案（草案）",
                     stakeholder_ids=[p.id for p in chosen])
    assert researched.state is TopicState.NOTICED and researched.noticed_at == NOW
    kinds = {a.person.real_name: a.kind for a in made.attendees}
    assert kinds == {**{f"东风成员{n}": AttendeeKind.MEMBER for n in range(1, 11)},
                     **{p.real_name: AttendeeKind.STAKEHOLDER for p in chosen}}  # named ones replace the defaults
    notice = db.scalar(select(Notice).where(Notice.kind == NoticeKind.TOPIC_NOTICE))
    assert notice.source_key == f"topic-notice:{researched.id}:{made.id}"
    assert notice.audience is Audience.FOLLOWERS and notice.meeting_id == made.id
    assert notice.public_from == NOW and notice.public_until >= starts
    shown = full_text(notice, notice.org, services.settings.tz)
    for words in ("修一下村东头的路", "3月10日（周二）10:00", "村委会议室", "有意见建议", "议题 2026-001"):
        assert words in shown, words
    assert shown.count("公示期") == 1 and shown.count("议题公示") == 1
    readers = set(db.scalars(select(Person.openid).join(Delivery, Delivery.person_id == Person.id)
                             .where(Delivery.notice_id == notice.id)))
    assert {"u-zhang", "u-li", "c-v1"} <= readers and "u-wang" not in readers
    assert any("协商会议定于" in body for _, body in notices_to(db, "u-zhang", researched))


def test_r_role_4_only_the_villages_convenor_schedules(db, services, researched):
    with pytest.raises(PermissionDenied, match="东风村的召集人"):
        _schedule(db, services, researched, NOW + timedelta(days=8), openid="c-v2")


@pytest.mark.parametrize("starts, place, error", [
    (NOW.replace(tzinfo=None) + timedelta(days=8), "村委会议室", InvalidInput),
    (NOW + timedelta(days=8), "  ", InvalidInput),
    (NOW + timedelta(days=8), "会" * 201, InvalidInput),
    (NOW + timedelta(days=400), "村委会议室", InvalidInput),
])
def test_bad_time_or_place_refused(db, services, researched, starts, place, error):
    with pytest.raises(error):
        _schedule(db, services, researched, starts, place=place)


def test_unknown_stakeholder_refused(db, services, researched):
    with pytest.raises(NotFound):
        _schedule(db, services, researched, NOW + timedelta(days=8), stakeholder_ids=[99999])
    db.rollback()
    assert researched.state is TopicState.RESEARCHED


def test_r_topic_6_reschedule_bumps_version_and_renotices(db, services, researched):
    made = _schedule(db, services, researched, NOW + timedelta(days=8))
    later = NOW + timedelta(days=1)
    with pytest.raises(NoticeTooShort):
        meetings.reschedule_meeting(db, made, later + timedelta(days=6), "", who(db, "c-v1"), later,
                                    settings=services.settings)
    db.rollback()
    meetings.reschedule_meeting(db, made, later + timedelta(days=9), "村文化礼堂", who(db, "c-v1"), later,
                                settings=services.settings, reason="撞上农忙")
    db.commit()
    assert (made.version, made.place, made.starts_at) == (2, "村文化礼堂", later + timedelta(days=9))
    topic_notices = db.scalars(select(Notice).where(Notice.kind == NoticeKind.TOPIC_NOTICE)
                               .order_by(Notice.id)).all()
    assert [n.closed_at for n in topic_notices] == [later, None]
    assert topic_notices[1].source_key.endswith(":v2") and "会议改期" in topic_notices[1].body
    assert researched.state is TopicState.NOTICED and researched.noticed_at == later
    assert any("改期" in body and "撞上农忙" in body for _, body in notices_to(db, "u-zhang", researched))


def test_cancel_meeting_returns_topic_to_researched_and_tells_followers(db, services, researched):
    made = _schedule(db, services, researched, NOW + timedelta(days=8))
    with pytest.raises(InvalidInput):
        meetings.cancel_meeting(db, made, who(db, "c-v1"), NOW, settings=services.settings, reason="")
    db.rollback()
    meetings.cancel_meeting(db, made, who(db, "c-v1"), NOW, settings=services.settings, reason="方案要调整")
    db.commit()
    assert made.status is MeetingStatus.CANCELLED and researched.state is TopicState.RESEARCHED
    cancel = db.scalar(select(Notice).where(Notice.source_key == f"meeting-cancel:{made.id}"))
    assert "取消" in cancel.body and "方案要调整" in cancel.body
    with pytest.raises(IllegalTransition, match="已经取消"):
        meetings.reschedule_meeting(db, made, NOW + timedelta(days=9), "", who(db, "c-v1"), NOW,
                                    settings=services.settings)
    db.rollback()
    again = _schedule(db, services, researched, NOW + timedelta(days=10))
    assert again.id != made.id and researched.state is TopicState.NOTICED


def test_topic_meeting_lookup(db, services, researched):
    with pytest.raises(NotFound):
        meetings.topic_meeting(db, researched)
    made = _schedule(db, services, researched, datetime(2026, 3, 12, 1, 0, tzinfo=NOW.tzinfo))
    assert meetings.topic_meeting(db, researched).id == made.id


def test_r_meet_4_stakeholders_default_to_the_organisations_representatives(db, services, researched):
    made = _schedule(db, services, researched, NOW + timedelta(days=8))
    kinds = [a.kind for a in made.attendees]
    assert kinds.count(AttendeeKind.MEMBER) == 10 and kinds.count(AttendeeKind.STAKEHOLDER) == 10


def test_r_meet_4_schedule_refused_below_half_stakeholders_and_allowed_at_exactly_half(db, services, researched):
    nine = [who(db, f"s-v1-{n}").id for n in range(1, 10)]
    with pytest.raises(InvalidInput, match="利益相关方代表 9 人，只占应到 19 人的 47%") as caught:
        _schedule(db, services, researched, NOW + timedelta(days=8), stakeholder_ids=nine)
    assert "R-MEET-4：至少 10 人" in caught.value.reply
    db.rollback()
    assert db.scalar(select(Meeting.id)) is None
    made = _schedule(db, services, researched, NOW + timedelta(days=8), stakeholder_ids=nine + [who(db, "s-v1-10").id])
    assert len(made.attendees) == 20


def test_r_meet_4_schedule_share_follows_the_setting(db, services, researched):
    five = [who(db, f"s-v1-{n}").id for n in range(1, 6)]
    third = services.settings.with_overrides(rules={"stakeholder_min_ratio": "1/3"})
    with pytest.raises(InvalidInput, match="R-MEET-4"):
        _schedule(db, services, researched, NOW + timedelta(days=8), stakeholder_ids=five[:4], settings=third)
    db.rollback()
    made = _schedule(db, services, researched, NOW + timedelta(days=8), stakeholder_ids=five, settings=third)
    assert len(made.attendees) == 15  # 5 of 15 is exactly 1/3


def test_r_org_4_schedule_refused_for_a_council_of_nine_and_the_minimum_is_a_setting(db, services, researched):
    from domain.orgs import people
    from models import Organisation, Role

    village = db.get(Organisation, researched.org_id)
    people.revoke_role(db, who(db, "m-v1-10"), village, Role.MEMBER)
    db.commit()
    with pytest.raises(InvalidInput, match="R-ORG-4.*成员只有 9 人，少于 10 人"):
        _schedule(db, services, researched, NOW + timedelta(days=8))
    db.rollback()
    nine_ok = services.settings.with_overrides(rules={"council_min_members": 9})
    assert _schedule(db, services, researched, NOW + timedelta(days=8), settings=nine_ok).id


def test_r_org_4_schedule_refused_when_public_servants_pass_a_fifth(db, services, researched):
    from domain.orgs import people
    from models import Organisation, Role

    village = db.get(Organisation, researched.org_id)
    for n in range(1, 4):  # 3 of 10 members are public servants: more than 1/5
        people.revoke_role(db, who(db, f"m-v1-{n}"), village, Role.MEMBER)
        people.grant_role(db, who(db, f"m-v1-{n}"), village, Role.MEMBER, public_servant=True)
    db.commit()
    with pytest.raises(InvalidInput, match="公职人员 3 人"):
        _schedule(db, services, researched, NOW + timedelta(days=8))
