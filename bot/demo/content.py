"""The demo's poll, questionnaire and notice: one of each open in 东风村 whenever the demo starts,
and one poll already closed (so `结果 <编号>` answers with the chart picture on first try).

They are made the way a convenor makes them (the example files of ``poll create`` and
``questionnaire create``, a broadcast previewed and confirmed), and only when none is open: a
restart adds nothing while the last ones run, and a demo started weeks later gets fresh ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.notices import broadcasts
from domain.orgs import people
from domain.orgs import tree as orgs
from domain.settings import Settings
from domain.votes import files, polls
from domain.votes.ballot_box import box_for
from domain.votes.poll_create import PollDraft, create_poll
from domain.votes.questionnaire_create import create_questionnaire
from models import Notice, NoticeKind, Organisation, Person, Poll, PollKind, Questionnaire

logger = logging.getLogger(__name__)

VILLAGE = "demo-v1"
CONVENOR = "demo-convenor-1"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOTICE_TEXT = ("本周六上午9点在村委会议室召开村民代表会，商量村西小河清淤和公交站雨棚的事。"
               "欢迎大家来旁听，有意见也可以在公众号里提。")
NOTICE_TITLE = "周六上午开村民代表会"
CLOSED_QUESTION = "村里新的健身器材放在哪里？"
CLOSED_OPTIONS = ["文化广场", "村委会门口", "小学旁边"]
CLOSED_VOTES = [1, 1, 2, 1, 3, 1, 2, 1, 1, 2]  # demo-follower-1-3 … -12 (the README's followers 1 and 2 stay free)


@dataclass(frozen=True)
class OpenItems:
    """The numbers of what a newcomer finds open in 东风村 (None when missing)."""

    poll: int | None
    questionnaire: int | None
    notice: int | None
    closed_poll: int | None = None


def open_items(db: Session, now: datetime) -> OpenItems:
    """The newest open poll, questionnaire and general notice in force in the demo village."""
    village = orgs.get_org(db, VILLAGE)
    poll = db.scalar(select(Poll.number).where(
        Poll.org_id == village.id, Poll.kind == PollKind.SIMPLE, Poll.closed_at.is_(None), Poll.opens_at <= now,
        Poll.closes_at > now).order_by(Poll.number.desc()).limit(1))
    questionnaire = db.scalar(select(Questionnaire.number).where(
        Questionnaire.org_id == village.id, Questionnaire.closed_at.is_(None), Questionnaire.opens_at <= now,
        Questionnaire.closes_at > now).order_by(Questionnaire.number.desc()).limit(1))
    notice = db.scalar(select(Notice.seq).where(
        Notice.org_id == village.id, Notice.kind == NoticeKind.GENERAL, Notice.closed_at.is_(None),
        Notice.public_until > now).order_by(Notice.id.desc()).limit(1))
    return OpenItems(poll, questionnaire, notice, _closed_poll_number(db, village))


def _closed_poll_number(db: Session, village: Organisation) -> int | None:
    return db.scalar(select(Poll.number).where(Poll.org_id == village.id, Poll.kind == PollKind.SIMPLE,
                                               Poll.question == CLOSED_QUESTION).order_by(Poll.number.desc()).limit(1))


def ensure_open_items(db: Session, now: datetime, settings: Settings) -> OpenItems:
    """Create whichever of the three is missing; returns what is open afterwards."""
    village = orgs.get_org(db, VILLAGE)
    convenor = people.find_by_ref(db, CONVENOR)
    found = open_items(db, now)
    if found.poll is None:
        _poll(db, village, convenor, now, settings)
    if found.questionnaire is None:
        _questionnaire(db, village, convenor, now, settings)
    if found.notice is None:
        preview = broadcasts.preview_broadcast(db, person=convenor, org=village, text=NOTICE_TEXT, now=now,
                                               settings=settings, title=NOTICE_TITLE)
        broadcasts.confirm_broadcast(db, person=convenor, preview=preview, now=now, settings=settings,
                                     token=f"demo-{now:%Y%m%d%H%M%S}")
    if found.closed_poll is None:  # made once, after the open one (which is then 投票 1 on a fresh demo)
        _closed_poll(db, village, convenor, now, settings)
    db.flush()
    return open_items(db, now)


def _example(name: str) -> str | None:
    path = EXAMPLES / name
    if not path.is_file():
        logger.warning("demo: %s not found; the demo has no %s", path, name)
        return None
    return path.read_text(encoding="utf-8")


def _poll(db: Session, village: Organisation, convenor: Person, now: datetime, settings: Settings) -> None:
    source = _example("poll.toml")
    if source is not None:
        draft = files.load_poll(source, name="poll.toml", settings=settings.polls, tz=settings.tz, now=now)
        create_poll(db, village, draft, actor=convenor, now=now, settings=settings.polls,
                    tz=settings.tz)


def _questionnaire(db: Session, village: Organisation, convenor: Person, now: datetime, settings: Settings) -> None:
    source = _example("questionnaire.toml")
    if source is not None:
        draft = files.load_questionnaire(source, name="questionnaire.toml", settings=settings.polls,
                                         tz=settings.tz, now=now)
        create_questionnaire(db, village, draft, actor=convenor, now=now,
                             settings=settings.polls)


def _closed_poll(db: Session, village: Organisation, convenor: Person, now: datetime, settings: Settings) -> None:
    """A poll some followers voted in and the convenor closed: its 结果 is the chart picture."""
    draft = PollDraft(question=CLOSED_QUESTION, options=list(CLOSED_OPTIONS), closes_at=now + timedelta(days=7))
    poll = create_poll(db, village, draft, actor=convenor, now=now, settings=settings.polls, tz=settings.tz)
    box = box_for(settings)
    for index, choice in enumerate(CLOSED_VOTES, start=3):
        voter = people.find_by_ref(db, f"demo-follower-1-{index}")
        polls.cast_vote(db, poll, voter, [choice], now, tz=settings.tz, box=box)
    polls.close_poll(db, poll, convenor, now, settings.tz)
