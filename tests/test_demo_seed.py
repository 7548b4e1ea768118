"""The demo township: a topic in every state of its life, one open poll, questionnaire and notice,
the banner true to what is seeded, and seeding twice changes nothing."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import func, select

from bot.demo import VILLAGERS, banner, seed_demo
from bot.demo.content import open_items
from bot.demo.people import DEMO_USERS
from bot.demo.topics import TOUR
from domain.orgs import people
from domain.orgs import tree as orgs
from domain.topics import audit
from handlers import load_routes, router
from models import Meeting, MeetingStatus, Notice, Poll, Questionnaire, Topic, TopicEvent, TopicState
from models.base import utcnow


def _seed(services):
    lines: list[str] = []
    seed_demo(services, echo=lines.append)
    return lines


def test_demo_seeds_a_topic_in_every_state_through_the_operations(services, db):
    _seed(services)
    village = orgs.get_org(db, "demo-v1")
    topics = {t.title: t for t in db.scalars(select(Topic).where(Topic.org_id == village.id))}
    assert {item.goal for item in TOUR} == set(TopicState)  # every state of a topic's life
    for item in TOUR:
        topic = topics[item.title]
        assert topic.state is item.goal, item.title
        events = db.scalars(select(TopicEvent).where(TopicEvent.topic_id == topic.id).order_by(TopicEvent.id)).all()
        assert events[0].action == "register" and events[-1].to_state == item.goal.value  # reached by transitions
        assert all(e.at <= utcnow() for e in events)
    held = db.scalars(select(Meeting).where(Meeting.org_id == village.id, Meeting.status == MeetingStatus.CLOSED)).all()
    assert len(held) == 8  # consulted, the three results, confirmed, implementing, implemented, evaluated
    assert all(m.starts_at < utcnow() for m in held)
    report = audit.verify(db)
    assert report.ok, report.problem


def test_demo_has_an_open_poll_questionnaire_and_notice(services, db):
    _seed(services)
    items = open_items(db, utcnow())
    assert items.poll and items.questionnaire and items.notice


def test_demo_seeding_twice_adds_nothing(services, db):
    first = _seed(services)
    counts = [db.scalar(select(func.count()).select_from(m)) for m in (Topic, Poll, Questionnaire, Notice, TopicEvent)]
    second = _seed(services)
    db.expire_all()
    assert [db.scalar(select(func.count()).select_from(m)) for m in (Topic, Poll, Questionnaire, Notice, TopicEvent)] == counts
    assert first == second


def test_demo_banner_names_every_role_holder_with_keywords_they_may_send(services, db):
    load_routes()
    lines = _seed(services)
    text = "\n".join(lines)
    for user in DEMO_USERS:
        assert user.openid in text
        person = people.find_by_ref(db, user.openid)
        assert people.has_role(db, person, orgs.get_org(db, user.org_code), user.role), user.openid
        for word in user.keywords:
            route = router.keyword_route(word)
            assert route is not None, word
            assert not route.roles or user.role in route.roles, (user.openid, word)
    for villager in VILLAGERS:
        assert villager.openid in text
        for word in villager.keywords:
            route = router.keyword_route(word)
            assert route is not None and not route.roles, word
    for code in ("demo-v1", "demo-v2"):
        assert orgs.get_org(db, code).invite_code in text
    assert banner(db) == lines


def _with_rules(services, **rules):
    return dataclasses.replace(services, settings=services.settings.with_overrides(rules=rules), _wechat=None)


def test_demo_meetings_follow_a_longer_notice_period(services, db):
    lines: list[str] = []
    seed_demo(_with_rules(services, topic_notice_days=12), echo=lines.append)
    village = orgs.get_org(db, "demo-v1")
    states = set(db.scalars(select(Topic.state).where(Topic.org_id == village.id)))
    assert states == set(TopicState), lines
    for meeting in db.scalars(select(Meeting).where(Meeting.org_id == village.id)):
        assert meeting.starts_at - meeting.topic.noticed_at >= timedelta(days=12)


def test_demo_that_a_rule_refuses_is_one_line_and_the_rest_still_comes(services, db):
    lines: list[str] = []
    seed_demo(_with_rules(services, stakeholder_min_ratio="9/10"), echo=lines.append)  # more than the demo has
    assert any(line.startswith("（演示议题没有生成：") for line in lines), lines
    assert db.scalar(select(func.count()).select_from(Topic)) == 0  # the tour is all or nothing
    items = open_items(db, utcnow())
    assert items.poll and items.questionnaire and items.notice
