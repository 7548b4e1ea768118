"""Polls in the domain: one vote per eligible person while open, anonymity, concurrency, closing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select

from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from domain.votes import polls
from domain.votes.poll_create import PollDraft, check_draft, create_poll
from domain.votes.tally import PollPhase, count_votes, phase
from models import Audience, Base, Delivery, Notice, Poll, PollBallot, PollVoter, Role
from tests.test_polls_support import NOW, SETTINGS, TZ, person, poll, villagers, villages


def _vote(db, p, who, choices, now=NOW):
    return polls.cast_vote(db, p, who, choices, now, tz=TZ)


def test_vote_returns_receipt_and_is_counted(db):
    _, v1, _ = villages(db)
    voters = villagers(db, v1, 3)
    p = poll(db, v1)
    vote = _vote(db, p, voters[0], [2])
    _vote(db, p, voters[1], [2])
    _vote(db, p, voters[2], [1])
    assert len(vote.receipt) == 8 and vote.labels == ["西头"]
    tally = count_votes(db, p)
    assert tally.counts == {1: 1, 2: 2} and tally.voters == 3


def test_second_vote_by_the_same_person_is_refused(db):
    _, v1, _ = villages(db)
    [voter] = villagers(db, v1, 1)
    p = poll(db, v1)
    _vote(db, p, voter, [1])
    with pytest.raises(Conflict, match="已经投过"):
        _vote(db, p, voter, [2])
    assert count_votes(db, p).voters == 1


def test_closed_is_computed_from_closes_at_without_any_job(db):
    _, v1, _ = villages(db)
    [voter] = villagers(db, v1, 1)
    p = poll(db, v1, hours=1)
    assert phase(p, NOW + timedelta(minutes=59)) is PollPhase.OPEN
    assert phase(p, NOW + timedelta(hours=1)) is PollPhase.CLOSED
    with pytest.raises(InvalidInput, match="已经结束"):
        _vote(db, p, voter, [1], now=NOW + timedelta(hours=1))
    assert p.finalized_at is None  # nothing ran; the vote was refused by the clock alone


def test_vote_before_opening_is_refused(db):
    _, v1, _ = villages(db)
    [voter] = villagers(db, v1, 1)
    p = poll(db, v1, opens_at=NOW + timedelta(hours=2))
    with pytest.raises(InvalidInput, match="还没开始"):
        _vote(db, p, voter, [1])


def test_r_role_4_follower_of_another_village_cannot_vote(db):
    _, v1, v2 = villages(db)
    [outsider] = villagers(db, v2, 1)
    p = poll(db, v1)
    with pytest.raises(PermissionDenied, match="东风村的群众"):
        _vote(db, p, outsider, [1])


def test_r_role_4_members_only_poll_refuses_plain_followers(db):
    _, v1, _ = villages(db)
    [follower] = villagers(db, v1, 1)
    member = person(db, "m1", v1, (v1, Role.MEMBER))
    p = poll(db, v1, audience=Audience.MEMBERS)
    with pytest.raises(PermissionDenied, match="议事会成员"):
        _vote(db, p, follower, [1])
    assert _vote(db, p, member, [1]).choices == [1]


def test_township_poll_reaches_its_villages_followers(db):
    town, v1, v2 = villages(db)
    a, b = villagers(db, v1, 1)[0], villagers(db, v2, 1)[0]
    p = poll(db, town)
    _vote(db, p, a, [1])
    _vote(db, p, b, [2])
    assert polls.count_eligible(db, p) == 2


@pytest.mark.parametrize(("choices", "message"), [([4], "没有第 4 项"), ([0], "没有第 0 项"), ([1, 2], "只能选一项"), ([], "请选一项")])
def test_bad_choices_are_refused_with_a_hint(db, choices, message):
    _, v1, _ = villages(db)
    [voter] = villagers(db, v1, 1)
    p = poll(db, v1)
    with pytest.raises(InvalidInput, match=message):
        _vote(db, p, voter, choices)
    assert not polls.has_voted(db, p.id, voter.id)


def test_multiple_choice_respects_its_limit(db):
    _, v1, _ = villages(db)
    a, b = villagers(db, v1, 2)
    p = poll(db, v1, options=["甲", "乙", "丙", "丁"], multiple=True, max_choices=2)
    assert _vote(db, p, a, [3, 1]).choices == [1, 3]
    with pytest.raises(InvalidInput, match="最多选 2 项"):
        _vote(db, p, b, [1, 2, 3])


def test_anonymous_poll_keeps_no_link_between_a_person_and_a_choice(db):
    _, v1, _ = villages(db)
    voters = villagers(db, v1, 4)
    p = poll(db, v1, anonymous=True)
    for who, choice in zip(voters, [1, 2, 2, 3], strict=True):
        _vote(db, p, who, [choice])
    polls.close_poll(db, p, None, NOW, TZ)  # the close moves the last sealed ballots into poll_ballots
    # The only table with choices has no person and nothing that orders ballots like voters.
    ballot_columns = {c.name for c in inspect(PollBallot).columns}
    assert ballot_columns == {"poll_id", "receipt", "choices", "voter_id"}
    assert db.scalars(select(PollBallot.voter_id).where(PollBallot.poll_id == p.id)).all() == [None] * 4
    # The only table with people has no choice and no receipt.
    assert {c.name for c in inspect(PollVoter).columns} == {"poll_id", "person_id", "voted_at", "by_proxy_id"}
    # And no other table mentions both a poll ballot and a person.
    for table in Base.metadata.sorted_tables:
        names = {c.name for c in table.columns}
        if "choices" in names and table.name != "questionnaire_answers":
            assert table.name == "poll_ballots"
    assert polls.named_choice(db, p, voters[0]) is None


def test_named_poll_records_who_chose_what(db):
    _, v1, _ = villages(db)
    [voter] = villagers(db, v1, 1)
    p = poll(db, v1, anonymous=False)
    _vote(db, p, voter, [3])
    assert polls.named_choice(db, p, voter) == [3]


def test_poll_numbers_count_per_organisation(db):
    _, v1, v2 = villages(db)
    assert [poll(db, v1).number, poll(db, v1).number, poll(db, v2).number] == [1, 2, 1]


def test_find_poll_uses_the_home_village_and_refuses_unknown_numbers(db):
    _, v1, v2 = villages(db)
    [a] = villagers(db, v1, 1)
    mine, theirs = poll(db, v1), poll(db, v2, question="红旗村的问题")
    assert theirs.number == mine.number == 1
    assert polls.find_poll(db, a, "1").id == mine.id
    with pytest.raises(NotFound):
        polls.find_poll(db, a, "2")
    with pytest.raises(PermissionDenied):  # a qualified reference into a village one has nothing to do with
        polls.find_poll(db, a, "v2-1")
    with pytest.raises(InvalidInput):
        polls.find_poll(db, a, "abc")


def test_r_role_4_only_a_convenor_of_that_village_or_above_may_close(db):
    town, v1, v2 = villages(db)
    [villager] = villagers(db, v1, 1)
    other = person(db, "c2", v2, (v2, Role.CONVENOR))
    town_convenor = person(db, "ct", None, (town, Role.CONVENOR))
    p = poll(db, v1)
    for who in (villager, other):
        with pytest.raises(PermissionDenied):
            polls.close_poll(db, p, who, NOW, TZ)
    closed = polls.close_poll(db, p, town_convenor, NOW + timedelta(minutes=5), TZ)
    assert closed.closed_at == NOW + timedelta(minutes=5) and closed.tally_hash
    with pytest.raises(Conflict):
        polls.close_poll(db, p, town_convenor, NOW + timedelta(minutes=6), TZ)


def test_close_due_finalizes_each_poll_once_and_pushes_results_once(db):
    _, v1, _ = villages(db)
    voters = villagers(db, v1, 3)
    p = poll(db, v1, hours=1)
    _vote(db, p, voters[0], [1])
    assert polls.close_due(db, NOW) == []
    later = NOW + timedelta(hours=2)
    assert polls.close_due(db, later) == ["poll v1-1"]
    assert polls.close_due(db, later + timedelta(minutes=1)) == []
    result = db.scalars(select(Notice).where(Notice.source_key == f"poll-result:{p.id}")).one()
    assert "1. 东头  1 票 100%" in result.body and "计票指纹" in result.body
    assert db.scalar(select(Delivery.id).where(Delivery.notice_id == result.id).limit(1)) is not None
    assert p.voter_count == 1 and p.eligible_count == 3 and p.closed_at == p.closes_at


def test_poll_announcement_goes_to_the_eligible_through_the_outbox(db):
    _, v1, v2 = villages(db)
    villagers(db, v1, 3)
    villagers(db, v2, 2)
    p = poll(db, v1)
    notice = db.scalars(select(Notice).where(Notice.source_key == f"poll-open:{p.id}")).one()
    assert notice.skip_if_acted == f"poll:{p.id}"
    assert "投票 1 1" in notice.body and "11月26日 10:00 截止" in notice.body
    assert len(db.scalars(select(Delivery).where(Delivery.notice_id == notice.id)).all()) == 3


def test_min_turnout_not_reached_marks_the_result_invalid(db):
    from fractions import Fraction

    _, v1, _ = villages(db)
    voters = villagers(db, v1, 4)
    p = poll(db, v1, min_turnout=Fraction(1, 2))
    _vote(db, p, voters[0], [1])
    polls.close_poll(db, p, None, NOW, TZ)
    assert p.turnout_met is False
    q = poll(db, v1, min_turnout=Fraction(1, 2))
    _vote(db, q, voters[0], [1])
    _vote(db, q, voters[1], [1])  # 2 of 4 is exactly one half: enough
    polls.close_poll(db, q, None, NOW, TZ)
    assert q.turnout_met is True


@pytest.mark.parametrize(("field", "value", "message"), [
    ("options", ["只有一个"], "至少需要两个选项"),
    ("options", ["甲", "甲"], "一样"),
    ("options", ["甲", " "], "空的"),
    ("question", "", "不能是空的"),
    ("question", "问" * 101, "太长"),
    ("closes_at", NOW - timedelta(minutes=1), "已经过去"),
    ("closes_at", NOW + timedelta(days=61), "最长 60 天"),
])
def test_bad_drafts_are_refused_and_nothing_is_stored(db, field, value, message):
    _, v1, _ = villages(db)
    draft = PollDraft(question="问题", options=["甲", "乙"], closes_at=NOW + timedelta(days=1))
    setattr(draft, field, value)
    with pytest.raises(InvalidInput, match=message):
        check_draft(draft, SETTINGS.polls, NOW)
    with pytest.raises(InvalidInput):
        create_poll(db, v1, draft, actor=None, now=NOW, settings=SETTINGS.polls, tz=TZ)
    assert db.scalar(select(Poll.id)) is None


def test_r_role_4_only_convenors_of_the_village_create_polls(db):
    _, v1, v2 = villages(db)
    other = person(db, "c2", v2, (v2, Role.CONVENOR))
    with pytest.raises(PermissionDenied):
        poll(db, v1, actor=other)
    mine = person(db, "c1", v1, (v1, Role.CONVENOR))
    assert poll(db, v1, actor=mine).created_by_id == mine.id


# ---- concurrency: each thread its own session, as separate web workers would have ---------------

def _race(services, count, work):
    barrier = threading.Barrier(count)
    outcomes: list[object] = [None] * count

    def run(index):
        barrier.wait()
        with services.sessions() as session:
            try:
                outcomes[index] = work(session, index)
                session.commit()
            except Exception as exc:  # noqa: BLE001 - the outcome is what the test checks
                session.rollback()
                outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def test_fifty_people_voting_at_once_are_all_counted(services, db):
    _, v1, _ = villages(db)
    ids = [v.id for v in villagers(db, v1, 50)]
    p = poll(db, v1, hours=1)
    db.commit()
    now = NOW + timedelta(minutes=1)

    def work(session, index):
        from models import Person

        return polls.cast_vote(session, session.get(Poll, p.id), session.get(Person, ids[index]), [index % 3 + 1],
                               now, tz=TZ).receipt

    outcomes = _race(services, 50, work)
    assert all(isinstance(o, str) for o in outcomes), [o for o in outcomes if not isinstance(o, str)][:3]
    assert len(set(outcomes)) == 50
    db.expire_all()
    tally = count_votes(db, db.get(Poll, p.id))
    assert tally.voters == 50 and tally.counts == {1: 17, 2: 17, 3: 16}


def test_five_simultaneous_votes_by_one_person_count_once(services, db):
    _, v1, _ = villages(db)
    [voter] = villagers(db, v1, 1)
    p = poll(db, v1, hours=1)
    db.commit()

    def work(session, index):
        from models import Person

        return polls.cast_vote(session, session.get(Poll, p.id), session.get(Person, voter.id), [index % 3 + 1],
                               NOW, tz=TZ)

    outcomes = _race(services, 5, work)
    assert sum(isinstance(o, polls.Vote) for o in outcomes) == 1
    assert sum(isinstance(o, Conflict) for o in outcomes) == 4
    db.expire_all()
    assert count_votes(db, db.get(Poll, p.id)).voters == 1
    polls.close_poll(db, db.get(Poll, p.id), None, NOW, TZ)  # moves the one sealed ballot into poll_ballots
    assert len(db.scalars(select(PollBallot).where(PollBallot.poll_id == p.id)).all()) == 1
