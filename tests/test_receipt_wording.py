"""核验 says in words what was checked; the tally fingerprint comes last and short, with what it is for."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from domain.votes.receipts import FINGERPRINT_SHOWN
from models import Poll, Role
from tests.driver import live_bot
from tests.test_polls_support import person, poll, villagers, villages

HEX_RUN = re.compile(r"[0-9a-f]{13,}")  # longer than the short fingerprint


def _arrange(db, count: int = 3):
    _, v1, _ = villages(db)
    convenor = person(db, "conv-1", v1, (v1, Role.CONVENOR), name="王书记")
    folks = villagers(db, v1, count)
    poll(db, v1, now=datetime.now(UTC), actor=convenor)
    db.commit()
    return convenor, folks


def _receipt(reply: str) -> str:
    match = re.search(r"回执：([A-Z2-9]{8})", reply)
    assert match, reply
    return match.group(1)


def test_verify_after_close_says_what_was_checked_then_a_short_fingerprint(bot, db):
    convenor, folks = _arrange(db)
    receipts = [_receipt(bot.send(f.openid, f"投票 1 {c}")) for f, c in zip(folks, [1, 2, 2], strict=True)]
    before = bot.send(folks[0].openid, f"核验 1 {receipts[0]}")
    assert before.startswith("您的回执已核对：您这一票已计入投票 1。") and "指纹" not in before, before
    bot.send(convenor.openid, "结束投票 1")
    db.expire_all()
    published = db.scalar(select(Poll.tally_hash))
    reply = bot.send(folks[1].openid, f"核验 1 {receipts[1]}")
    lines = reply.splitlines()
    assert lines[0] == "您的回执已核对：您这一票已计入投票 1 的结果，共 3 人投票。", reply
    assert lines[-1].startswith(f"计票指纹 {published[:FINGERPRINT_SHOWN]}（") and "结果公告" in lines[-1], reply
    assert not HEX_RUN.search(reply) and published not in reply  # never the 64 hex digits
    assert "西头" not in reply and f"{receipts[1]} 2" not in reply  # the choice stays hidden by default


def test_verify_shows_choice_keeps_its_behaviour_with_the_new_wording(services, db):
    convenor, folks = _arrange(db, 1)
    with live_bot(services, polls={"verify_shows_choice": True}) as bot:
        receipt = _receipt(bot.send(folks[0].openid, "投票 1 2"))
        bot.send(convenor.openid, "结束投票 1")
        reply = bot.send(folks[0].openid, f"核验 1 {receipt}")
    assert "您选的是：2. 西头。" in reply and f"公开的计票清单里有这一行：{receipt} 2" in reply, reply
    assert reply.splitlines()[-1].startswith("计票指纹 ")
