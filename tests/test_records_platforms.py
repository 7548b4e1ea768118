"""Platforms (R-ORG-2), their convenors (R-ORG-3) and liaising CPPCC members (R-ORG-6, L-四(二)), and each
room's 六有 (R-ORG-7, L-三(一)), through the CLI and the domain functions the supervisors' view calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.meetings import attendance
from domain.meetings.cadence import add_months
from domain.orgs import people
from domain.orgs import tree as orgs
from domain.records import platforms, six_have
from domain.topics import operations as topics
from domain.topics import routes
from models import Role, Topic
from tests.meeting_world import build_world, make_meeting, quorum
from tests.topic_world import person, run_cli, who

T0 = datetime(2026, 3, 20, 1, 0, tzinfo=UTC)


@pytest.fixture
def world(db):
    made = build_world(db)
    person(db, "cppcc-1", "李委员")
    person(db, "cppcc-2", "赵委员")
    db.commit()
    return made


@pytest.fixture
def cli(services, tmp_path):
    def run(*args):
        return run_cli(services, tmp_path, *args)
    return run


def _lines(result):
    return [line.strip() for line in result.output.splitlines()]


def test_r_org_2_four_platform_kinds_a_joint_room_serves_villages_a_mobile_room_has_a_schedule(cli, db, world):
    assert "平台 1：幸福镇协商议事室" in cli("org", "platform", "add", "--org", "t1", "--kind", "room").output
    assert "平台 2：" in cli("org", "platform", "add", "--org", "t1", "--kind", "联合协商议事室", "--name",
                            "东红联合议事室").output
    assert "平台 3：" in cli("org", "platform", "add", "--org", "t1", "--kind", "mobile_room").output
    assert "委员协商联系点" in cli("org", "platform", "add", "--org", "v2", "--kind", "liaison_point").output
    assert "已登记服务：东风村、红旗村" in cli("org", "platform", "serve", "--org", "t1", "--platform", "2", "--village",
                                      "v1", "--village", "v2").output
    assert "已经服务东风村" in cli("org", "platform", "serve", "--org", "t1", "--platform", "2", "--village", "v1").output
    assert "只有联合协商议事室" in cli("org", "platform", "serve", "--org", "t1", "--platform", "1", "--village", "v1").output
    assert "不是村或社区" in cli("org", "platform", "serve", "--org", "t1", "--platform", "2", "--village", "t1").output
    for day, place in (("2026-06-02", "西庄组"), ("2026-05-10", "东庄组")):
        assert f"已安排：{day}" in cli("org", "platform", "stop", "--org", "t1", "--platform", "3", "--date", day,
                                     "--place", place).output
    assert "已经在安排里了" in cli("org", "platform", "stop", "--org", "t1", "--platform", "3", "--date", "2026-05-10",
                                "--place", "东庄组").output
    assert "只有流动协商议事室" in cli("org", "platform", "stop", "--org", "t1", "--platform", "1", "--date",
                                    "2026-05-10", "--place", "x").output
    assert _lines(cli("org", "platform", "stops", "--org", "t1", "--platform", "3")) == ["2026-05-10 东庄组",
                                                                                        "2026-06-02 西庄组"]
    assert "没有平台 9" in cli("org", "platform", "stops", "--org", "t1", "--platform", "9").output
    assert "不设协商议事平台" in cli("org", "platform", "add", "--org", "c1", "--kind", "room").output
    assert cli("org", "platform", "add", "--org", "t1", "--kind", "hall").exit_code == 2
    shown = cli("org", "show", "--org", "v1").output
    assert "由 幸福镇 东红联合议事室 联合服务" in shown and "还没有登记协商议事平台" not in shown
    listing = cli("org", "platform", "list", "--org", "t1").output
    assert "服务：东风村、红旗村" in listing and "流动安排：" in listing


def test_r_org_3_first_convenor_is_the_secretary_second_the_liaising_member(cli, db, world):
    cli("org", "platform", "add", "--org", "v1", "--kind", "room")
    assigned = cli("org", "platform", "liaison", "--org", "v1", "--platform", "1", "--person", "cppcc-1").output
    assert "联系政协委员，并担任第二召集人" in assigned
    shown = _lines(cli("org", "show", "--org", "v1"))
    assert "第一召集人（村党组织书记）：王书记" in shown and "第二召集人（联系的政协委员）：李委员" in shown
    db.expire_all()
    v1 = orgs.get_org(db, "v1")
    assert people.has_role(db, who(db, "cppcc-1"), v1, Role.CONVENOR)  # the second convenor convenes
    assert "已经是" in cli("org", "platform", "liaison", "--org", "v1", "--platform", "1", "--person", "cppcc-1").output
    cli("org", "platform", "add", "--org", "t1", "--kind", "room")
    township = cli("org", "platform", "liaison", "--org", "t1", "--platform", "1", "--person", "cppcc-2").output
    assert "第二召集人" not in township  # a township room has one convenor, the CPPCC work committee head
    shown = _lines(cli("org", "show", "--org", "t1"))
    assert "召集人（政协工作委员会主任）：镇政协主任" in shown and not any("第二召集人" in line for line in shown)
    assert "不再联系" in cli("org", "platform", "liaison", "--org", "v1", "--platform", "1", "--person", "cppcc-1",
                          "--remove").output
    db.expire_all()
    assert not people.has_role(db, who(db, "cppcc-1"), v1, Role.CONVENOR)  # the role came with the liaison
    assert people.has_role(db, who(db, "c-v1"), v1, Role.CONVENOR)
    assert "不是东风村协商议事室的联系委员" in cli("org", "platform", "liaison", "--org", "v1", "--platform", "1",
                                               "--person", "cppcc-1", "--remove").output


def test_r_org_6_org_show_flags_a_platform_without_a_liaising_member_until_one_is_assigned(cli, db, world):
    assert any("还没有登记协商议事平台" in line for line in _lines(cli("org", "show", "--org", "v1")))
    cli("org", "platform", "add", "--org", "v1", "--kind", "room", "--place", "村党群服务中心")
    flagged = [line for line in _lines(cli("org", "show", "--org", "v1")) if line.startswith("⚠")]
    assert "⚠ 平台 1 东风村协商议事室 没有联系的政协委员（L-四(二)）。" in flagged
    cli("org", "platform", "liaison", "--org", "v1", "--platform", "1", "--person", "cppcc-1")
    shown = _lines(cli("org", "show", "--org", "v1"))
    assert not any("联系的政协委员" in line and line.startswith("⚠") for line in shown)
    assert "联系的政协委员：李委员" in shown
    cli("org", "platform", "add", "--org", "v1", "--kind", "mobile_room")  # a second platform needs its own
    assert any(line.startswith("⚠ 平台 2") for line in _lines(cli("org", "show", "--org", "v1")))


def test_r_org_7_six_have_derived_entered_and_the_gaps(cli, db, services, world):
    v1 = orgs.get_org(db, "v1")
    assert six_have.six_have_gaps(db, v1, T0, services.settings.rules) == ["有制度", "有场所", "有标识", "有活动",
                                                                          "有成效"]  # 有组织: 王书记 and 10 members
    assert "已登记 东风村有制度：议事规则已上墙" in cli("org", "six-have", "--org", "v1", "--item", "制度", "--note",
                                               "议事规则已上墙").output
    cli("org", "six-have", "--org", "v1", "--item", "场所", "--note", "村党群服务中心二楼")
    cli("org", "six-have", "--org", "v1", "--item", "标识", "--note", "门口挂牌")
    db.expire_all()
    assert six_have.six_have_gaps(db, v1, T0, services.settings.rules) == ["有活动", "有成效"]
    cli("org", "six-have", "--org", "v1", "--item", "标识", "--missing")  # the sign came down
    db.expire_all()
    assert six_have.six_have_gaps(db, v1, T0, services.settings.rules) == ["有标识", "有活动", "有成效"]
    assert "由系统根据会议和议题自动判断" in cli("org", "six-have", "--org", "v1", "--item", "活动", "--note", "x").output
    assert "请写上说明" in cli("org", "six-have", "--org", "v1", "--item", "制度").output
    shown = _lines(cli("org", "show", "--org", "v1"))
    assert "✓ 有组织：召集人 1 人，成员 10 人" in shown and "✓ 有制度：议事规则已上墙" in shown
    assert "✗ 有标识：未登记" in shown and "六有缺：有标识、有活动、有成效" in shown
    for code in ("v2",):  # 红旗村: a convenor but no council members yet
        assert "有组织" in six_have.six_have_gaps(db, orgs.get_org(db, code), T0, services.settings.rules)


def _held_and_implemented(db, services):
    """A 东风村 meeting opened at T0 and its topic implemented at T0, by the domain steps with T0 as the clock."""
    meeting = make_meeting(db, services, starts_in=timedelta(days=8), now=T0 - timedelta(days=8))
    for openid in quorum(7, 7):
        attendance.check_in(db, meeting, who(db, openid), T0 - timedelta(minutes=10), services.settings)
    attendance.open_meeting(db, meeting, who(db, "c-v1"), T0, services.settings)
    topic = db.get(Topic, meeting.topic_id)
    topics.record_result(db, topic, type(topic.state).CONSENSUS, who(db, "c-v1"), T0)
    routes.confirm(db, topic, who(db, "p-v1"), T0)
    topics.implement(db, topic, who(db, "c-v1"), T0)
    topics.complete(db, topic, who(db, "c-v1"), T0, "路已修好")
    db.commit()


def test_r_org_7_six_have_period_months_decides_activities_and_results(db, services, world):
    _held_and_implemented(db, services)
    v1, tz = orgs.get_org(db, "v1"), services.settings.tz
    edge = add_months(T0, 3, tz)  # exactly three months after the meeting and the result

    def gaps(months, now):
        rules = services.settings.with_overrides(rules={"six_have_period_months": months}).rules
        return [g for g in six_have.six_have_gaps(db, v1, now, rules, tz) if g in ("有活动", "有成效")]

    assert gaps(3, edge) == []  # at the edge: still within the period
    assert gaps(3, edge + timedelta(minutes=1)) == ["有活动", "有成效"]  # one past it
    assert gaps(2, edge) == ["有活动", "有成效"]
    assert gaps(12, edge + timedelta(days=200)) == []  # the default year
    items = {i.code: i for i in six_have.six_have(db, v1, edge, services.settings.rules, tz)}
    assert items["activities"].how.startswith("近 12 个月开会 1 次") and items["results"].how == "近 12 个月落实议题 1 件"


def test_r_org_7_six_have_gaps_default_arguments_work_for_other_callers(db, world):
    assert "有活动" in six_have.six_have_gaps(db, orgs.get_org(db, "v1"))
    assert platforms.parse_kind("流动协商议事室").value == "mobile_room"
