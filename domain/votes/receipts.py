"""Vote receipts and the published tally hash: anyone can check a vote was counted as cast.

Each ballot gets a random receipt that only its voter is shown. At close the poll publishes
sha256 over a canonical listing (UTF-8, lines ending in "\\n"):

    shangliang-poll-tally v1
    org <organisation code>
    poll <number>
    question <question>
    option <n> <label>            (one line per option, in order)
    ballots <count>
    <receipt> <n>[,<n>…]           (one line per ballot, sorted by receipt)

The listing names no one, so it can be shown to everybody (`shangliang poll audit`); a voter
finds their receipt in it with the choice they made, and anyone can recompute the hash.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.votes import ballot_box
from domain.votes.ballot_box import BallotBox
from models import Poll, PollBallot

RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: easy to read aloud and copy
RECEIPT_LENGTH = 8  # 32**8 ≈ 1.1e12 per poll: not guessable
LISTING_HEADER = "shangliang-poll-tally v1"
FINGERPRINT_SHOWN = 12  # hex digits of the tally hash a villager is shown (the result notice has all 64)
_NOT_RECEIPT = re.compile(r"[\s\-_]")


def new_receipt() -> str:
    """A fresh random receipt code."""
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))


def clean_receipt(text: str) -> str:
    """A typed receipt in canonical form (upper case, no spaces or dashes)."""
    return _NOT_RECEIPT.sub("", text).upper()


def looks_like_receipt(text: str) -> bool:
    """Whether a cleaned text could be a receipt at all."""
    return len(text) == RECEIPT_LENGTH and all(ch in RECEIPT_ALPHABET for ch in text)


def ballots_of(db: Session, poll: Poll) -> list[tuple[str, list[int]]]:
    """Every (receipt, choices) of a poll, sorted by receipt."""
    rows = db.execute(
        select(PollBallot.receipt, PollBallot.choices).where(PollBallot.poll_id == poll.id).order_by(PollBallot.receipt)
    )
    return [(receipt, sorted(choices)) for receipt, choices in rows]


def canonical_listing(poll: Poll, ballots: list[tuple[str, list[int]]]) -> str:
    """The exact text the tally hash is computed over."""
    lines = [LISTING_HEADER, f"org {poll.org.code}", f"poll {poll.number}", f"question {_one_line(poll.question)}"]
    lines += [f"option {opt.position} {_one_line(opt.label)}" for opt in poll.options]
    lines.append(f"ballots {len(ballots)}")
    lines += [f"{receipt} {','.join(str(c) for c in choices)}" for receipt, choices in sorted(ballots)]
    return "\n".join(lines) + "\n"


def tally_hash(listing: str) -> str:
    """sha256 of a canonical listing, as 64 hex digits."""
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def short_fingerprint(full: str) -> str:
    """The first hex digits of a tally hash, enough to compare with the published one by eye."""
    return full[:FINGERPRINT_SHOWN]


def listing_for(db: Session, poll: Poll) -> str:
    """The canonical listing of a poll as stored now."""
    return canonical_listing(poll, ballots_of(db, poll))


@dataclass(frozen=True)
class ReceiptCheck:
    """What a receipt shows: the choices it was counted for and the published hash (None before close)."""

    receipt: str
    choices: list[int]
    labels: list[str]
    tally_hash: str | None
    ballots: int | None = None  # ballots counted in the final result (None before the close)


def check_receipt(db: Session, poll: Poll, typed: str, box: BallotBox | None = None) -> ReceiptCheck | None:
    """The ballot a receipt names (in poll_ballots or still sealed in the buffer), or None when there is none."""
    receipt = clean_receipt(typed)
    if not looks_like_receipt(receipt):
        return None
    ballot = db.get(PollBallot, (poll.id, receipt))
    if ballot is not None:
        choices = sorted(ballot.choices)
    else:
        waiting = dict(ballot_box.pending(db, box or ballot_box.current(), poll.id)) if poll.anonymous else {}
        if receipt not in waiting:
            return None
        choices = sorted(waiting[receipt])
    labels = {opt.position: opt.label for opt in poll.options}
    counted = None
    if poll.tally_hash:
        counted = poll.voter_count if poll.voter_count is not None else len(ballots_of(db, poll))
    return ReceiptCheck(receipt, choices, [labels.get(c, "?") for c in choices], poll.tally_hash, counted)


def _one_line(text: str) -> str:
    return " ".join(text.split())
