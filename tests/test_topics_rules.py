"""Rules of docs/rules.md for topics, proved on the domain operations (R-TOPIC-1..8, R-ROLE-4, R-ORG-1, R-RES-7)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain.errors import Conflict, InvalidInput, NotBound, PermissionDenied
from domain.orgs import people
from domain.topics import audit
from domain.topics import operations as topics
from domain.topics import refs as topic_refs
from domain.topics import routes as topic_routes
from domain.topics.states import IllegalTransition
from models import Organisation, Topic, TopicCosigner, TopicEvent, TopicSource, TopicState
from models.topics import ScreeningMethod
from tests.topic_world import NOW, advance, build, named, new_topic, notices_to, person, who


@pytest.fixture
def world(db):
    return build(db)


def _count(db, model):
    return db.scalar(select(func.count()).select_from(model))


# ---- R-TOPIC-1: anyone may propose; registered with a number and its proposers -----------------

def test_r_topic_1_proposal_gets_number_per_org_and_year(db, services, world):
    first = new_topic(db, services)
    second = new_topic(db, services, "村口路灯坏了三盏")
    other = new_topic(db, services, "修一下村东头的路", openid="u-wang")
    next_year = new_topic(db, services, "村口路灯坏了三盏", now=NOW.replace(year=2027))
    assert (first.number, second.number) == ("2026-001", "2026-002")
    assert other.number == "2026-001" and other.org.code == "v2"
    assert next_year.number == "2027-001"
    assert first.proposer.real_name == "张三" and first.source is TopicSource.RESIDENT
    event = audit.timeline(db, first)[0]
    assert (event.action, event.from_state, event.to_state) == ("register", None, "registered")


def test_r_topic_1_member_proposal_is_committee_source(db, services, world):
    created = new_topic(db, services, "建议村里办个老年食堂", openid="m-v1-1")
    assert created.source is TopicSource.MEMBER


def test_r_topic_1_cosign_once_and_proposer_is_told(db, services, world):
    topic = new_topic(db, services)
    topics.cosign(db, topic, who(db, "u-li"), NOW)
    db.commit()
    assert [c.person.real_name for c in topic.cosigners] == ["李四"]
    assert any("李四联名支持" in body for _, body in notices_to(db, "u-zhang", topic))
    with pytest.raises(Conflict, match="已经联名过"):
        topics.cosign(db, topic, who(db, "u-li"), NOW)
    db.rollback()
    with pytest.raises(Conflict, match="自己提的"):
        topics.cosign(db, topic, who(db, "u-zhang"), NOW)
    db.rollback()
    assert _count(db, TopicCosigner) == 1


def test_r_topic_1_cosign_closed_once_submitted(db, services, world):
    topic = advance(db, services, new_topic(db, services), TopicState.SUBMITTED)
    with pytest.raises(IllegalTransition, match="不能联名"):
        topics.cosign(db, topic, who(db, "u-li"), NOW)


def test_r_topic_1_office_registers_other_sources(db, services, world):
    v1 = db.get(Organisation, world.v1)
    created = topics.register(db, v1, "落实秸秆禁烧政策", source=TopicSource.PARTY_GOVERNMENT,
                              actor=who(db, "c-v1"), now=NOW, settings=services.settings,
                              proposer=who(db, "p-v1"), cosigners=[who(db, "u-li")])
    db.commit()
    assert created.source is TopicSource.PARTY_GOVERNMENT and created.proposer.openid == "p-v1"
    assert created.registered_by_id == who(db, "c-v1").id
    assert [c.person.openid for c in created.cosigners] == ["u-li"]
    with pytest.raises(PermissionDenied):
        topics.register(db, v1, "公开征集：村规民约修订", source=TopicSource.OPEN_CALL, actor=who(db, "u-zhang"),
                        now=NOW, settings=services.settings)


# ---- R-TOPIC-2: scope; bad input never half-stored ------------------------------------------------

def test_r_topic_2_unbound_sender_cannot_propose(db, services, world):
    stranger = person(db, "u-stranger", "路人")
    with pytest.raises(NotBound):
        topics.propose(db, stranger, "修路", NOW, settings=services.settings)
    db.rollback()
    assert _count(db, Topic) == 0


@pytest.mark.parametrize("text, match", [
    ("", "空的"), ("   ", "空的"), ("？？？！！", "看不出"), ("12345", "看不出"), ("👍👍", "看不出"),
    ("修" * 501, "太长了"),
])
def test_r_topic_2_empty_junk_and_too_long_refused(db, services, world, text, match):
    with pytest.raises(InvalidInput, match=match):
        topics.propose(db, who(db, "u-zhang"), text, NOW, settings=services.settings)
    db.rollback()
    assert _count(db, Topic) == 0 and _count(db, TopicEvent) == 0


def test_r_topic_2_duplicate_same_person_same_text_same_local_day(db, services, world):
    first = new_topic(db, services, "修一下村东头的路")
    with pytest.raises(Conflict, match=first.number):
        topics.propose(db, who(db, "u-zhang"), " 修一下村东头的路 ", NOW + timedelta(hours=10),
                       settings=services.settings)  # 20:00 local, same day
    db.rollback()
    late = NOW + timedelta(hours=14)  # 00:00 next day in Asia/Shanghai
    assert new_topic(db, services, "修一下村东头的路", now=late).number == "2026-002"
    assert new_topic(db, services, "修一下村东头的路", openid="u-li").number == "2026-003"


def test_r_topic_2_long_text_keeps_title_and_detail(db, services, world):
    text = "村东头的路需要修。" + "雨天积水很深，老人孩子出行不便" * 15
    created = new_topic(db, services, text)
    assert created.title == "村东头的路需要修。" and created.detail.startswith("雨天积水")


# ---- R-TOPIC-3: screening method recorded --------------------------------------------------------

def test_r_topic_3_screening_records_method_and_reference(db, services, world):
    topic = new_topic(db, services)
    topics.screen(db, topic, who(db, "c-v1"), NOW, ScreeningMethod.ONLINE_VOTE, "投票 12")
    db.commit()
    assert topic.state is TopicState.SCREENING
    assert (topic.screening_method, topic.screening_ref) == (ScreeningMethod.ONLINE_VOTE, "投票 12")
    assert audit.timeline(db, topic)[-1].reason == "网络投票（投票 12）"
    with pytest.raises(InvalidInput, match="筛选方式"):
        topics.screen(db, new_topic(db, services, "另一件事"), who(db, "c-v1"), NOW, "coin_toss")


def test_r_topic_3_no_submission_without_screening(db, services, world):
    topic = new_topic(db, services)
    with pytest.raises(IllegalTransition, match="还没有筛选"):
        topics.submit(db, topic, who(db, "c-v1"), NOW)


# ---- R-TOPIC-4: approval chain per level, filing with the upper level -----------------------------

def test_r_topic_4_village_topic_reviewed_by_village_then_approved_by_township(db, services, world):
    topic = advance(db, services, new_topic(db, services), TopicState.SUBMITTED)
    assert any("请审核" in body for _, body in notices_to(db, "p-v1", topic))
    with pytest.raises(PermissionDenied, match="东风村的党组织审核人"):
        topics.approve(db, topic, who(db, "p-t1"), NOW)
    db.rollback()
    topics.approve(db, topic, who(db, "p-v1"), NOW)
    db.commit()
    assert topic.state is TopicState.REVIEWED
    assert any("请批准" in body for _, body in notices_to(db, "p-t1", topic))
    with pytest.raises(PermissionDenied, match="幸福镇的党组织审核人"):
        topics.approve(db, topic, who(db, "p-v1"), NOW)
    db.rollback()
    topics.approve(db, topic, who(db, "p-t1"), NOW, "同意")
    db.commit()
    assert topic.state is TopicState.APPROVED
    filing = audit.timeline(db, topic)[-1]
    assert (filing.action, filing.reason) == ("file", "报幸福镇、示范县协商办备案")
    for openid in ("o-t1", "c-t1", "o-c1"):
        assert any("【备案】" in body for _, body in notices_to(db, openid, topic)), openid


def test_r_topic_4_township_topic_approved_by_township_committee_directly(db, services, world):
    town = db.get(Organisation, world.town)
    topic = topics.register(db, town, "全镇垃圾分类推进", source=TopicSource.PARTY_GOVERNMENT,
                            actor=who(db, "c-t1"), now=NOW, settings=services.settings)
    topics.screen(db, topic, who(db, "c-t1"), NOW, "hearing")
    topics.submit(db, topic, who(db, "c-t1"), NOW)
    topics.approve(db, topic, who(db, "p-t1"), NOW)
    db.commit()
    assert topic.state is TopicState.APPROVED
    assert audit.timeline(db, topic)[-1].reason == "报示范县协商办备案"
    assert notices_to(db, "o-c1", topic)


def test_r_topic_4_return_needs_reason_then_resubmit(db, services, world):
    topic = advance(db, services, new_topic(db, services), TopicState.REVIEWED)
    with pytest.raises(InvalidInput, match="说明"):
        topics.return_topic(db, topic, who(db, "p-t1"), NOW, "  ")
    db.rollback()
    topics.return_topic(db, topic, who(db, "p-t1"), NOW, "路段不清楚")
    db.commit()
    assert topic.state is TopicState.RETURNED and topic.return_reason == "路段不清楚"
    assert any("路段不清楚" in body for _, body in notices_to(db, "u-zhang", topic))
    topics.submit(db, topic, who(db, "c-v1"), NOW)
    db.commit()
    assert topic.state is TopicState.SUBMITTED


# ---- R-TOPIC-5: research before any meeting --------------------------------------------------------

def test_r_topic_5_no_meeting_before_research(db, services, world):
    from domain.meetings import schedule as meetings

    topic = advance(db, services, new_topic(db, services), TopicState.APPROVED)
    with pytest.raises(IllegalTransition, match="不调研不协商"):
        meetings.schedule_meeting(db, topic, NOW + timedelta(days=10), "村委会议室", who(db, "c-v1"), NOW,
                                  settings=services.settings)
    db.rollback()
    with pytest.raises(InvalidInput, match="调研的说明"):
        topics.research(db, topic, who(db, "c-v1"), NOW, "")
    db.rollback()
    topics.research(db, topic, who(db, "c-v1"), NOW, "政策：一事一议；走访 30 户，28 户同意")
    db.commit()
    assert topic.state is TopicState.RESEARCHED and "28 户" in topic.research_note


# ---- R-TOPIC-7: re-consultation with approval, at most two consultations within a year --------------------------------

def _no_consensus(db, services, topic, now):
    advance(db, services, topic, TopicState.CONSULTED, now=now)
    topics.record_result(db, topic, TopicState.NO_CONSENSUS, who(db, "c-v1"), now, "分歧较大")
    db.commit()


def test_r_topic_7_consulted_at_most_twice_within_a_year_the_first_included(db, services, world):
    topic = new_topic(db, services)
    _no_consensus(db, services, topic, NOW)  # the first consultation counts
    topics.reconsult(db, topic, who(db, "c-v1"), NOW, "补充方案后再议", settings=services.settings)
    db.commit()
    assert topic.state is TopicState.SUBMITTED  # goes back for party approval
    second = NOW + timedelta(days=60)
    _no_consensus(db, services, topic, second)
    with pytest.raises(IllegalTransition, match="一年内已经协商 2 次了.*最多协商 2 次") as caught:
        topics.reconsult(db, topic, who(db, "c-v1"), second, "再议", settings=services.settings)
    assert "2027年" not in caught.value.reply and "3月2日" in caught.value.reply  # a year after the first
    db.rollback()
    with pytest.raises(IllegalTransition):
        topics.reconsult(db, topic, who(db, "c-v1"), NOW + timedelta(days=364), "再议", settings=services.settings)
    db.rollback()
    topics.reconsult(db, topic, who(db, "c-v1"), NOW + timedelta(days=366), "一年后再议", settings=services.settings)
    db.commit()
    assert topic.reconsult_count == 2


def test_r_topic_7_consult_max_per_year_follows_the_setting(db, services, world):
    thrice = services.settings.with_overrides(rules={"consult_max_per_year": 3})
    topic = new_topic(db, services)
    _no_consensus(db, services, topic, NOW)
    topics.reconsult(db, topic, who(db, "c-v1"), NOW, "再议", settings=thrice)
    db.commit()
    _no_consensus(db, services, topic, NOW + timedelta(days=30))
    topics.reconsult(db, topic, who(db, "c-v1"), NOW + timedelta(days=30), "再议", settings=thrice)
    db.commit()
    assert topic.state is TopicState.SUBMITTED
    once = services.settings.with_overrides(rules={"consult_max_per_year": 1})
    _no_consensus(db, services, topic, NOW + timedelta(days=60))
    with pytest.raises(IllegalTransition, match="最多协商 1 次"):
        topics.reconsult(db, topic, who(db, "c-v1"), NOW + timedelta(days=60), "再议", settings=once)


def test_r_topic_7_consensus_cannot_be_reconsulted(db, services, world):
    topic = advance(db, services, new_topic(db, services), TopicState.CONSULTED)
    topics.record_result(db, topic, TopicState.CONSENSUS, None, NOW)
    db.commit()
    with pytest.raises(IllegalTransition, match="不需要再次协商"):
        topics.reconsult(db, topic, who(db, "c-v1"), NOW, "再议", settings=services.settings)


# ---- R-TOPIC-8: every change recorded: who, when, from, to, why -------------------------------------

def test_r_topic_8_every_change_recorded_and_pushed(db, services, world):
    topic = new_topic(db, services)
    topics.cosign(db, topic, who(db, "u-li"), NOW)
    advance(db, services, topic, TopicState.NOTICED)
    topics.record_result(db, topic, TopicState.CONSENSUS, who(db, "chair-v1"), NOW, "全票同意")
    topic_routes.confirm(db, topic, who(db, "p-v1"), NOW)
    topics.implement(db, topic, who(db, "c-v1"), NOW)
    topics.complete(db, topic, who(db, "c-v1"), NOW, "路已修好")
    topics.evaluate(db, topic, who(db, "c-v1"), NOW, "群众满意")
    db.commit()
    events = audit.timeline(db, topic)
    moves = [(e.from_state, e.to_state) for e in events if e.action not in ("cosign", "file")]
    states = [None, "registered", "screening", "submitted", "reviewed", "approved", "researched", "noticed",
              "consensus", "confirmed", "implementing", "implemented", "evaluated"]
    assert moves == list(zip(states[:-1], states[1:], strict=True))
    assert all(e.actor_id is not None and e.at == NOW for e in events)
    assert events[-1].reason == "群众满意"
    for openid in ("u-zhang", "u-li"):
        bodies = [body for _, body in notices_to(db, openid, topic)]
        assert any("达成共识" in b for b in bodies) and any("已落实：路已修好" in b for b in bodies), openid
    assert audit.verify(db).ok


def test_r_topic_8_result_from_noticed_by_tally_without_person(db, services, world):
    topic = advance(db, services, new_topic(db, services), TopicState.NOTICED)
    topics.record_result(db, topic, TopicState.BASIC_CONSENSUS, None, NOW, "同意 7 票，反对 2 票")
    db.commit()
    event = audit.timeline(db, topic)[-1]
    assert (event.actor_id, event.from_state, event.to_state) == (None, "noticed", "basic_consensus")
    assert topic.consulted_at == NOW
    with pytest.raises(InvalidInput):
        topics.record_result(db, topic, TopicState.APPROVED, None, NOW)


# ---- R-ROLE-4 / R-ORG-1 / R-RES-7 ----------------------------------------------------------------------

def test_r_role_4_other_village_cannot_act(db, services, world):
    topic = new_topic(db, services)
    with pytest.raises(PermissionDenied, match="东风村的召集人"):
        topics.screen(db, topic, who(db, "c-v2"), NOW, "questionnaire")
    db.rollback()
    with pytest.raises(PermissionDenied, match="东风村的村民"):
        topics.cosign(db, topic, who(db, "u-wang"), NOW)
    db.rollback()
    advance(db, services, topic, TopicState.SUBMITTED)
    with pytest.raises(PermissionDenied):
        topics.approve(db, topic, who(db, "p-v2"), NOW)
    db.rollback()
    with pytest.raises(PermissionDenied, match="提议人或东风村的召集人"):
        topics.withdraw(db, new_topic(db, services, "另一件事"), who(db, "u-li"), NOW)
    db.rollback()
    assert topic.state is TopicState.SUBMITTED


def test_r_role_4_revoked_role_no_longer_acts(db, services, world):
    topic = new_topic(db, services)
    people.revoke_role(db, who(db, "c-v1"), db.get(Organisation, world.v1), "convenor")
    db.commit()
    with pytest.raises(PermissionDenied):
        topics.screen(db, topic, who(db, "c-v1"), NOW, "questionnaire")


def test_r_org_1_parents_see_children_topics_others_do_not(db, services, world):
    topic = new_topic(db, services)
    for openid in ("o-t1", "o-c1", "p-t1", "c-t1", "u-li", "c-v1"):
        assert topic_refs.can_view(db, who(db, openid), topic), openid
    for openid in ("u-wang", "c-v2", "p-v2"):
        assert not topic_refs.can_view(db, who(db, openid), topic), openid
    assert world.v1 in {o.id for o in topic_refs.visible_orgs(db, who(db, "o-c1"))}


def test_r_res_7_upper_office_may_evaluate_children_topics(db, services, world):
    topic = advance(db, services, new_topic(db, services), TopicState.NOTICED)
    topics.record_result(db, topic, TopicState.CONSENSUS, who(db, "c-v1"), NOW)
    topic_routes.confirm(db, topic, who(db, "p-v1"), NOW)
    topics.implement(db, topic, who(db, "c-v1"), NOW)
    topics.complete(db, topic, who(db, "c-v1"), NOW, "路修好了")
    db.commit()
    with pytest.raises(PermissionDenied):
        topics.evaluate(db, topic, who(db, "u-zhang"), NOW, "好")
    db.rollback()
    topics.evaluate(db, topic, who(db, "o-c1"), NOW, "过程规范，群众满意")
    db.commit()
    assert topic.state is TopicState.EVALUATED


def test_r_res_2_pushes_reach_a_proxy_when_the_proposer_has_no_wechat(db, services, world):
    elder = named(db, "孙大爷")
    created = topics.propose(db, elder, "村里装几个健身器材", NOW, settings=services.settings, agent=who(db, "g-v1"))
    db.commit()
    topics.screen(db, created, who(db, "c-v1"), NOW, "questionnaire")
    db.commit()
    assert any("进入筛选" in body for _, body in notices_to(db, "g-v1", created))
