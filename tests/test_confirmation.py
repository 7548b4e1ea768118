"""Meeting confirmation votes (R-MEET-7): checked-in attendees only, thresholds at their edges, outcome on the topic."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest
from sqlalchemy import select

from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from domain.meetings import attendance, confirm
from domain.votes import polls
from domain.votes.poll_create import start_confirmation
from domain.votes.tally import classify
from models import MeetingStatus, Notice, PollKind, Role, Topic, TopicEvent, TopicState
from tests.test_polls_support import NOW, SETTINGS, TZ, meeting, person, villagers, villages

C, B, N = TopicState.CONSENSUS, TopicState.BASIC_CONSENSUS, TopicState.NO_CONSENSUS
DEFAULT = (Fraction(4, 5), Fraction(2, 3))


@pytest.mark.parametrize(("agree", "against", "abstain", "expected"), [
    (4, 1, 0, C),    # exactly 4/5: consensus
    (8, 2, 0, C),    # exactly 4/5 again
    (79, 21, 0, B),  # just below 4/5
    (3, 1, 0, B),    # 3/4
    (2, 1, 0, B),    # exactly 2/3: basic consensus
    (200, 101, 0, N),  # just below 2/3
    (4, 0, 1, C),    # abstentions count among the votes cast: 4 of 5
    (2, 0, 1, B),    # 2 of 3
    (3, 0, 2, N),    # 3 of 5 is below 2/3 although nobody voted against
    (0, 0, 0, N),    # nobody voted
    (0, 0, 5, N),    # everyone abstained
    (5, 0, 0, C),
])
def test_r_meet_7_thresholds_at_their_edges(agree, against, abstain, expected):
    assert classify(agree, against, abstain, *DEFAULT) is expected


def test_r_meet_7_thresholds_follow_the_settings():
    assert classify(8, 2, 0, Fraction(9, 10), Fraction(3, 5)) is B
    assert classify(9, 1, 0, Fraction(9, 10), Fraction(3, 5)) is C
    assert classify(3, 2, 0, Fraction(9, 10), Fraction(3, 5)) is B
    assert classify(5, 4, 0, Fraction(9, 10), Fraction(3, 5)) is N


def _topic(db, org, proposer, state=TopicState.NOTICED):
    topic = Topic(org_id=org.id, year=2026, seq=1, number="2026-001", title="修缮村东主路", proposer_id=proposer.id,
                  text_hash="t" * 64, state=state)
    db.add(topic)
    db.flush()
    return topic


def _setup(db, attendees=5, checked_in=3, state=TopicState.NOTICED):
    _, v1, v2 = villages(db)
    convenor = person(db, "conv", v1, (v1, Role.CONVENOR))
    folks = villagers(db, v1, attendees)
    topic = _topic(db, v1, folks[0], state)
    held = meeting(db, v1, folks, checked_in, topic)
    return v1, v2, convenor, folks, topic, held


def _start(db, org, held, actor=None, **kw):
    return start_confirmation(db, org, held.id, actor=actor, now=NOW, settings=SETTINGS.polls, rules=SETTINGS.rules,
                              tz=TZ, **kw)


def test_r_meet_7_only_checked_in_attendees_may_vote(db):
    v1, _, convenor, folks, _, held = _setup(db)
    p = _start(db, v1, held, convenor)
    assert p.kind is PollKind.CONFIRMATION and [o.label for o in p.options] == ["同意", "反对", "弃权"]
    assert polls.count_eligible(db, p) == 3
    with pytest.raises(PermissionDenied, match="已签到的参会人员"):
        polls.cast_vote(db, p, folks[4], [1], NOW, tz=TZ)
    with pytest.raises(PermissionDenied):
        polls.cast_vote(db, p, convenor, [1], NOW, tz=TZ)  # not an attendee
    polls.cast_vote(db, p, folks[0], [1], NOW, tz=TZ)
    attendance.check_in(db, held, folks[4], NOW + timedelta(minutes=3), SETTINGS)  # arrives late
    assert polls.cast_vote(db, p, folks[4], [3], NOW + timedelta(minutes=4), tz=TZ).labels == ["弃权"]


def test_r_meet_7_outcome_is_classified_and_stored_on_the_topic(db):
    v1, _, convenor, folks, topic, held = _setup(db, attendees=5, checked_in=5)
    p = _start(db, v1, held, convenor)
    for who, choice in zip(folks, [1, 1, 1, 1, 2], strict=True):
        polls.cast_vote(db, p, who, [choice], NOW, tz=TZ)
    confirm.finish_vote(db, held, convenor, NOW + timedelta(minutes=10), SETTINGS)  # the chair's 结束表决
    assert p.outcome is C and "同意占 80%" in p.outcome_note and "4/5" in p.outcome_note
    db.refresh(topic)
    assert topic.state is C
    event = db.scalars(select(TopicEvent).where(TopicEvent.topic_id == topic.id)).all()[-1]
    assert event.to_state == C.value and event.actor_id is None  # the tally decided, not a person


def test_r_meet_7_confirmation_closes_by_itself_and_basic_consensus_is_recorded(db):
    v1, _, convenor, folks, topic, held = _setup(db, attendees=3, checked_in=3)
    p = _start(db, v1, held, convenor, minutes=30)
    for who, choice in zip(folks, [1, 1, 3], strict=True):
        polls.cast_vote(db, p, who, [choice], NOW, tz=TZ)
    assert polls.close_due(db, NOW + timedelta(minutes=31)) == ["poll v1-1"]
    assert p.outcome is B
    db.refresh(topic)
    assert topic.state is B


def test_r_meet_7_outcome_kept_on_the_poll_when_the_topic_refuses(db):
    v1, _, convenor, folks, topic, held = _setup(db, attendees=2, checked_in=2, state=TopicState.REGISTERED)
    p = _start(db, v1, held, convenor)
    polls.cast_vote(db, p, folks[0], [2], NOW, tz=TZ)
    confirm.finish_vote(db, held, convenor, NOW, SETTINGS)
    assert p.outcome is N and "议题状态未更新" in p.outcome_note
    db.refresh(topic)
    assert topic.state is TopicState.REGISTERED


def test_r_meet_7_thresholds_in_force_at_the_start_are_kept(db):
    v1, _, convenor, folks, _, held = _setup(db, attendees=5, checked_in=5)
    rules = SETTINGS.with_overrides(rules={"consensus_ratio": "9/10", "basic_consensus_ratio": "3/5"}).rules
    p = start_confirmation(db, v1, held.id, actor=convenor, now=NOW, settings=SETTINGS.polls, rules=rules, tz=TZ)
    for who, choice in zip(folks, [1, 1, 1, 1, 2], strict=True):
        polls.cast_vote(db, p, who, [choice], NOW, tz=TZ)
    confirm.finish_vote(db, held, convenor, NOW, SETTINGS)
    assert (p.consensus_ratio, p.basic_consensus_ratio) == ("9/10", "3/5")
    assert p.outcome is B  # 4/5 is below 9/10 but above 3/5


def test_r_meet_7_confirmation_refusals(db):
    v1, v2, convenor, folks, _, held = _setup(db, attendees=3, checked_in=0)
    with pytest.raises(InvalidInput, match="还没有人签到"):
        _start(db, v1, held, convenor)
    for who in folks:
        attendance.check_in(db, held, who, NOW, SETTINGS)
    with pytest.raises(PermissionDenied):
        _start(db, v1, held, folks[0])  # a plain attendee
    with pytest.raises(NotFound):
        _start(db, v2, held)  # the meeting belongs to another village
    first = _start(db, v1, held, convenor)
    with pytest.raises(Conflict, match=f"表决 {first.number} 还在进行"):
        _start(db, v1, held, convenor)
    held.status = MeetingStatus.CANCELLED
    with pytest.raises(PermissionDenied, match="结束表决"):
        polls.close_poll(db, first, convenor, NOW, TZ)  # not through 结束投票
    confirm.finish_vote(db, held, convenor, NOW, SETTINGS)
    with pytest.raises(InvalidInput, match="取消或结束"):
        _start(db, v1, held, convenor)


def test_r_meet_7_confirmation_through_the_chat(bot, db):
    v1, _, convenor, folks, topic, held = _setup(db, attendees=4, checked_in=4)
    db.commit()
    started = bot.send(convenor.openid, f"发起确认 {held.id}")
    assert "已发起表决 1" in started and "已签到的 4 人" in started and "回复“同意”“反对”或“弃权”" in started
    for who, typed in zip(folks, ["同意", "1", "一", "2"], strict=True):
        assert "投票成功" in bot.send(who.openid, f"投票 1 {typed}")
    assert "会议主持人" in bot.send(convenor.openid, "结束投票 1")  # a meeting's vote ends by its chair's 结束表决
    closed = bot.send(convenor.openid, "结束表决")
    assert "同意 3、反对 1、弃权 0，同意占 75%" in closed
    result = bot.post(bot.pusher.text(folks[0].openid, "结果 1"))
    assert result.reply is not None and result.reply["MsgType"] == "image"  # the chart, uploaded to WeChat
    db.expire_all()
    pushed = db.scalars(select(Notice.body).where(Notice.body.contains("表决结果：基本达成共识"))).all()
    assert pushed, "the result text follows the picture through the outbox"
    db.expire_all()
    assert db.get(Topic, topic.id).state is B
    assert "请发送“发起确认 会议编号”" in bot.send(convenor.openid, "发起确认")
    assert "没有编号为 999 的会议" in bot.send(convenor.openid, "发起确认 999")

