"""代办: a grid worker acting for a villager: start, act, time out, end, and the audit the villager sees."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from domain.errors import InvalidInput, PermissionDenied
from domain.orgs import people, proxy
from domain.topics import operations as topics
from models import Organisation, Topic, TopicEvent
from models.topics import ProxySession
from tests.topic_world import NOW, build, named, new_topic, notices_to, run_cli, who


@pytest.fixture
def world(db):
    built = build(db)
    convenor, village = who(db, "c-v1"), db.get(Organisation, built.v1)
    for villager in (named(db, "孙大爷"), named(db, "孙大娘"), who(db, "u-zhang")):  # marked by the convenor (issue 12)
        people.mark_needs_help(db, villager, village, NOW, by=convenor)
    db.commit()
    return built


def _rkey(services):
    return lambda *parts: services.settings.redis.key_prefix + ":".join(str(p) for p in parts)


def _start(db, services, villager_name="孙大爷", agent="g-v1", now=NOW):
    row = proxy.start(db, services.redis, _rkey(services), who(db, agent), named(db, villager_name), now,
                      minutes=services.settings.rules.proxy_session_minutes)
    db.commit()
    return row


# ---- in the chat ------------------------------------------------------------------------------------

def test_proxy_pick_confirm_propose_cosign_list_end(bot, db, services, world):
    other = new_topic(db, services, "村里修个小公园")
    reply = bot.send("g-v1", "代办 孙")
    assert "1. 孙大爷（东风村，手机尾号1234）" in reply and "2. 孙大娘" in reply
    assert "请回复序号 1–2" in bot.send("g-v1", "三")
    assert "确认要代 孙大娘" in bot.send("g-v1", "2")
    assert "现在开始代 孙大娘 办理" in bot.send("g-v1", "确认")
    reply = bot.send("g-v1", "提议 村里装几个健身器材")
    assert "已代 孙大娘 登记议题" in reply
    assert "已代 孙大娘 联名议题" in bot.send("g-v1", f"联名 {other.number}")
    listing = bot.send("g-v1", "我的议题")
    assert listing.startswith("孙大娘 的议题（代办查看）") and listing.count("（由网格员赵网格代办）") == 2
    assert "已结束代 孙大娘 办理" in bot.send("g-v1", "代办结束")
    assert "您现在没有在代办" in bot.send("g-v1", "代办结束")
    db.expire_all()
    created = db.scalar(select(Topic).where(Topic.title == "村里装几个健身器材"))
    assert created.proposer.real_name == "孙大娘" and created.proposed_by_proxy_id == who(db, "g-v1").id
    events = db.scalars(select(TopicEvent).where(TopicEvent.on_behalf_of_id == created.proposer_id)).all()
    assert {(e.action, e.actor_id) for e in events} == {("register", who(db, "g-v1").id),
                                                        ("cosign", who(db, "g-v1").id)}
    signer = other.cosigners[0] if other.cosigners else db.get(Topic, other.id).cosigners[0]
    assert signer.by_proxy_id == who(db, "g-v1").id
    session = db.scalar(select(ProxySession))
    assert (session.end_reason, session.agent_role) == ("ended", "grid_worker")
    assert "已登记" in bot.send("g-v1", "提议 这次是我自己提的")  # after the end: the agent's own proposal
    assert db.scalar(select(Topic).where(Topic.title == "这次是我自己提的")).proposer.openid == "g-v1"


def test_proxy_visible_to_the_villager_in_my_topics(bot, db, services, world):
    bot.send("g-v1", "代办 3900001111")  # not 4 digits
    assert "确认要代 张三" in bot.send("g-v1", "代办 1111")
    bot.send("g-v1", "确认")
    bot.send("g-v1", "提议 路口装个反光镜")
    bot.send("g-v1", "代办结束")
    mine = bot.send("u-zhang", "我的议题")
    assert "路口装个反光镜" in mine and "（由网格员赵网格代办）" in mine
    assert any("赵网格帮您提交了议题" in body for _, body in notices_to(db, "u-zhang"))
    detail = bot.send("u-li", "议题 1")
    assert "张*（由网格员赵网格代办） 提出议题" in detail  # other villagers see the act, not the full name


def test_proxy_refused_for_non_cadres_and_other_villages(bot, db, services, world):
    assert "没有这项权限" in bot.send("u-zhang", "代办 孙大爷")
    assert "名册里没有找到" in bot.send("g-v2", "代办 孙大爷")
    with pytest.raises(PermissionDenied, match="本村"):
        proxy.start(db, services.redis, _rkey(services), who(db, "g-v2"), named(db, "孙大爷"), NOW, minutes=30)
    db.rollback()
    with pytest.raises(InvalidInput, match="自己"):
        proxy.start(db, services.redis, _rkey(services), who(db, "g-v1"), who(db, "g-v1"), NOW, minutes=30)
    db.rollback()
    with pytest.raises(InvalidInput, match="最后 4 位"):
        proxy.find_villagers(db, who(db, "g-v1"), "12")
    assert db.scalar(select(ProxySession)) is None


def test_proxy_dialog_refuses_when_the_session_ended_midway(bot, db, services, world):
    bot.send("g-v1", "代办 孙大爷")
    bot.send("g-v1", "确认")
    assert "代 孙大爷 办理" in bot.send("g-v1", "提议")
    bot.send("g-v1", "村里的水塘该清淤了")
    bot.send("g-v1", "没有")
    services.redis.delete(_rkey(services)("proxy", "g-v1"))  # the Redis TTL ran out
    assert "代办已经结束，这个议题没有提交" in bot.send("g-v1", "确认")
    assert db.scalar(select(Topic)) is None


# ---- in the domain ----------------------------------------------------------------------------------

def test_proxy_times_out_after_idle_minutes(db, services, world):
    row = _start(db, services)
    agent, key = who(db, "g-v1"), _rkey(services)
    assert services.redis.ttl(key("proxy", "g-v1")) > 29 * 60
    assert proxy.acting_for(db, services.redis, key, agent, NOW + timedelta(minutes=20)).real_name == "孙大爷"
    assert proxy.acting_for(db, services.redis, key, agent, NOW + timedelta(minutes=45)) is not None  # moved on
    assert proxy.acting_for(db, services.redis, key, agent, NOW + timedelta(minutes=76)) is None
    db.commit()
    assert (row.end_reason, row.ended_at) == ("expired", NOW + timedelta(minutes=75))
    assert services.redis.get(key("proxy", "g-v1")) is None


def test_proxy_redis_ttl_expiry_ends_the_session(db, services, world):
    row = _start(db, services)
    services.redis.delete(_rkey(services)("proxy", "g-v1"))
    assert proxy.acting_for(db, services.redis, _rkey(services), who(db, "g-v1"), NOW) is None
    db.commit()
    assert row.end_reason == "expired"


def test_proxy_without_redis_reads_the_database(db, services, world):
    _start(db, services)
    assert proxy.acting_for(db, None, _rkey(services), who(db, "g-v1"), NOW).real_name == "孙大爷"


def test_proxy_new_session_replaces_the_old_one(db, services, world):
    first = _start(db, services)
    second = _start(db, services, "孙大娘", now=NOW + timedelta(minutes=5))
    assert first.end_reason == "replaced" and second.ended_at is None
    assert proxy.acting_for(db, services.redis, _rkey(services), who(db, "g-v1"), NOW).real_name == "孙大娘"


def test_proxy_convenor_may_act_and_withdraw_for_the_proposer(db, services, world):
    _start(db, services, agent="c-v1")
    elder = named(db, "孙大爷")
    created = topics.propose(db, elder, "给老人配个助听器", NOW, settings=services.settings, agent=who(db, "c-v1"))
    topics.withdraw(db, created, who(db, "g-v1"), NOW, "老人改主意了", on_behalf_of=elder)
    db.commit()
    last = db.scalars(select(TopicEvent).order_by(TopicEvent.id.desc())).first()
    assert (last.action, last.actor_id, last.on_behalf_of_id) == ("withdraw", who(db, "g-v1").id, elder.id)


def test_proxy_audit_listed_by_cli(db, services, world, tmp_path):
    _start(db, services)
    proxy.end(db, services.redis, _rkey(services), who(db, "g-v1"), NOW + timedelta(minutes=3))
    db.commit()
    out = run_cli(services, tmp_path, "audit", "proxy", "--org", "v1").output
    assert "赵网格 代 孙大爷（本人结束）" in out and "3月2日 10:00 至 3月2日 10:03" in out
