"""Notices read cleanly: title once, window once, 已撤回 for a withdrawn notice, one audience rule and one wording."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from domain.meetings import schedule as meetings
from domain.meetings import sweeps
from domain.notices.outbox import audience_ids, create_notice
from domain.notices.texts import full_text
from domain.orgs import people
from domain.topics import results as result_notices
from domain.votes.audience import eligible_ids
from models import Audience, Delivery, Notice, NoticeKind, Organisation, Person, Role, TopicState
from tests.test_notices_helpers import T0, event, meeting, topic, world
from tests.topic_world import advance, build, new_topic, who

LONG_DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}|\d{4}年")  # the other format the window once used


def _reads_cleanly(text: str, label: str) -> None:
    assert text.count(label) == 1, text
    assert text.count("公示期") == 1 and "公示至" not in text, text
    assert not LONG_DATE.search(text), text


@pytest.fixture
def noticed(db, services):
    build(db)
    researched = advance(db, services, new_topic(db, services), TopicState.RESEARCHED)
    now = datetime.now(UTC)  # the live bot lists what is in force by the real clock
    meetings.schedule_meeting(db, researched, now + timedelta(days=8), "村委会议室", who(db, "c-v1"), now,
                              settings=services.settings)
    db.commit()
    return researched


def test_scheduled_topic_notice_says_its_title_and_window_once(bot, db, noticed):
    listing = bot.send("u-zhang", "通知")
    line = next(x for x in listing.splitlines() if "议题公示" in x)
    assert line.count("议题公示") == 1 and noticed.title in line, listing
    notice = db.scalar(select(Notice).where(Notice.kind == NoticeKind.TOPIC_NOTICE))
    shown = bot.send("u-zhang", f"通知 {notice.seq}")
    _reads_cleanly(shown, "议题公示")
    assert shown.count(noticed.title) == 1 and re.search(r"协商会议：\d+月\d+日（周.）\d\d:\d\d", shown), shown


def test_moved_meeting_notice_reads_cleanly_too(db, services, noticed):
    made = db.scalar(select(Notice).where(Notice.kind == NoticeKind.TOPIC_NOTICE)).meeting_id
    from models import Meeting

    later = datetime.now(UTC) + timedelta(days=1)
    meetings.reschedule_meeting(db, db.get(Meeting, made), later + timedelta(days=9), "", who(db, "c-v1"), later,
                                settings=services.settings)
    db.commit()
    fresh = db.scalars(select(Notice).where(Notice.kind == NoticeKind.TOPIC_NOTICE).order_by(Notice.id.desc())).first()
    shown = full_text(fresh, fresh.org, services.settings.tz)
    _reads_cleanly(shown, "议题公示")
    assert "改期" in shown


def test_swept_topic_and_result_notices_read_cleanly(db, services):
    w = world(db)
    row = topic(db, w["v1"], w["fans"][0], seq=1)
    meeting(db, w["v1"], T0 + timedelta(days=8), topic_row=row)
    db.commit()
    [made] = sweeps.publish_topic_notices(db, T0, services.settings)
    db.commit()
    _reads_cleanly(full_text(made, w["v1"], services.settings.tz), "议题公示")
    done = topic(db, w["v1"], w["fans"][1], seq=2, state=TopicState.CONSENSUS, result_note="一致同意硬化。")
    event(db, done, TopicState.CONSENSUS, T0 - timedelta(days=1))
    db.commit()
    [result] = result_notices.publish_results(db, T0, services.settings)
    db.commit()
    shown = full_text(result, w["v1"], services.settings.tz)
    _reads_cleanly(shown, "结果公示")
    assert "公示期：11月20日至11月27日" in shown


def test_older_rows_with_the_label_in_their_title_show_it_once(bot, db, services):
    w = world(db)
    create_notice(db, org=w["v1"], kind=NoticeKind.TOPIC_NOTICE, audience=Audience.FOLLOWERS,
                  title="议题公示：修桥", body="下周一开会商量。", now=datetime.now(UTC), public_days=7)
    db.commit()
    assert "1．议题公示：修桥（至" in bot.send("fan-1", "通知")
    assert bot.send("fan-1", "通知 1").count("议题公示") == 1


def test_withdrawn_notice_says_withdrawn_and_an_expired_one_ended(bot, db, services):
    w = world(db)
    bot.send("conv-1", "发布通知 周六上午9点村委会议室开会。")
    assert "已发布：通知 1" in bot.send("conv-1", "确认")
    assert "已撤回通知 1" in bot.send("conv-1", "撤回通知 1")
    shown = bot.send("conv-1", "通知 1")
    assert "（已撤回）" in shown and "已结束" not in shown, shown
    expired = create_notice(db, org=w["v1"], kind=NoticeKind.GENERAL, audience=Audience.FOLLOWERS, title="旧通知",
                            body="旧通知。", now=T0, public_days=1)
    db.commit()
    result_notices.close_expired(db, T0 + timedelta(days=3), services.settings)
    db.commit()
    db.refresh(expired)
    text = full_text(expired, w["v1"], services.settings.tz)
    assert "（已结束）" in text and "已撤回" not in text


def _audience_line(reply: str, head: str) -> str:
    line = next(x for x in reply.splitlines() if x.startswith(head))
    return line.removeprefix(head).rstrip("。")


def test_broadcast_and_poll_name_and_count_the_same_audience_the_same_way(bot, db):
    w = world(db)
    party = people.ensure_person(db, "party-v1")  # holds a role in 东风村 but is bound nowhere
    party.subscribed = True
    people.grant_role(db, party, w["v1"], Role.PARTY_REVIEWER)
    gone = db.scalar(select(Person).where(Person.openid == "fan-3"))
    gone.subscribed = False  # unfollowed: counted, but no push reaches them
    db.commit()
    notice = _audience_line(bot.send("conv-1", "发布通知 周六上午9点村委会议室开会。"), "接收：")
    bot.send("conv-1", "取消")
    poll = _audience_line(bot.send("conv-1", "发起投票 路灯装在哪：东头/西头"), "可以投票的：")
    bot.send("conv-1", "取消")
    # convenor, member, three followers and the party reviewer; fan-3 cannot be reached
    assert notice == poll == "东风村的群众，共 6 人（其中 1 人没有关注公众号，收不到推送）"
    v1 = db.get(Organisation, w["v1"].id)
    sent_to = set(db.scalars(audience_ids(v1, Audience.FOLLOWERS)))
    may_vote = set(db.scalars(eligible_ids(v1, Audience.FOLLOWERS)))
    assert sent_to == may_vote and party.id in sent_to and w["outsider"].id not in sent_to


def test_swept_notices_reach_the_same_audience_as_single_ones(db, services):
    w = world(db)
    party = people.ensure_person(db, "party-v1")
    party.subscribed = True
    people.grant_role(db, party, w["v1"], Role.PARTY_REVIEWER)
    row = topic(db, w["v1"], w["fans"][0], seq=1)
    meeting(db, w["v1"], T0 + timedelta(days=8), topic_row=row)
    db.commit()
    [made] = sweeps.publish_topic_notices(db, T0, services.settings)  # the bulk INSERT … SELECT path
    db.commit()
    received = set(db.scalars(select(Delivery.person_id).where(Delivery.notice_id == made.id)))
    assert received == set(db.scalars(audience_ids(db.get(Organisation, w["v1"].id), Audience.FOLLOWERS)))
    assert party.id in received
