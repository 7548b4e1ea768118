"""Polls: finding one, voting once, closing, publishing the tally, and classifying confirmations.

A poll is closed as soon as ``closes_at <= now`` (checked on every read and vote), or when a
convenor closes it early. The first read after close (or the ``close_due`` sweep) finalizes it:
counts, the tally hash, the confirmation outcome and the results notice, exactly once.
An anonymous ballot goes to the sealed buffer of domain/votes/ballot_box.py, never next to its
voter row; finalizing first moves what is left there into poll_ballots.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, tzinfo
from fractions import Fraction

from sqlalchemy import Select, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from domain.notices.outbox import create_notice
from domain.topics import audit
from domain.topics.operations import record_result
from domain.votes import ballot_box, questionnaires, refs
from domain.votes.answers import format_local
from domain.votes.audience import (
    audience_label,
    count_in,
    eligible_ids,
    is_in,
    may_manage,
    may_view,
    related_org_ids,
    why_not,
)
from domain.votes.ballot_box import BallotBox
from domain.votes.receipts import listing_for, new_receipt, tally_hash
from domain.votes.tally import (
    ABSTAIN,
    AGAINST,
    AGREE,
    PollPhase,
    classify,
    count_votes,
    outcome_note,
    phase,
    results_text,
    turnout_needed,
)
from models import NoticeKind, Organisation, Person, Poll, PollBallot, PollKind, PollVoter, Topic, TopicState

logger = logging.getLogger(__name__)
RECEIPT_ATTEMPTS = 5
MAX_NUMBER = 1_000_000  # larger 'numbers' are typing slips, not polls (and overflow the column)


@dataclass(frozen=True)
class Vote:
    """A counted vote as its voter is told: the receipt and what was chosen."""

    poll: Poll
    receipt: str
    choices: list[int]
    labels: list[str]


def get_poll(db: Session, org: Organisation, number: int) -> Poll:
    """The poll of an organisation with this number, or NotFound."""
    poll = db.scalar(select(Poll).where(Poll.org_id == org.id, Poll.number == number))
    if poll is None:
        raise NotFound(f"{org.name}没有投票 {number}。")
    return poll


def parse_ref(ref: str) -> tuple[str | None, int]:
    """'5' → (None, 5); 'demo-v1-5' → ('demo-v1', 5): a poll number, optionally after an organisation code."""
    parsed = refs.parse(ref, "投票")
    return parsed.org_code, parsed.number


def find_poll(db: Session, person: Person, ref: str) -> Poll:
    """The poll a person means by a number (3, 3号, 东风村3, demo-v1-3): home organisation first, then roles."""
    parsed = refs.parse(ref, "投票")
    number = parsed.number
    org_ids = refs.named_orgs(db, parsed, related_org_ids(db, person), "投票")
    found = [p for p in db.scalars(select(Poll).where(Poll.org_id.in_(org_ids), Poll.number == number))]
    if parsed.org_code or parsed.org_name:
        if found and not may_view(db, person, found[0].org):
            raise PermissionDenied(f"投票 {refs.label(number, found[0].org, True)} 是{found[0].org.name}的，"
                                   "您不能查看或参加。")
    found.sort(key=lambda p: org_ids.index(p.org_id))
    if not found:
        raise NotFound(f"没有找到投票 {number}。发送“投票”查看正在进行的投票。")
    if len(found) > 1:
        raise refs.ambiguous("投票", number, [p.org for p in found])
    return found[0]


def polls_for(db: Session, person: Person, now: datetime, recent: int = 3) -> list[tuple[Poll, bool]]:
    """Open polls the person may vote in, then a few recently closed ones, each with 'has voted'."""
    org_ids = related_org_ids(db, person)
    candidates = db.scalars(select(Poll).where(Poll.org_id.in_(org_ids)).order_by(Poll.closes_at.desc()).limit(50))
    open_polls, closed = [], []
    for poll in candidates:
        stage = phase(poll, now)
        if stage is PollPhase.CLOSED:
            if len(closed) < recent:
                closed.append(poll)
        elif is_in(db, person, voters_query(poll)):
            open_polls.append(poll)
    return [(p, has_voted(db, p.id, person.id)) for p in open_polls + closed]


def voters_query(poll: Poll) -> Select[tuple[int]]:
    """Who may vote in this poll."""
    return eligible_ids(poll.org, poll.audience, meeting_id=poll.meeting_id, as_of=poll.opens_at)


def count_eligible(db: Session, poll: Poll) -> int:
    """How many people may vote in this poll now."""
    return count_in(db, voters_query(poll))


def has_voted(db: Session, poll_id: int, person_id: int) -> bool:
    """Whether the person has a vote in the poll (also the outbox's "already acted" check)."""
    return db.get(PollVoter, (poll_id, person_id)) is not None


def named_choice(db: Session, poll: Poll, person: Person) -> list[int] | None:
    """A named poll's recorded choice of a person (never available for anonymous polls)."""
    if poll.anonymous:
        return None
    ballot = db.scalar(select(PollBallot).where(PollBallot.poll_id == poll.id, PollBallot.voter_id == person.id))
    return sorted(ballot.choices) if ballot else None


def _lock(db: Session, poll: Poll, *, share: bool) -> Poll:
    stmt = select(Poll).where(Poll.id == poll.id).with_for_update(read=share).execution_options(populate_existing=True)
    return db.scalars(stmt).one()


def check_choices(poll: Poll, choices: list[int]) -> list[int]:
    """Distinct, existing option numbers within the poll's limit, ascending."""
    picked = sorted(set(choices))
    count = len(poll.options)
    if not picked:
        raise InvalidInput(f"请选一项，例如：投票 {poll.number} 1")
    for number in picked:
        if not 1 <= number <= count:
            raise InvalidInput(f"投票 {poll.number} 没有第 {number} 项，请在 1 到 {count} 中选，例如：投票 {poll.number} 1")
    if len(picked) > poll.max_choices:
        most = "只能选一项" if poll.max_choices == 1 else f"最多选 {poll.max_choices} 项"
        raise InvalidInput(f"投票 {poll.number} {most}。")
    return picked


def cast_vote(db: Session, poll: Poll, voter: Person, choices: list[int], now: datetime, *, tz: tzinfo,
              by_proxy: Person | None = None, box: BallotBox | None = None) -> Vote:
    """Record one person's vote: once per person (enforced by the database), only while open, only if eligible.

    The voter row is written here; an anonymous ballot only goes sealed into the buffer (``box``,
    default this process's), to reach poll_ballots in a later transaction with its batch.
    """
    poll = _lock(db, poll, share=True)  # a concurrent close waits for this vote, or this vote sees it closed
    stage = phase(poll, now)
    if stage is PollPhase.CLOSED:
        raise InvalidInput(f"投票 {poll.number} 已经结束了，不能再投。发送“结果 {poll.number}”查看结果。")
    if stage is PollPhase.UPCOMING:
        raise InvalidInput(f"投票 {poll.number} 还没开始，{format_local(poll.opens_at, tz)} 开始。")
    if not is_in(db, voter, voters_query(poll)):
        raise PermissionDenied(why_not(db, voter, poll.org, poll.audience, poll.opens_at, "投票")
                               or f"投票 {poll.number} 只有{audience_label(poll.org, poll.audience)}可以参加。")
    picked = check_choices(poll, choices)
    first = db.execute(
        insert(PollVoter)
        .values(poll_id=poll.id, person_id=voter.id, voted_at=now, by_proxy_id=by_proxy.id if by_proxy else None)
        .on_conflict_do_nothing()
        .returning(PollVoter.person_id)
    ).first()
    if first is None:
        raise Conflict(f"您已经投过投票 {poll.number} 了，每人只能投一次。")
    if poll.anonymous:
        receipt = ballot_box.cast(db, box or ballot_box.current(), poll.id, picked, new_receipt, RECEIPT_ATTEMPTS)
    else:
        receipt = _store_ballot(db, poll, picked, voter.id)
    if receipt is None:
        raise DomainError("系统有点忙，您的票没有投上，请再发一次。")
    labels = {opt.position: opt.label for opt in poll.options}
    return Vote(poll, receipt, picked, [labels[c] for c in picked])


def _store_ballot(db: Session, poll: Poll, choices: list[int], voter_id: int | None) -> str | None:
    for _ in range(RECEIPT_ATTEMPTS):
        receipt = new_receipt()
        stored = db.execute(
            insert(PollBallot)
            .values(poll_id=poll.id, receipt=receipt, choices=choices, voter_id=voter_id)
            .on_conflict_do_nothing()
            .returning(PollBallot.receipt)
        ).first()
        if stored is not None:
            return receipt
    return None


def close_poll(db: Session, poll: Poll, actor: Person | None, now: datetime, tz: tzinfo | None = None) -> Poll:
    """Close a poll at once (a convenor of the organisation or above; None = administrator)."""
    if actor is not None and not may_manage(db, actor, poll.org):
        raise PermissionDenied(f"只有{poll.org.name}的召集人可以结束投票。")
    if actor is not None and poll.kind is PollKind.CONFIRMATION and poll.meeting_id is not None:
        raise PermissionDenied("会上的表决由会议主持人发送“结束表决”结束。")
    poll = _lock(db, poll, share=False)
    if phase(poll, now) is PollPhase.CLOSED:
        raise Conflict(f"投票 {poll.number} 已经结束了。")
    poll.closed_at = now
    poll.closed_by_id = actor.id if actor else None
    return finalize(db, poll, now, tz)


def ensure_final(db: Session, poll: Poll, now: datetime, tz: tzinfo | None = None) -> Poll:
    """Finalize a poll whose time is up and that nobody has finalized yet."""
    if poll.finalized_at is None and phase(poll, now) is PollPhase.CLOSED:
        return finalize(db, poll, now, tz)
    return poll


def finalize(db: Session, poll: Poll, now: datetime, tz: tzinfo | None = None) -> Poll:
    """Count, publish the tally hash, classify a confirmation and push the results; once per poll."""
    poll = _lock(db, poll, share=False)
    if poll.finalized_at is not None:
        return poll
    poll.closed_at = poll.closed_at or poll.closes_at
    box = ballot_box.current()
    ballot_box.flush(db, box, poll.id)  # the last ballots, fewer than a batch, leave the buffer together
    tally = count_votes(db, poll, box)
    poll.voter_count = tally.voters
    poll.eligible_count = count_eligible(db, poll)
    if poll.min_turnout:
        poll.turnout_met = tally.voters >= turnout_needed(Fraction(poll.min_turnout), poll.eligible_count)
    poll.tally_hash = tally_hash(listing_for(db, poll))
    if poll.kind is PollKind.CONFIRMATION:
        _classify(db, poll, tally.counts, now)
    poll.finalized_at = now
    db.flush()
    create_notice(
        db, org=poll.org, kind=NoticeKind.POLL, audience=poll.audience, title=f"投票 {poll.number} 结果：{poll.question}"[:200],
        body=results_text(poll, tally, now, tz), now=now, recipients=voters_query(poll), meeting_id=poll.meeting_id,
        source_key=f"poll-result:{poll.id}",
    )
    logger.info("poll %s/%s finalized: %s voters", poll.org.code, poll.number, tally.voters)
    return poll


def _classify(db: Session, poll: Poll, counts: dict[int, int], now: datetime) -> None:
    agree, against, abstain = (counts.get(p, 0) for p in (AGREE, AGAINST, ABSTAIN))
    consensus, basic = Fraction(poll.consensus_ratio or "4/5"), Fraction(poll.basic_consensus_ratio or "2/3")
    outcome = classify(agree, against, abstain, consensus, basic)
    note = outcome_note(agree, against, abstain, consensus, basic)
    if poll.turnout_met is False:
        outcome, note = TopicState.NO_CONSENSUS, "参与人数没有达到最低要求。" + note
    poll.outcome, poll.outcome_note = outcome, note
    if poll.topic_id is not None:
        refused = apply_topic_result(db, db.get(Topic, poll.topic_id), outcome, now, note)
        if refused:
            poll.outcome_note = f"{note}（议题状态未更新：{refused}）"


def apply_topic_result(db: Session, topic: Topic, outcome: TopicState, now: datetime, note: str) -> str | None:
    """Store a confirmation outcome on its topic through the topics domain; returns why it refused, or None.

    The tally is the actor (None), as domain.topics.record_result expects for vote results. A refusal
    (e.g. the topic is not at the meeting stage) keeps the outcome on the poll and says why.
    """
    try:
        with db.begin_nested():
            record_result(db, topic, outcome, None, now, note=note)
    except DomainError as exc:
        logger.warning("topic %s refused the confirmation outcome: %s", topic.number, exc.reply)
        return exc.reply
    return None


def close_due(db: Session, now: datetime, tz: tzinfo | None = None) -> list[str]:
    """Finalize every poll and questionnaire whose time is up (the scheduler's sweep; idempotent)."""
    due = db.scalars(
        select(Poll).where(Poll.finalized_at.is_(None), or_(Poll.closes_at <= now, Poll.closed_at.is_not(None)))
        .order_by(Poll.id).with_for_update()
    ).all()
    # One transaction over many organisations: take the polls (id order), then the audit-chain locks of every
    # organisation whose topic a confirmation will move (id order), and only then write notices. A change in
    # one organisation takes its chain lock before any notice, so no two transactions wait in a circle.
    topic_ids = [p.topic_id for p in due if p.kind is PollKind.CONFIRMATION and p.topic_id is not None]
    if topic_ids:
        audit.lock_all(db, db.scalars(select(Topic.org_id).where(Topic.id.in_(topic_ids))))
    done = [f"poll {finalize(db, poll, now, tz).org.code}-{poll.number}" for poll in due]
    return done + questionnaires.close_due(db, now)
