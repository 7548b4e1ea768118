"""The newcomer's first minutes: 帮助 → 绑定 → 我的."""

from __future__ import annotations

from domain.orgs import people
from domain.orgs import tree as orgs
from models import OrgKind, Role


def _village(db):
    town = orgs.create_org(db, code="t1", name="幸福镇", kind=OrgKind.TOWNSHIP)
    village = orgs.create_org(db, code="v1", name="东风村", kind=OrgKind.VILLAGE, parent_code="t1")
    db.commit()
    return town, village


def test_r_role_1_help_bind_me_flow(bot, db):
    _, village = _village(db)
    reply = bot.send("u-new", "帮助")
    assert "绑定 邀请码" in reply and "还没绑定" in reply
    reply = bot.send("u-new", f"绑定 {village.invite_code.lower()}")
    assert "绑定成功" in reply and "东风村" in reply
    reply = bot.send("u-new", "我的")
    assert "东风村" in reply and "普通群众" in reply


def test_r_role_4_me_lists_roles(bot, db):
    _, village = _village(db)
    person = people.ensure_person(db, "u-conv")
    person.home_org = village
    people.grant_role(db, person, village, Role.CONVENOR)
    db.commit()
    assert "东风村召集人" in bot.send("u-conv", "我的")

def test_help_long_list_becomes_sections_and_help_keyword_explains(bot, db):
    orgs.create_org(db, code="t1", name="幸福镇", kind=OrgKind.TOWNSHIP)
    village = orgs.create_org(db, code="v1", name="东风村", kind=OrgKind.VILLAGE, parent_code="t1")
    boss = people.ensure_person(db, "u-boss")
    boss.home_org = village
    people.ensure_person(db, "u-plain").home_org = village
    for role in (Role.CONVENOR, Role.PARTY_REVIEWER, Role.GRID_WORKER, Role.MEMBER):
        people.grant_role(db, boss, village, role)
    db.commit()
    reply = bot.send("u-boss", "帮助")
    assert len(reply.encode()) <= 2000 and "【议题】" in reply and "帮助 关键词" in reply
    assert "提议 内容" in bot.send("u-boss", "帮助 提议")
    assert "没有“跳舞”这个用法" in bot.send("u-boss", "帮助 跳舞")
    plain = bot.send("u-plain", "帮助")
    assert "· 提议 内容" in plain  # ordinary (bound) villagers see every line in full
