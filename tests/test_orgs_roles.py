"""Organisations and roles: the council tree, platforms, composition, binding and per-organisation roles."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from wechatpy import parse_message

from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from domain.orgs import council, people
from domain.orgs import tree as orgs
from fakewechat.messages import MessageBuilder
from handlers.context import Context
from handlers.normalize import normalise
from handlers.registry import holds_any_role
from handlers.router import Router
from models import Organisation, OrgKind, Person, PlatformKind, Role, RoleGrant

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def tree(db):
    """county → two townships → villages (and a community, an enterprise)."""
    orgs.create_org(db, code="county", name="示范县办公室", kind=OrgKind.COUNTY_OFFICE)
    orgs.create_org(db, code="t1", name="幸福镇", kind=OrgKind.TOWNSHIP, parent_code="county")
    orgs.create_org(db, code="t2", name="和平街道", kind=OrgKind.STREET, parent_code="county")
    orgs.create_org(db, code="v1", name="东风村", kind=OrgKind.VILLAGE, parent_code="t1")
    orgs.create_org(db, code="v2", name="红旗村", kind=OrgKind.VILLAGE, parent_code="t1")
    orgs.create_org(db, code="c1", name="光明社区", kind=OrgKind.COMMUNITY, parent_code="t2")
    orgs.create_org(db, code="e1", name="纺织厂", kind=OrgKind.ENTERPRISE, parent_code="t2")
    db.commit()
    return {o.code: o for o in db.scalars(select(Organisation))}


def _person(db, openid: str, **fields) -> Person:
    person = people.ensure_person(db, openid)
    for name, value in fields.items():
        setattr(person, name, value)
    db.flush()
    return person


def _members(db, org: Organisation, count: int, public_servants: int = 0, tag: str = "m") -> None:
    for n in range(count):
        member = _person(db, f"{tag}-{org.code}-{n}", real_name=f"成员{n}")
        people.grant_role(db, member, org, Role.MEMBER, public_servant=n < public_servants)


# ---- R-ORG-1: the tree ---------------------------------------------------------------------------

ALLOWED_PLACES = [
    (OrgKind.VILLAGE, OrgKind.TOWNSHIP), (OrgKind.VILLAGE, OrgKind.STREET), (OrgKind.VILLAGE, OrgKind.PARK),
    (OrgKind.COMMUNITY, OrgKind.STREET), (OrgKind.ENTERPRISE, OrgKind.PARK),
    (OrgKind.TOWNSHIP, OrgKind.COUNTY_OFFICE), (OrgKind.TOWNSHIP, None), (OrgKind.COUNTY_OFFICE, None),
    (OrgKind.CPPCC_SECTOR, OrgKind.COUNTY_OFFICE),
    (OrgKind.ENTERPRISE, OrgKind.COUNTY_OFFICE),  # guided by the county office directly
]
WRONG_PLACES = [
    (OrgKind.VILLAGE, None), (OrgKind.VILLAGE, OrgKind.COUNTY_OFFICE), (OrgKind.VILLAGE, OrgKind.VILLAGE),
    (OrgKind.COMMUNITY, None), (OrgKind.ENTERPRISE, OrgKind.COMMUNITY), (OrgKind.TOWNSHIP, OrgKind.TOWNSHIP),
    (OrgKind.TOWNSHIP, OrgKind.VILLAGE), (OrgKind.COUNTY_OFFICE, OrgKind.TOWNSHIP),
    (OrgKind.COUNTY_OFFICE, OrgKind.COUNTY_OFFICE),
]


def _parent(db, index: int, kind: OrgKind | None) -> str | None:
    """Create an organisation of this kind where it may stand; its code."""
    if kind is None:
        return None
    above = None
    if kind.level == "grassroots":
        above = orgs.create_org(db, code=f"above{index}", name="镇", kind=OrgKind.TOWNSHIP).code
    return orgs.create_org(db, code=f"parent{index}", name="上级", kind=kind, parent_code=above).code


def test_r_org_1_allowed_places_in_the_tree(db):
    for index, (kind, parent_kind) in enumerate(ALLOWED_PLACES):
        parent_code = _parent(db, index, parent_kind)
        created = orgs.create_org(db, code=f"child{index}", name="下级", kind=kind, parent_code=parent_code)
        assert (created.parent.code if created.parent else None) == parent_code, (kind, parent_kind)


def test_r_org_1_enterprise_under_the_county_office_gets_its_topics_approved_there(db, services):

    from domain.topics import operations as topics

    county = orgs.create_org(db, code="county", name="示范县协商办", kind=OrgKind.COUNTY_OFFICE)
    firm = orgs.create_org(db, code="e9", name="县自来水公司", kind=OrgKind.ENTERPRISE, parent_code="county")
    now = datetime(2026, 3, 2, 2, tzinfo=UTC)
    worker, convenor = _person(db, "worker"), _person(db, "firm-conv")
    worker.home_org = firm
    people.grant_role(db, convenor, firm, Role.CONVENOR)
    people.grant_role(db, _person(db, "firm-party"), firm, Role.PARTY_REVIEWER)
    people.grant_role(db, _person(db, "county-party"), county, Role.PARTY_REVIEWER)
    topic = topics.propose(db, worker, "食堂增加夜班餐", now, settings=services.settings)
    topics.screen(db, topic, convenor, now, "dialogue", "")
    topics.submit(db, topic, convenor, now)
    topics.approve(db, topic, _person(db, "firm-party"), now)
    with pytest.raises(PermissionDenied):
        topics.approve(db, topic, _person(db, "firm-party"), now)
    topics.approve(db, topic, _person(db, "county-party"), now)
    assert topic.state.value == "approved"


def test_r_org_1_wrong_places_in_the_tree_are_refused(db):
    for index, (kind, parent_kind) in enumerate(WRONG_PLACES):
        parent_code = _parent(db, index, parent_kind)
        with pytest.raises(InvalidInput) as info:
            orgs.create_org(db, code=f"child{index}", name="下级", kind=kind, parent_code=parent_code)
        assert "不能放在" in info.value.reply, (kind, parent_kind)
        assert db.scalar(select(Organisation).where(Organisation.code == f"child{index}")) is None


def test_r_org_1_parent_sees_its_children_in_tree_order(db, tree):
    assert [o.code for o in orgs.list_orgs(db)] == ["county", "t1", "v1", "v2", "t2", "c1", "e1"]
    assert [o.code for o in orgs.list_orgs(db, tree["t1"])] == ["t1", "v1", "v2"]
    assert [o.code for o in orgs.list_orgs(db, tree["t2"])] == ["t2", "c1", "e1"]
    assert [o.code for o in orgs.list_orgs(db, tree["v1"])] == ["v1"]
    assert [o.code for o in orgs.ancestors(tree["v1"])] == ["t1", "county"]
    assert [orgs.depth(tree[c]) for c in ("county", "t1", "v1")] == [0, 1, 2]


def test_r_org_1_parent_supervises_children_not_siblings(db, tree):
    town_convenor = _person(db, "town-conv")
    people.grant_role(db, town_convenor, tree["t1"], Role.CONVENOR)
    county_office = _person(db, "county-office")
    people.grant_role(db, county_office, tree["county"], Role.UPPER_OFFICE)
    village_convenor = _person(db, "v1-conv")
    people.grant_role(db, village_convenor, tree["v1"], Role.CONVENOR)

    assert people.supervises(db, town_convenor, tree["v1"]) and people.supervises(db, town_convenor, tree["v2"])
    assert not people.supervises(db, town_convenor, tree["c1"])  # another township's community
    assert not people.supervises(db, town_convenor, tree["t1"])  # supervision is of children
    assert all(people.supervises(db, county_office, tree[c]) for c in ("t1", "t2", "v1", "c1", "e1"))
    assert not people.supervises(db, village_convenor, tree["v2"])


def test_r_org_1_codes_are_checked(db, tree):
    for bad in ("a b", "", "-x", "x-", "村", "a" * 41, "a_b"):
        with pytest.raises(InvalidInput):
            orgs.create_org(db, code=bad, name="x", kind=OrgKind.TOWNSHIP)
    with pytest.raises(Conflict):
        orgs.create_org(db, code="t1", name="又一个镇", kind=OrgKind.TOWNSHIP)
    with pytest.raises(NotFound):
        orgs.create_org(db, code="v9", name="x", kind=OrgKind.VILLAGE, parent_code="nowhere")


# ---- R-ORG-2: the four platform kinds ---------------------------------------------------------------

def test_r_org_2_four_platform_kinds_accepted(db, tree):
    for platform in ("room", "liaison_point", "mobile_room", "joint_room"):
        orgs.create_org(db, code=f"p-{platform}".replace("_", "-"), name="平台", kind=OrgKind.VILLAGE,
                        parent_code="t1", platform_kind=platform)
    db.commit()
    db.expire_all()
    for platform in ("room", "liaison_point", "mobile_room", "joint_room"):
        assert orgs.get_org(db, f"p-{platform}".replace("_", "-")).platform_kind == PlatformKind(platform)


def test_r_org_2_other_platform_kinds_refused(db, tree):
    for platform in ("canteen", "", "ROOM "):
        with pytest.raises(InvalidInput):
            orgs.create_org(db, code="p1", name="平台", kind=OrgKind.VILLAGE, parent_code="t1",
                            platform_kind=platform)


def test_r_org_2_default_platform_is_a_room(db, tree):
    assert tree["v1"].platform_kind is PlatformKind.ROOM
    assert len(PlatformKind) == 4


# ---- R-ORG-3 / R-ORG-4 / R-ORG-5: council composition ---------------------------------------------------

def test_r_org_3_council_without_convenor_is_flagged_until_granted(db, services, tree):
    village = tree["v1"]
    _members(db, village, 10)
    report = council.composition(db, village, services.settings.rules)
    assert report.convenors == 0 and "还没有召集人。" in report.problems
    people.grant_role(db, _person(db, "secretary-of-party"), village, Role.CONVENOR)
    report = council.composition(db, village, services.settings.rules)
    assert report.convenors == 1 and report.problems == []


def test_r_org_3_second_convenor_allowed(db, services, tree):
    village = tree["v1"]
    people.grant_role(db, _person(db, "first"), village, Role.CONVENOR)
    people.grant_role(db, _person(db, "cppcc-member"), village, Role.CONVENOR)
    assert council.composition(db, village, services.settings.rules).convenors == 2


@pytest.mark.parametrize(("members", "ok"), [(9, False), (10, True), (30, True), (31, False)])
def test_r_org_4_ten_to_thirty_members(db, services, tree, members, ok):
    village = tree["v1"]
    people.grant_role(db, _person(db, "conv"), village, Role.CONVENOR)
    _members(db, village, members)
    report = council.composition(db, village, services.settings.rules)
    assert report.members == members
    assert (report.problems == []) is ok, report.problems
    if members == 9:
        assert report.problems == ["成员只有 9 人，少于 10 人。"]
    if members == 31:
        assert report.problems == ["成员有 31 人，多于 30 人。"]


@pytest.mark.parametrize(("public", "ok"), [(0, True), (2, True), (3, False)])
def test_r_org_4_public_servants_at_most_a_fifth(db, services, tree, public, ok):
    village = tree["v1"]
    people.grant_role(db, _person(db, "conv"), village, Role.CONVENOR)
    _members(db, village, 10, public_servants=public)
    report = council.composition(db, village, services.settings.rules)
    assert report.public_servants == public
    assert (report.problems == []) is ok, report.problems
    if not ok:
        assert report.problems == ["公职人员 3 人，超过成员的 1/5。"]


def test_r_org_4_public_servant_share_counts_members_only(db, services, tree):
    village = tree["v1"]
    people.grant_role(db, _person(db, "conv"), village, Role.CONVENOR, public_servant=True)
    people.grant_role(db, _person(db, "sec"), village, Role.SECRETARY, public_servant=True)
    _members(db, village, 10, public_servants=2)
    assert council.composition(db, village, services.settings.rules).problems == []


def test_r_org_4_limits_follow_the_settings(db, services, tree):
    village = tree["v1"]
    people.grant_role(db, _person(db, "conv"), village, Role.CONVENOR)
    _members(db, village, 9, public_servants=3)
    default = council.composition(db, village, services.settings.rules)
    assert len(default.problems) == 2  # too few, too many public servants
    local = services.settings.with_overrides(rules={
        "council_min_members": 5, "council_max_members": 8, "public_servant_max_ratio": "1/3"}).rules
    report = council.composition(db, village, local)
    assert report.problems == ["成员有 9 人，多于 8 人。"]
    looser = services.settings.with_overrides(rules={"council_min_members": 5, "public_servant_max_ratio": "1/2"})
    assert council.composition(db, village, looser.rules).problems == []


def test_r_org_4_revoked_members_do_not_count(db, services, tree):
    village = tree["v1"]
    people.grant_role(db, _person(db, "conv"), village, Role.CONVENOR)
    _members(db, village, 10)
    people.revoke_role(db, people.find_by_ref(db, "m-v1-0"), village, Role.MEMBER)
    report = council.composition(db, village, services.settings.rules)
    assert report.members == 9 and report.problems == ["成员只有 9 人，少于 10 人。"]


def test_r_org_5_secretary_role_is_grantable(db, services, tree):
    village = tree["v1"]
    secretary = _person(db, "sec", real_name="李秘书")
    grant = people.grant_role(db, secretary, village, Role.SECRETARY)
    assert grant.role is Role.SECRETARY and Role.SECRETARY.label == "会议秘书"
    assert people.has_role(db, secretary, village, Role.SECRETARY)
    assert council.composition(db, village, services.settings.rules).secretaries == 1
    assert council.roster(db, village)[Role.SECRETARY] == ["李秘书"]


# ---- R-ROLE-1: binding by invite code ----------------------------------------------------------------

def test_r_role_1_bind_by_invite_code_case_insensitive(db, tree):
    person = _person(db, "u1")
    org, changed = people.bind(db, person, f"  {tree['v1'].invite_code.lower()} ", NOW)
    assert org is tree["v1"] and changed
    assert person.home_org is tree["v1"] and person.bound_at == NOW


def test_r_role_1_bind_in_chat_rebind_and_repeat(bot, db, tree):
    v1, v2 = tree["v1"].invite_code, tree["v2"].invite_code
    assert "绑定成功" in bot.send("u-chat", f"绑定 {v1.lower()}")
    assert "不用重复绑定" in bot.send("u-chat", f"绑定 {v1}")
    reply = bot.send("u-chat", f"绑定 {v2}")  # issue 12: an immediate move is refused (rules.move_min_days)
    assert "已改为绑定" not in reply and "30 天内只能改绑一次" in reply
    db.expire_all()
    assert people.find_person(db, "u-chat").home_org_id == tree["v1"].id


def test_r_role_1_unknown_code_gets_a_clear_reply(bot, db, tree):
    reply = bot.send("u-chat", "绑定 ZZZZZZZZZZ")
    assert "邀请码不对" in reply
    assert people.find_person(db, "u-chat").home_org_id is None
    assert "绑定 邀请码" in bot.send("u-chat", "绑定")


def test_r_role_1_township_code_is_refused(bot, db, tree):
    with pytest.raises(InvalidInput):
        people.bind(db, _person(db, "u2"), tree["t1"].invite_code, NOW)
    reply = bot.send("u-chat2", f"绑定 {tree['county'].invite_code}")
    assert "村、社区或单位" in reply


def test_r_role_1_community_and_enterprise_are_bindable(db, tree):
    for code in ("c1", "e1"):
        org, changed = people.bind(db, _person(db, f"u-{code}"), tree[code].invite_code, NOW)
        assert org.code == code and changed


def test_invite_codes_are_ten_unambiguous_characters_and_unique():
    codes = {orgs.new_invite_code() for _ in range(2000)}
    assert len(codes) == 2000
    allowed = set(orgs.INVITE_ALPHABET)
    assert not allowed & set("01OI")
    assert all(len(c) == 10 and set(c) <= allowed for c in codes)


def test_rotating_the_invite_code_invalidates_the_old_one(db, tree):
    village = tree["v1"]
    old = village.invite_code
    new = orgs.rotate_invite(db, village)
    assert new != old and len(new) == 10
    assert orgs.find_by_invite(db, old) is None
    assert orgs.find_by_invite(db, new.lower()) is village
    with pytest.raises(NotFound):
        people.bind(db, _person(db, "u3"), old, NOW)


# ---- R-ROLE-4: roles are per organisation --------------------------------------------------------------

def test_r_role_4_granting_twice_is_a_conflict(db, tree):
    person = _person(db, "conv", real_name="王书记")
    people.grant_role(db, person, tree["v1"], Role.CONVENOR)
    with pytest.raises(Conflict) as info:
        people.grant_role(db, person, tree["v1"], Role.CONVENOR)
    assert "王书记" in info.value.reply and "东风村" in info.value.reply
    people.grant_role(db, person, tree["v1"], Role.MEMBER)  # another role is fine
    people.grant_role(db, person, tree["v2"], Role.CONVENOR)  # the same role elsewhere too


def test_r_role_4_revoke_keeps_history(db, tree):
    person = _person(db, "conv")
    people.grant_role(db, person, tree["v1"], Role.CONVENOR)
    revoked = people.revoke_role(db, person, tree["v1"], Role.CONVENOR)
    assert revoked.revoked_at is not None
    assert not people.has_role(db, person, tree["v1"], Role.CONVENOR)
    assert people.active_grants(db, person) == []
    people.grant_role(db, person, tree["v1"], Role.CONVENOR)  # may be granted again
    rows = db.scalars(select(RoleGrant).where(RoleGrant.person_id == person.id).order_by(RoleGrant.id)).all()
    assert [r.revoked_at is None for r in rows] == [False, True]
    with pytest.raises(NotFound):
        people.revoke_role(db, person, tree["v2"], Role.CONVENOR)


def test_r_role_4_convenor_of_village_a_is_nobody_in_village_b(db, tree):
    person = _person(db, "conv-a", home_org=tree["v1"])
    people.grant_role(db, person, tree["v1"], Role.CONVENOR)
    assert people.has_role(db, person, tree["v1"], Role.CONVENOR)
    assert not people.has_role(db, person, tree["v2"], Role.CONVENOR)
    assert not people.has_role(db, person, tree["t1"], Role.CONVENOR)  # nor in the township above
    people.require_role(db, person, tree["v1"], Role.CONVENOR)
    with pytest.raises(PermissionDenied) as info:
        people.require_role(db, person, tree["v2"], Role.CONVENOR, Role.CHAIR)
    assert info.value.reply == "只有红旗村的召集人或主持人可以这样做。"


def test_r_role_4_revoked_convenor_loses_the_right(db, tree):
    person = _person(db, "conv-a")
    people.grant_role(db, person, tree["v1"], Role.CONVENOR)
    people.revoke_role(db, person, tree["v1"], Role.CONVENOR)
    with pytest.raises(PermissionDenied):
        people.require_role(db, person, tree["v1"], Role.CONVENOR)


# ---- R-ROLE-4: a route carries its role requirement -------------------------------------------------------

@pytest.fixture
def convenor_router():
    """A fresh router (not the global one) with a convenor-only route."""
    router = Router(role_check=holds_any_role)

    @router.keyword("召集会议", roles=(Role.CONVENOR,))
    def call_meeting(ctx: Context, rest: str) -> str:
        """召集会议：通知议事会成员开会"""
        return "会议通知已登记。"

    @router.keyword("帮助")
    def show_help(ctx: Context, rest: str) -> str:
        """帮助：查看可以发送的内容"""
        return "\n".join(router.help_lines(ctx))

    return router


def _ctx(services, db, openid: str, text: str) -> Context:
    message = parse_message(MessageBuilder().text(openid, text, create_time=int(time.time())))
    return Context(openid, message, normalise(text), db, services.redis, services.settings, NOW)


def test_r_role_4_route_refuses_and_hides_from_non_convenors(services, db, tree, convenor_router):
    _person(db, "villager", home_org=tree["v1"])
    people.grant_role(db, _person(db, "member"), tree["v1"], Role.MEMBER)
    for openid in ("villager", "member"):
        with pytest.raises(PermissionDenied) as info:
            convenor_router.dispatch(_ctx(services, db, openid, "召集会议"))
        assert info.value.reply == "您没有这项权限：需要召集人发送“召集会议”。"  # says who may
        help_text = convenor_router.dispatch(_ctx(services, db, openid, "帮助"))
        assert "召集会议" not in help_text and "帮助" in help_text


def test_r_role_4_route_serves_and_shows_to_convenors(services, db, tree, convenor_router):
    people.grant_role(db, _person(db, "conv"), tree["v1"], Role.CONVENOR)
    assert convenor_router.dispatch(_ctx(services, db, "conv", "召集会议")) == "会议通知已登记。"
    assert "召集会议：通知议事会成员开会" in convenor_router.dispatch(_ctx(services, db, "conv", "帮助"))


def test_r_role_4_revoked_role_hides_the_route_again(services, db, tree, convenor_router):
    person = _person(db, "conv")
    people.grant_role(db, person, tree["v1"], Role.CONVENOR)
    people.revoke_role(db, person, tree["v1"], Role.CONVENOR)
    with pytest.raises(PermissionDenied):
        convenor_router.dispatch(_ctx(services, db, "conv", "召集会议"))
