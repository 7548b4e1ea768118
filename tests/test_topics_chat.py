"""Topics through the webhook: the whole life from 提议 to 已评价, dialogs, bad input, roles and organisations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from models import Delivery, DeliveryStatus, Meeting, Notice, Person, Topic, TopicState
from tests.topic_world import build, run_cli

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def world(db):
    return build(db)


def _topic(db, title):
    db.expire_all()
    return db.scalar(select(Topic).where(Topic.title == title))


def _pushed(db, openid, topic):
    """Bodies of the queued pushes about a topic for one person (Delivery rows, not yet sent)."""
    stmt = (select(Notice.body, Delivery.status).join(Delivery, Delivery.notice_id == Notice.id)
            .join(Person, Person.id == Delivery.person_id)
            .where(Person.openid == openid, Notice.topic_id == topic.id).order_by(Notice.id))
    rows = db.execute(stmt).all()
    assert all(status is DeliveryStatus.PENDING for _, status in rows)
    return [body for body, _ in rows]


def test_whole_life_from_proposal_to_evaluation(bot, db, services, world, fake_wechat, tmp_path):
    reply = bot.send("u-zhang", "提议 修一下村东头的路")
    topic = _topic(db, "修一下村东头的路")
    n = topic.number
    assert f"已登记，编号 {n}" in reply and f"议题 {n}" in reply and f"联名 {n}" in reply
    assert "已联名" in bot.send("u-li", f"联名 {n}")
    assert f"筛选 {n} 问卷调查" in bot.send("c-v1", "待审")
    assert "开始筛选（问卷调查）" in bot.send("c-v1", f"筛选 {topic.seq} 问卷调查 问卷3")
    assert "已报东风村党组织审核" in bot.send("c-v1", f"报审 {n}")
    assert f"通过 {n}" in bot.send("p-v1", "待审")
    assert "已报幸福镇党委批准" in bot.send("p-v1", f"通过 {topic.seq}")
    assert f"东风村 {n}" in bot.send("p-t1", "待审")
    assert "已批准 东风村 议题" in bot.send("p-t1", f"通过 {topic.seq} 同意立项")
    assert "调研已登记" in bot.send("c-v1", f"调研 {n} 走访 30 户，28 户同意修路")
    day = datetime.now(UTC).astimezone(TZ) + timedelta(days=8)
    assert "公示满 7 天" in bot.send("c-v1", f"安排会议 {n} {(day - timedelta(days=2)):%m月%d日} 9:00 村委会议室")
    reply = bot.send("c-v1", f"安排会议 {n} {day.month}月{day.day}日 上午9点 村委会议室")
    assert "已安排" in reply and "09:00" in reply and "村委会议室" in reply
    code = db.scalar(select(Meeting.checkin_code).where(Meeting.topic_id == topic.id))
    assert code and f"签到 {code}" in reply
    for args in (["result", n, "--outcome", "consensus", "--by", "chair-v1", "--note", "举手表决全票通过"],
                 ["confirm", n, "--by", "p-v1"],
                 ["implement", n, "--by", "c-v1"],
                 ["implement", n, "--finished", "--by", "c-v1", "--note", "路面已硬化"],
                 ["evaluate", n, "--by", "o-c1", "--note", "群众满意"]):
        result = run_cli(services, tmp_path, "topic", *args, "--org", "v1")
        assert result.exit_code == 0, result.output
    assert _topic(db, "修一下村东头的路").state is TopicState.EVALUATED
    shown = bot.send("u-zhang", f"议题 {n}")
    assert "（已评价）" in shown and "评价：群众满意" in shown and "下一步：已办结" in shown
    expected = ["进入筛选（问卷调查（问卷3））", "已报党组织审核", "已通过村党组织审核，已报幸福镇党委批准", "已经批准",
                "调研已完成", "协商会议定于", "达成共识", "已开始落实", "已落实：路面已硬化", "评价已完成：群众满意"]
    for openid in ("u-zhang", "u-li"):
        bodies = _pushed(db, openid, topic)
        for words in expected:
            assert any(words in b and f"（东风村 {n}）" in b for b in bodies), (openid, words)
    assert any("李四联名支持您的议题" in b for b in _pushed(db, "u-zhang", topic))
    assert fake_wechat.calls(path="/cgi-bin/message/custom/send") == []  # nothing is sent inside a request
    shown_cli = run_cli(services, tmp_path, "topic", "show", n, "--org", "v1").output
    assert "张三 提出议题（群众出题）" in shown_cli and "镇党委 批准：同意立项" in shown_cli
    assert "审计记录完好" in run_cli(services, tmp_path, "audit", "verify").output


def test_propose_dialog_with_edit_and_bad_answer(bot, db, world):
    assert "想商量什么事" in bot.send("u-zhang", "提议")
    assert "看不出" in bot.send("u-zhang", "？？？")
    assert "补充说明" in bot.send("u-zhang", "村里路灯坏了")
    assert "请确认" in bot.send("u-zhang", "在村口")
    assert "重新说说" in bot.send("u-zhang", "修改")
    bot.send("u-zhang", "村口路灯坏了三盏")
    summary = bot.send("u-zhang", "没有")
    assert "议题：村口路灯坏了三盏" in summary and "说明" not in summary.split("\n", 2)[2]
    assert "回复“确认”提交" in bot.send("u-zhang", "嗯")
    assert "已登记" in bot.send("u-zhang", "确认")
    assert _topic(db, "村口路灯坏了三盏").detail == ""
    assert "想商量什么事" in bot.send("u-zhang", "提议")
    assert "已退出" in bot.send("u-zhang", "取消")
    assert db.scalar(select(Topic.id).where(Topic.title == "村里路灯坏了")) is None


def test_r_topic_2_bad_proposals_get_clear_replies(bot, db, world):
    assert "还没有绑定" in bot.send("u-nobody", "提议 修路")
    assert "还没有绑定" in bot.send("u-nobody", "提议")
    assert "看不出" in bot.send("u-zhang", "提议 ？？？！！！")
    assert "太长了" in bot.send("u-zhang", "提议 " + "路" * 501)
    bot.send("u-zhang", "提议 修一下村东头的路")
    assert "今天已经提过这个议题了" in bot.send("u-zhang", "提议 修一下村东头的路")
    assert db.scalars(select(Topic)).all() and len(db.scalars(select(Topic)).all()) == 1
    assert "请发送“联名 编号”" in bot.send("u-li", "联名")
    assert "编号写法不对" in bot.send("u-li", "联名 abc")
    assert "没有找到议题" in bot.send("u-li", "联名 99")


def test_r_role_4_chat_refuses_other_villages_and_missing_roles(bot, db, world):
    bot.send("u-zhang", "提议 修一下村东头的路")
    n = _topic(db, "修一下村东头的路").number
    assert "没有这项权限" in bot.send("u-zhang", "待审")
    assert "没有这项权限" in bot.send("u-zhang", f"筛选 {n} 问卷调查")
    assert "只有东风村的召集人可以筛选" in bot.send("c-v2", f"筛选 v1/{n} 问卷调查")
    assert "没有找到议题" in bot.send("c-v2", f"筛选 {n} 问卷调查")  # a bare number looks in 红旗村 only
    assert "只有东风村的村民可以联名" in bot.send("u-wang", f"联名 v1/{n}")
    assert "没有找到议题" in bot.send("u-wang", f"议题 v1/{n}")
    assert "只有提议人或东风村的召集人可以撤回" in bot.send("u-li", f"撤回 {n}")
    assert "已撤回" in bot.send("u-zhang", f"撤回 {n}")


def test_township_reviewer_names_the_village_when_numbers_clash(bot, db, services, world):
    for openid, convenor in (("u-zhang", "c-v1"), ("u-wang", "c-v2")):
        bot.send(openid, "提议 修一下村里的路")
        bot.send(convenor, "筛选 1 直接对话")
        bot.send(convenor, "报审 1")
    bot.send("p-v1", "通过 1")
    bot.send("p-v2", "通过 1")
    listing = bot.send("p-t1", "待审")
    assert "通过 东风村" in listing and "通过 红旗村" in listing and "v1/" not in listing
    assert "请在编号前写上村（社区）名" in bot.send("p-t1", "通过 1")
    assert "已批准 红旗村" in bot.send("p-t1", "通过 红旗村1")
    assert "已批准 东风村" in bot.send("p-t1", "通过 1")  # only one is still waiting for the township


def test_return_needs_reason_and_resubmit_in_chat(bot, db, world):
    bot.send("u-zhang", "提议 修一下村东头的路")
    bot.send("c-v1", "筛选 1 小组协商")
    bot.send("c-v1", "报审 1")
    assert "要写明理由" in bot.send("p-v1", "退回 1")
    assert "已退回 东风村 议题" in bot.send("p-v1", "退回 1 请写明是哪一段路")
    assert "修改后 报审" in bot.send("c-v1", "待审")
    assert "已报东风村党组织审核" in bot.send("c-v1", "报审 1")
    detail = bot.send("u-zhang", "议题 1")
    assert "东风党支部 退回：请写明是哪一段路" in detail


def test_help_shows_topic_keywords_by_role_and_lists_for_supervisors(bot, db, world):
    villager = bot.send("u-zhang", "帮助")
    assert "提议 内容" in villager and "我的议题" in villager and "待审" not in villager
    assert "待审" in bot.send("c-v1", "帮助") and "代办" in bot.send("g-v1", "帮助")
    bot.send("u-zhang", "提议 修一下村东头的路")
    bot.send("u-wang", "提议 村里建个文化广场")
    listing = bot.send("o-c1", "议题清单")
    assert "东风村" in listing and "红旗村" in listing
    assert "您还没有提过" in bot.send("u-li", "我的议题")
    assert "张*" in bot.send("u-li", "议题 1") and "张三" in bot.send("c-v1", "议题 1")


@pytest.mark.parametrize("typed, local, rest", [
    ("2026-12-01 09:00 村委会议室", (2026, 12, 1, 9, 0), "村委会议室"),
    ("12月1日 9:00 村部", (2026, 12, 1, 9, 0), "村部"),
    ("12月1日下午3点半 文化礼堂", (2026, 12, 1, 15, 30), "文化礼堂"),
    ("12/1 上午9点 村部", (2026, 12, 1, 9, 0), "村部"),
    ("2027年1月5号 14点20分 村部", (2027, 1, 5, 14, 20), "村部"),
    ("3月1日 9:00 村部", (2027, 3, 1, 9, 0), "村部"),  # already past this year: next year
])
def test_meeting_time_as_typed_in_chat(typed, local, rest):
    from handlers.topic_input import parse_when

    now = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    when, tail = parse_when(typed, now, TZ)
    assert (when.year, when.month, when.day, when.hour, when.minute) == local and tail == rest


@pytest.mark.parametrize("typed", ["明天 9点 村部", "13月1日 9:00 村部", "12月1日 村部", "2月30日 9:00 村部"])
def test_meeting_time_not_understood(typed):
    from domain.errors import InvalidInput
    from handlers.topic_input import parse_when

    with pytest.raises(InvalidInput, match="没看懂会议时间"):
        parse_when(typed, datetime(2026, 11, 23, 7, 0, tzinfo=UTC), TZ)


def test_text_is_stored_as_typed_with_chinese_punctuation(bot, db, world):
    bot.send("u-zhang", "提议   村东头的路，下雨全是泥！")
    stored = _topic(db, "村东头的路，下雨全是泥")  # as typed, without the sentence-final mark
    assert stored is not None and stored.proposer.openid == "u-zhang"


def test_r_topic_1_a_villager_proposes_a_township_topic_and_other_villages_cosign(bot, db, services, world):
    reply = bot.send("u-zhang", "向镇里提议 镇上集市缺停车位，赶集天堵到国道上")
    topic = _topic(db, "镇上集市缺停车位，赶集天堵到国道上")
    assert topic.org.name == "幸福镇" and topic.proposer.openid == "u-zhang"
    assert f"联名 {topic.ref}" in reply and "幸福镇各村（社区）的乡亲们" in reply
    assert "已联名" in bot.send("u-wang", f"联名 {topic.ref}")  # 红旗村: another village below the township
    assert "已联名" in bot.send("u-li", f"联名 {topic.ref}")
    assert "幸福镇 议题" in bot.send("u-wang", f"议题 {topic.ref}")
    db.expire_all()
    assert {c.person.openid for c in _topic(db, topic.title).cosigners} == {"u-wang", "u-li"}


def test_r_topic_1_village_topics_stay_cosigned_by_their_own_village(bot, db, services, world):
    bot.send("u-zhang", "提议 村东头的路灯坏了")
    topic = _topic(db, "村东头的路灯坏了")
    assert "只有东风村的村民可以联名" in bot.send("u-wang", f"联名 {topic.ref}")


def test_r_topic_1_a_township_topic_is_not_cosigned_from_another_township(bot, db, services, world):
    from domain.orgs import tree as orgs
    from models import Organisation, OrgKind

    orgs.create_org(db, code="t2", name="长安镇", kind=OrgKind.TOWNSHIP, parent_code="c1")
    far = orgs.create_org(db, code="v9", name="远山村", kind=OrgKind.VILLAGE, parent_code="t2")
    stranger = db.scalar(select(Person).where(Person.openid == "u-wang"))
    stranger.home_org = db.get(Organisation, far.id)
    db.commit()
    bot.send("u-zhang", "向镇里提议 镇卫生院周末开门诊")
    topic = _topic(db, "镇卫生院周末开门诊")
    assert "只有幸福镇和它下面各村（社区）的群众可以联名" in bot.send("u-wang", f"联名 {topic.ref}")


def test_l_3_2_cppcc_sector_topic_first_reviewed_by_the_committee_then_approved_by_the_party_group(
        bot, db, services, world):
    from domain.orgs import people
    from domain.orgs import tree as orgs
    from domain.topics import operations as topics
    from models import Organisation, OrgKind, Role
    from tests.topic_world import NOW, person, who

    sector = orgs.create_org(db, code="s1", name="农业界别", kind=OrgKind.CPPCC_SECTOR, parent_code="c1")
    county = db.get(Organisation, world.county)
    people.grant_role(db, person(db, "sec-conv", "界别召集人"), sector, Role.CONVENOR)
    people.grant_role(db, person(db, "committee", "农业专委会"), county, Role.CPPCC_COMMITTEE)
    people.grant_role(db, person(db, "party-group", "县政协党组"), county, Role.PARTY_REVIEWER)
    topic = topics.register(db, sector, "高标准农田建设后的管护", source="member", actor=who(db, "sec-conv"),
                            now=NOW, settings=services.settings)
    topics.screen(db, topic, who(db, "sec-conv"), NOW, "dialogue", "")
    topics.submit(db, topic, who(db, "sec-conv"), NOW)
    db.commit()
    assert "农业界别" in bot.send("committee", "待审")
    refused = bot.send("party-group", f"通过 {topic.ref}")  # the party group does not review first
    assert refused == "只有示范县协商办的政协专委会可以审核议题 2026-001。"
    assert "已初审通过 农业界别 议题 2026-001，已报政协党组审定" in bot.send("committee", f"通过 {topic.ref} 同意上报")
    db.expire_all()
    assert _topic(db, topic.title).state is TopicState.REVIEWED
    assert any("请政协党组审定" in body for body in _bodies(db, "party-group"))
    assert "农业界别" in bot.send("party-group", "待审")
    bot.send("party-group", f"通过 {topic.ref} 同意")
    db.expire_all()
    assert _topic(db, topic.title).state is TopicState.APPROVED


def _bodies(db, openid):
    stmt = (select(Notice.body).join(Delivery, Delivery.notice_id == Notice.id)
            .join(Person, Person.id == Delivery.person_id).where(Person.openid == openid))
    return list(db.scalars(stmt))
