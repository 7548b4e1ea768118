"""Counting a poll, classifying a confirmation vote (R-MEET-7), and phrasing results.

Confirmation thresholds (settings [rules] consensus_ratio, basic_consensus_ratio) are compared
with the share of 同意 among ALL votes cast, abstentions (弃权) included: an abstention is not
agreement. Reaching a threshold exactly counts (≥). No votes at all is 未达成共识.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.votes import ballot_box
from domain.votes.answers import format_local
from domain.votes.ballot_box import BallotBox
from domain.votes.charts import Bar, bar_chart_png
from models import Poll, PollBallot, PollKind, PollVoter, TopicState

AGREE, AGAINST, ABSTAIN = 1, 2, 3  # option positions of a confirmation vote
CONFIRMATION_OPTIONS = ["同意", "反对", "弃权"]
OUTCOME_LABELS = {
    TopicState.CONSENSUS: "达成共识",
    TopicState.BASIC_CONSENSUS: "基本达成共识",
    TopicState.NO_CONSENSUS: "未达成共识",
}
BAR_WIDTH = 10


class PollPhase(enum.StrEnum):
    """Where a poll stands at an instant; computed, never stored."""

    UPCOMING = "upcoming"
    OPEN = "open"
    CLOSED = "closed"


def phase(poll: Poll, now: datetime) -> PollPhase:
    """Closed once closes_at has passed or a convenor closed it; upcoming before opens_at."""
    if poll.closed_at is not None or poll.closes_at <= now:
        return PollPhase.CLOSED
    if poll.opens_at > now:
        return PollPhase.UPCOMING
    return PollPhase.OPEN


@dataclass(frozen=True)
class Tally:
    """Votes per option position and how many people voted."""

    counts: dict[int, int]
    voters: int

    def share(self, position: int) -> Fraction:
        """The share of voters who chose an option (0 when nobody voted)."""
        return Fraction(self.counts.get(position, 0), self.voters) if self.voters else Fraction(0)


def count_votes(db: Session, poll: Poll, box: BallotBox | None = None) -> Tally:
    """Count the ballots of a poll, those still sealed in the buffer included (opened in memory only)."""
    choice = func.unnest(PollBallot.choices).label("choice")
    inner = select(choice).where(PollBallot.poll_id == poll.id).subquery()
    rows = db.execute(select(inner.c.choice, func.count()).group_by(inner.c.choice))
    counts = {int(position): int(n) for position, n in rows}
    if poll.anonymous and poll.finalized_at is None:
        for _, choices in ballot_box.pending(db, box or ballot_box.current(), poll.id):
            for position in choices:
                counts[position] = counts.get(position, 0) + 1
    voters = int(db.scalar(select(func.count()).select_from(PollVoter).where(PollVoter.poll_id == poll.id)) or 0)
    return Tally(counts, voters)


def classify(agree: int, against: int, abstain: int, consensus: Fraction, basic: Fraction) -> TopicState:
    """达成共识 / 基本达成共识 / 未达成共识 from the votes cast (R-MEET-7)."""
    cast = agree + against + abstain
    if cast == 0:
        return TopicState.NO_CONSENSUS
    share = Fraction(agree, cast)
    if share >= consensus:
        return TopicState.CONSENSUS
    if share >= basic:
        return TopicState.BASIC_CONSENSUS
    return TopicState.NO_CONSENSUS


def turnout_needed(min_turnout: Fraction, eligible: int) -> int:
    """The fewest voters that meet a minimum turnout share."""
    return -((-min_turnout.numerator * eligible) // min_turnout.denominator)


def percent(share: Fraction) -> str:
    """A share as a whole percentage, rounded half up."""
    return f"{int(share * 100 + Fraction(1, 2))}%"


def ratio_text(ratio: Fraction) -> str:
    """'4/5' for a fraction setting."""
    return f"{ratio.numerator}/{ratio.denominator}"


def option_lines(poll: Poll) -> list[str]:
    """'1. 东头' per option."""
    return [f"{opt.position}. {opt.label}" for opt in poll.options]


def results_text(poll: Poll, tally: Tally, now: datetime, tz: tzinfo | None) -> str:
    """Tallies and percentages, with turnout, the outcome and the tally hash when closed (times need ``tz``)."""
    closed = phase(poll, now) is PollPhase.CLOSED
    kind = "表决" if poll.kind is PollKind.CONFIRMATION else "投票"
    head = f"{kind} {poll.number}（{poll.org.name}）{'最终结果' if closed else '目前票数'}：{poll.question}"
    lines = [head]
    for opt in poll.options:
        votes = tally.counts.get(opt.position, 0)
        share = tally.share(opt.position)
        bar = "▇" * int(share * BAR_WIDTH + Fraction(1, 2))
        lines.append(f"{opt.position}. {opt.label}  {votes} 票 {percent(share)} {bar}".rstrip())
    if poll.multiple:
        lines.append("（多选：百分比是选这一项的人占投票人数的比例）")
    people = f"共 {tally.voters} 人投票"
    if poll.eligible_count:
        people += f"，可投票 {poll.eligible_count} 人，参与率 {percent(Fraction(tally.voters, poll.eligible_count))}"
    lines.append(people + "。")
    if closed:
        if tz is not None:
            lines.append(f"已于 {format_local(poll.closed_at or poll.closes_at, tz)} 结束。")
        if poll.turnout_met is False:
            lines.append("参与人数没有达到最低要求，这次投票结果无效。")
        if poll.outcome is not None:
            lines.append(f"表决结果：{OUTCOME_LABELS[poll.outcome]}。{poll.outcome_note or ''}".rstrip())
        if poll.tally_hash:
            lines.append(f"发送“核验 {poll.number} 您的回执”可核对您的票有没有被如实计入。")
            lines.append(f"计票指纹：{poll.tally_hash}")
    elif tz is not None:
        lines.append(f"{format_local(poll.closes_at, tz)} 截止，结果以截止时为准。")
    return "\n".join(lines)


def outcome_note(agree: int, against: int, abstain: int, consensus: Fraction, basic: Fraction) -> str:
    """How a confirmation outcome was reached, in one line."""
    cast = agree + against + abstain
    share = percent(Fraction(agree, cast)) if cast else "0%"
    return (f"同意 {agree}、反对 {against}、弃权 {abstain}，同意占 {share}"
            f"（达成共识需 ≥ {ratio_text(consensus)}，基本达成共识需 ≥ {ratio_text(basic)}）。")


CHART_MEDIA_REUSE = timedelta(days=2)  # WeChat keeps temporary media 3 days; reuse an upload for 2


def results_chart(poll: Poll, tally: Tally) -> bytes:
    """The closed poll's bar chart as PNG: every option with its votes and percentage."""
    bars = [Bar(f"{opt.position}. {opt.label}", tally.counts.get(opt.position, 0),
                f"{tally.counts.get(opt.position, 0)} 票 {percent(tally.share(opt.position))}") for opt in poll.options]
    kind = "表决" if poll.kind is PollKind.CONFIRMATION else "投票"
    footer = f"{poll.org.name} · 共 {tally.voters} 人投票 · 已结束"
    if poll.outcome is not None:
        footer += f" · {OUTCOME_LABELS[poll.outcome]}"
    return bar_chart_png(f"{kind} {poll.number}：{poll.question}", bars, footer)


def chart_media_id(poll: Poll, tally: Tally, now: datetime, upload: Callable[[bytes, str], str]) -> str:
    """The WeChat media id of the poll's chart: uploaded once, reused while WeChat still keeps it."""
    if poll.chart_media_id and poll.chart_media_at and now - poll.chart_media_at < CHART_MEDIA_REUSE:
        return poll.chart_media_id
    media_id = upload(results_chart(poll, tally), f"poll-{poll.org.code}-{poll.number}.png")
    poll.chart_media_id, poll.chart_media_at = media_id, now
    return media_id
