"""Issue 12, as an attacker: secret ballots stay secret, receipts prove nothing to others, pushes don't multiply.

Each test plays the attack through the real chat path (the live bot, signed like WeChat) and reads the
database and Redis the way a thief holding a dump or a Redis file would.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select, text

from domain.votes import polls
from models import Notice, Poll, Role
from tests.driver import live_bot
from tests.test_polls_support import TZ, person, poll, villagers, villages

OPTIONS = ["东头", "西头", "两头都装"]
K = 5  # the default [polls] ballot_batch_size


def _receipt(reply: str) -> str:
    match = re.search(r"回执：([A-Z2-9]{8})", reply)
    assert match, reply
    return match.group(1)


def _arrange(db, count: int):
    _, v1, _ = villages(db)
    convenor = person(db, "conv-1", v1, (v1, Role.CONVENOR), name="王书记")
    folks = villagers(db, v1, count)
    poll(db, v1, now=datetime.now(UTC), actor=convenor)
    db.commit()
    return v1, convenor, folks


def _vote_all(bot, folks) -> dict[int, tuple[str, int]]:
    """Every villager votes; the ground truth an attacker wants: person id → (receipt, choice)."""
    truth = {}
    for index, who in enumerate(folks):
        choice = index % 3 + 1
        truth[who.id] = (_receipt(bot.send(who.openid, f"投票 1 {choice}")), choice)
    return truth


def _ballots(db) -> list[dict]:
    rows = db.execute(text("SELECT xmin::text::bigint AS xmin, ctid::text AS pos, receipt, choices "
                           "FROM poll_ballots ORDER BY poll_ballots.ctid"))
    return [dict(r._mapping) for r in rows]


def _voters(db) -> list[dict]:
    rows = db.execute(text("SELECT xmin::text::bigint AS xmin, person_id, voted_at FROM poll_voters "
                           "ORDER BY xmin::text::bigint"))
    return [dict(r._mapping) for r in rows]


def test_anonymous_ballots_cannot_be_linked_to_voters_by_xmin_ctid_order_or_time(bot, db, services):
    _, convenor, folks = _arrange(db, 12)
    truth = _vote_all(bot, folks)
    receipt_of = {pid: r for pid, (r, _) in truth.items()}
    db.expire_all()
    voters, ballots = _voters(db), _ballots(db)

    # xmin join: not one ballot shares a transaction with its own voter's row
    by_xmin = {v["xmin"]: v["person_id"] for v in voters}
    linked = [b for b in ballots if receipt_of.get(by_xmin.get(b["xmin"])) == b["receipt"]]
    assert linked == [], f"xmin join recovered {len(linked)} openid→choice pairs"

    # ballots arrive in batches of k; inside a batch the disk order is the random receipts' order,
    # so ctid / pg_dump / WAL order says nothing about who voted first
    batches: dict[int, list[dict]] = {}
    for b in ballots:
        batches.setdefault(b["xmin"], []).append(b)
    assert len(ballots) == 12 // K * K and all(len(batch) == K for batch in batches.values())
    for batch in batches.values():
        assert [b["receipt"] for b in batch] == sorted(b["receipt"] for b in batch), batches
    # each flushed ballot could have been cast by any of the k voters since the previous batch
    edges = sorted(batches)
    for lower, upper in zip([0, *edges], edges, strict=False):
        candidates = [v for v in voters if lower <= v["xmin"] < upper]
        assert len(candidates) == K

    # nothing to order by: no time, date or sequence on the ballot side, and the buffer holds only sealed bytes
    for table in ("poll_ballots", "poll_ballot_queue"):
        cols = db.execute(text("SELECT column_name, data_type, coalesce(column_default, '') FROM "
                               "information_schema.columns WHERE table_name = :t"), {"t": table}).all()
        assert cols, table
        assert not [c for c in cols if "time" in c[1] or "date" in c[1] or "nextval" in c[2]], (table, cols)
    sealed = [bytes(row[0]) for row in db.execute(text("SELECT sealed FROM poll_ballot_queue"))]
    assert len(sealed) == 12 % K and len({len(s) for s in sealed}) == 1  # same length whatever was chosen
    for blob in sealed:
        assert not any(r.encode() in blob for r in receipt_of.values())

    # Redis (and so its append-only file) holds no receipt and no choice next to an openid
    prefix = services.settings.redis.key_prefix
    for key in services.redis.scan_iter(match=prefix + "*"):
        value = services.redis.get(key) if services.redis.type(key) == b"string" else b""
        for receipt in receipt_of.values():
            assert receipt.encode() not in key and receipt.encode() not in (value or b""), key
        assert "选的是".encode() not in (value or b""), key

    # the close flushes the rest (here 2 < k: the remainder is shuffled together) and counts every ballot
    assert "共 12 人投票" in bot.send(convenor.openid, "结束投票 1")
    db.expire_all()
    assert sorted(b["receipt"] for b in _ballots(db)) == sorted(receipt_of.values())
    assert db.execute(text("SELECT count(*) FROM poll_ballot_queue")).scalar() == 0
    shown = db.scalar(select(Notice.body).where(Notice.source_key == f"poll-result:{db.scalar(select(Poll.id))}"))
    assert "1. 东头  4 票" in shown and "2. 西头  4 票" in shown and "3. 两头都装  4 票" in shown


def test_a_vote_retry_is_answered_without_the_choice_kept_in_redis(bot, db, services):
    _, _, folks = _arrange(db, 1)
    xml = bot.pusher.text(folks[0].openid, "投票 1 2")
    first = bot.post(xml).text
    assert "投票成功" in first and "2. 西头" in first
    retry = bot.post(xml).text  # WeChat resends the same message when our answer was late
    assert "西头" not in retry and _receipt(first) not in retry and retry
    db.expire_all()
    assert db.scalar(select(Poll.id)) is not None


def test_ballot_batch_size_setting_decides_when_ballots_leave_the_buffer(services, db):
    _, _, folks = _arrange(db, 4)
    with live_bot(services, polls={"ballot_batch_size": 3}) as small:
        _vote_all(small, folks[:3])
        db.expire_all()
        assert len(_ballots(db)) == 0  # three in the buffer, none flushed yet
        _vote_all(small, folks[3:])
    db.expire_all()
    assert len(_ballots(db)) == 3  # the fourth vote moved the first three out together


def test_ballot_key_setting_changes_the_seal(services):
    from domain.votes.ballot_box import box_for

    mine = box_for(services.settings)
    other = box_for(services.settings.with_overrides(polls={"ballot_key": "another-key-of-this-village"}))
    sealed = mine.seal(7, "ABCDEFGH", [2])
    assert mine.open(7, sealed) == ("ABCDEFGH", [2])
    assert other.open(7, sealed) is None  # a box with another key cannot read it
    assert mine.open(8, sealed) is None  # nor can it be moved to another poll


def test_verify_with_someone_elses_receipt_does_not_show_their_choice(bot, db):
    _, convenor, folks = _arrange(db, 2)
    bought = _receipt(bot.send(folks[0].openid, "投票 1 2"))
    before = bot.send(folks[1].openid, f"核验 1 {bought}")  # the buyer checks the seller's receipt
    assert "已计入" in before and "西头" not in before and "2." not in before
    bot.send(convenor.openid, "结束投票 1")
    after = bot.send(folks[1].openid, f"核验 1 {bought}")
    assert "已计入" in after and "计票指纹" in after
    assert "西头" not in after and f"{bought} 2" not in after


def test_verify_shows_choice_setting_shows_it_again(services, db):
    _, _, folks = _arrange(db, 1)
    with live_bot(services, polls={"verify_shows_choice": True}) as bot:
        receipt = _receipt(bot.send(folks[0].openid, "投票 1 2"))
        assert "2. 西头" in bot.send(folks[0].openid, f"核验 1 {receipt}")


def test_repeated_results_of_a_closed_poll_push_at_most_once(bot, db):
    _, convenor, folks = _arrange(db, 2)
    bot.send(folks[0].openid, "投票 1 1")
    bot.send(convenor.openid, "结束投票 1")
    for _ in range(5):
        reply = bot.post(bot.pusher.text(folks[1].openid, "结果 1"))
        assert reply.reply is not None and reply.reply["MsgType"] == "image"
    db.expire_all()
    pushes = db.scalars(select(Notice).where(Notice.title == "投票 1 结果")).all()
    assert len(pushes) == 1


def test_confirmation_and_direct_domain_votes_are_counted_after_close(db):
    _, v1, _ = villages(db)
    folks = villagers(db, v1, 7)
    p = poll(db, v1, now=datetime.now(UTC))
    for index, who in enumerate(folks):
        polls.cast_vote(db, p, who, [index % 2 + 1], datetime.now(UTC), tz=TZ)
    closed = polls.close_poll(db, p, None, datetime.now(UTC), TZ)
    assert closed.voter_count == 7
    assert db.execute(text("SELECT count(*) FROM poll_ballots")).scalar() == 7
