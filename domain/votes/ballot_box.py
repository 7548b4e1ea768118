"""The ballot box of anonymous polls: sealed ballots wait in a buffer and leave it in shuffled batches.

The voting transaction writes the voter row (who voted) and one sealed buffer row: AES-GCM over the
receipt and choices, padded to one length, under a key that is not in the database or Redis
(``[polls] ballot_key``, else derived from ``[wechat] app_secret``). Once the buffer of a poll holds
``[polls] ballot_batch_size`` ballots, the next vote moves them all into ``poll_ballots`` in the order
of their random receipts; the close moves whatever is left. So a ballot row shares no transaction,
time, sequence or disk order with its voter: it is one of the k ballots of its batch. See docs/polls.md,
"Secret ballots: what we guarantee".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.settings import Settings, SettingsError, load_settings
from models import PollBallot
from models.polls import PollBallotQueue

logger = logging.getLogger(__name__)
PADDED = 160  # every sealed ballot has the same length, whatever and however many options were chosen
NONCE = 12
KEY_LABEL = b"shangliang ballot seal v1"


@dataclass(frozen=True)
class BallotBox:
    """The sealing key and batch size of this deployment."""

    key: bytes
    batch_size: int

    def seal(self, poll_id: int, receipt: str, choices: list[int]) -> bytes:
        """The receipt and choices of one ballot, padded and encrypted, bound to its poll."""
        plain = json.dumps({"r": receipt, "c": choices}, separators=(",", ":")).encode("ascii")
        nonce = os.urandom(NONCE)
        return nonce + AESGCM(self.key).encrypt(nonce, plain.ljust(PADDED), _aad(poll_id))

    def open(self, poll_id: int, sealed: bytes) -> tuple[str, list[int]] | None:
        """(receipt, choices) of a sealed ballot, or None when it was sealed with another key or poll."""
        try:
            plain = AESGCM(self.key).decrypt(sealed[:NONCE], sealed[NONCE:], _aad(poll_id))
        except (InvalidTag, ValueError):
            return None
        data = json.loads(plain.decode("ascii"))
        return str(data["r"]), [int(c) for c in data["c"]]


def _aad(poll_id: int) -> bytes:
    return f"poll:{poll_id}".encode("ascii")


@lru_cache(maxsize=8)
def _box(secret: str, batch_size: int) -> BallotBox:
    return BallotBox(hmac.new(secret.encode("utf-8"), KEY_LABEL, hashlib.sha256).digest(), batch_size)


def box_for(settings: Settings) -> BallotBox:
    """The ballot box these settings describe."""
    return _box(settings.polls.ballot_key or settings.wechat.app_secret, settings.polls.ballot_batch_size)


_configured: list[BallotBox] = []


def use(settings: Settings) -> None:
    """Make these settings' box the one of this process (called where the process's services are built).

    The first call wins: every path of one process reads and writes the same database, so a second set
    of services built later (a CLI command run in-process) must not switch the key under the first.
    """
    box = box_for(settings)
    if not _configured:
        _configured.append(box)
    elif _configured[0] != box:
        logger.warning("a second ballot key was configured in this process; keeping the first")


def current() -> BallotBox:
    """This process's box: the one set by ``use``, else the one of the config file."""
    if not _configured:
        try:
            use(load_settings())
        except SettingsError:
            logger.warning("no readable config: sealing ballots with the default settings' key")
            use(Settings())
    return _configured[0]


def cast(db: Session, box: BallotBox, poll_id: int, choices: list[int], new_receipt: Callable[[], str],
         attempts: int) -> str | None:
    """Buffer one sealed ballot under a receipt no other ballot of the poll has; None after ``attempts`` clashes."""
    waiting = {receipt for receipt, _ in pending(db, box, poll_id)}
    for _ in range(attempts):
        receipt = new_receipt()
        taken = db.scalar(select(PollBallot.receipt).where(PollBallot.poll_id == poll_id, PollBallot.receipt == receipt))
        if taken is None and receipt not in waiting:
            add(db, box, poll_id, receipt, choices)
            return receipt
    return None


def add(db: Session, box: BallotBox, poll_id: int, receipt: str, choices: list[int]) -> None:
    """Put a sealed ballot in the poll's buffer, first moving a full batch out (never this one)."""
    flush(db, box, poll_id, at_least=box.batch_size)
    db.add(PollBallotQueue(id=uuid.uuid4(), poll_id=poll_id, sealed=box.seal(poll_id, receipt, choices)))
    db.flush()


def pending(db: Session, box: BallotBox, poll_id: int) -> list[tuple[str, list[int]]]:
    """The opened ballots still in a poll's buffer (counted live, checked by receipt); nothing is written."""
    rows = db.scalars(select(PollBallotQueue.sealed).where(PollBallotQueue.poll_id == poll_id))
    return [ballot for ballot in (box.open(poll_id, bytes(s)) for s in rows) if ballot is not None]


def flush(db: Session, box: BallotBox, poll_id: int, at_least: int = 1) -> int:
    """Move the poll's buffered ballots into poll_ballots in receipt order once there are ``at_least``."""
    rows = db.execute(
        select(PollBallotQueue.id, PollBallotQueue.sealed).where(PollBallotQueue.poll_id == poll_id)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows or len(rows) < at_least:
        return 0
    opened, kept = [], []
    for row_id, sealed in rows:
        ballot = box.open(poll_id, bytes(sealed))
        if ballot is None:
            kept.append(row_id)
        else:
            opened.append((row_id, ballot))
    if kept:
        logger.error("poll %s: %s buffered ballots cannot be opened with this [polls] ballot_key", poll_id, len(kept))
    if not opened:
        return 0
    ordered = sorted(ballot for _, ballot in opened)  # random receipts: an order that says nothing of arrival
    db.execute(insert(PollBallot).values([{"poll_id": poll_id, "receipt": r, "choices": c, "voter_id": None}
                                          for r, c in ordered]))
    db.execute(delete(PollBallotQueue).where(PollBallotQueue.id.in_([row_id for row_id, _ in opened])))
    return len(opened)
