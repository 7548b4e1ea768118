"""A small county for the topic tests: a county office, a township, two villages and their people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from domain.orgs import people
from domain.orgs import tree as orgs
from models import Delivery, Notice, OrgKind, Person, Role, Topic, TopicState

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 2026-03-02 10:00 in Asia/Shanghai


@dataclass
class World:
    """Ids of everything the topic tests use, looked up again in each session."""

    county: int
    town: int
    v1: int
    v2: int


def person(db, openid, name, home=None, *, phone=None):
    """A follower (or, with openid None, a roster entry without WeChat)."""
    if openid is None:
        entry = Person(subscribed=False)
        db.add(entry)
    else:
        entry = people.ensure_person(db, openid)
        entry.subscribed = True
    entry.real_name, entry.home_org, entry.phone = name, home, phone
    db.flush()
    return entry


def build(db) -> World:
    """Create the county and commit; openids name people by role (see the table below)."""
    county = orgs.create_org(db, code="c1", name="示范县协商办", kind=OrgKind.COUNTY_OFFICE)
    town = orgs.create_org(db, code="t1", name="幸福镇", kind=OrgKind.TOWNSHIP, parent_code="c1")
    v1 = orgs.create_org(db, code="v1", name="东风村", kind=OrgKind.VILLAGE, parent_code="t1")
    v2 = orgs.create_org(db, code="v2", name="红旗村", kind=OrgKind.VILLAGE, parent_code="t1")
    person(db, "u-zhang", "张三", v1, phone="13900001111")
    person(db, "u-li", "李四", v1, phone="13900002222")
    person(db, "u-wang", "王五", v2)
    person(db, None, "孙大爷", v1, phone="13800001234")
    person(db, None, "孙大娘", v1, phone="13800005678")
    grants = [
        ("c-v1", "王书记", v1, v1, Role.CONVENOR), ("c-v2", "刘书记", v2, v2, Role.CONVENOR),
        ("p-v1", "东风党支部", None, v1, Role.PARTY_REVIEWER), ("p-v2", "红旗党支部", None, v2, Role.PARTY_REVIEWER),
        ("p-t1", "镇党委", None, town, Role.PARTY_REVIEWER), ("c-t1", "镇政协主任", None, town, Role.CONVENOR),
        ("o-t1", "镇协商办", None, town, Role.UPPER_OFFICE), ("o-c1", "县协商办", None, county, Role.UPPER_OFFICE),
        ("g-v1", "赵网格", v1, v1, Role.GRID_WORKER), ("g-v2", "钱网格", v2, v2, Role.GRID_WORKER),
        ("chair-v1", "周主持", v1, v1, Role.CHAIR),
    ]
    for openid, name, home, org, role in grants:
        people.grant_role(db, person(db, openid, name, home), org, role)
    for n in range(1, 4):
        people.grant_role(db, person(db, f"m-v1-{n}", f"东风成员{n}", v1), v1, Role.MEMBER)
    # R-ORG-4 wants 10-30 members and R-MEET-4 as many stakeholder representatives at a meeting: the rest
    # of 东风村's council and its approved stakeholders are on the roster without being its followers.
    for n in range(4, 11):
        people.grant_role(db, person(db, f"m-v1-{n}", f"东风成员{n}"), v1, Role.MEMBER)
    for n in range(1, 11):
        people.grant_role(db, person(db, f"s-v1-{n}", f"东风代表{n}"), v1, Role.STAKEHOLDER)
    db.commit()
    return World(county.id, town.id, v1.id, v2.id)


def who(db, openid):
    """The person behind an openid."""
    return db.scalar(select(Person).where(Person.openid == openid))


def named(db, name):
    """The person with a real name."""
    return db.scalar(select(Person).where(Person.real_name == name))


def notices_to(db, openid, topic: Topic | None = None):
    """(title, body) of every notice queued for a person, oldest first."""
    stmt = (select(Notice).join(Delivery, Delivery.notice_id == Notice.id)
            .join(Person, Person.id == Delivery.person_id).where(Person.openid == openid).order_by(Notice.id))
    if topic is not None:
        stmt = stmt.where(Notice.topic_id == topic.id)
    return [(n.title, n.body) for n in db.scalars(stmt)]


def advance(db, services, topic, to: TopicState, now=NOW):
    """Drive a village topic along the happy path up to a state, with the right people (returns the topic)."""
    from domain.meetings import schedule as meetings
    from domain.topics import operations as topics

    s = services.settings
    steps = [
        (TopicState.SCREENING, lambda: topics.screen(db, topic, who(db, "c-v1"), now, "questionnaire", "问卷 1")),
        (TopicState.SUBMITTED, lambda: topics.submit(db, topic, who(db, "c-v1"), now)),
        (TopicState.REVIEWED, lambda: topics.approve(db, topic, who(db, "p-v1"), now)),
        (TopicState.APPROVED, lambda: topics.approve(db, topic, who(db, "p-t1"), now)),
        (TopicState.RESEARCHED, lambda: topics.research(db, topic, who(db, "c-v1"), now, "走访 30 户")),
        (TopicState.NOTICED, lambda: meetings.schedule_meeting(
            db, topic, now + timedelta(days=8), "村委会议室", who(db, "c-v1"), now, settings=s)),
        (TopicState.CONSULTED, lambda: topics.mark_consulted(db, topic, who(db, "c-v1"), now)),
    ]
    order = [TopicState.REGISTERED] + [state for state, _ in steps]
    for _, step in steps[order.index(topic.state):]:
        if topic.state is to:
            break
        step()
    db.commit()
    assert topic.state is to, topic.state
    return topic


def new_topic(db, services, text="修一下村东头的路", openid="u-zhang", now=NOW):
    """A chat-style proposal by a villager of 东风村."""
    from domain.topics import operations as topics

    created = topics.propose(db, who(db, openid), text, now, settings=services.settings)
    db.commit()
    return created


def run_cli(services, tmp_path, *args):
    """Run ``shangliang --config <the test servers> …`` in-process; returns the click result."""
    from click.testing import CliRunner

    from bot.cli import main

    s = services.settings
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "{s.database.url}"\n'
        f'[redis]\nurl = "{s.redis.url}"\nkey_prefix = "{s.redis.key_prefix}"\n'
        f'[wechat]\napi_base_url = "{s.wechat.api_base_url}"\napp_id = "{s.wechat.app_id}"\n'
        f'app_secret = "{s.wechat.app_secret}"\ntoken = "{s.wechat.token}"\n',
        encoding="utf-8",
    )
    return CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)
