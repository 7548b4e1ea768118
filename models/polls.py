"""Online votes (网络投票, R-TOPIC-3) and meeting confirmation votes (R-MEET-7).

Anonymity is structural: ``poll_voters`` records who has voted (person, no choice) and
``poll_ballots`` records what was chosen (choice and receipt, no person, no time, no serial
id) for anonymous polls. Only named polls fill ``poll_ballots.voter_id``. An anonymous ballot
first waits sealed in ``poll_ballot_queue`` and reaches ``poll_ballots`` in a shuffled batch,
never in its voter's transaction (domain/votes/ballot_box.py).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, CreatedAt, enum_type
from models.orgs import Organisation
from models.outbox import Audience
from models.topics import TopicState


class PollKind(enum.StrEnum):
    """A screening vote on any question, or the confirmation vote of a meeting."""

    SIMPLE = "simple"  # 网络投票
    CONFIRMATION = "confirmation"  # 会议表决：同意 / 反对 / 弃权


class Poll(CreatedAt, Base):
    """A vote numbered per organisation (投票 1, 2, 3 …); closed once ``closes_at`` has passed."""

    __tablename__ = "polls"
    __table_args__ = (UniqueConstraint("org_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    number: Mapped[int]
    kind: Mapped[PollKind] = mapped_column(enum_type(PollKind), default=PollKind.SIMPLE)
    question: Mapped[str] = mapped_column(String(200))
    multiple: Mapped[bool] = mapped_column(default=False)
    max_choices: Mapped[int] = mapped_column(default=1)
    audience: Mapped[Audience] = mapped_column(enum_type(Audience))  # followers | members | attendees
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), index=True)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"), index=True)
    anonymous: Mapped[bool] = mapped_column(default=True)
    hide_results: Mapped[bool] = mapped_column(default=False)  # tallies shown only after close
    min_turnout: Mapped[str | None] = mapped_column(String(16))  # share of the eligible, e.g. "1/2"
    consensus_ratio: Mapped[str | None] = mapped_column(String(16))  # confirmation: rule in force at creation
    basic_consensus_ratio: Mapped[str | None] = mapped_column(String(16))
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime] = mapped_column(index=True)
    closed_at: Mapped[datetime | None]  # when it actually closed (early by a convenor, or closes_at)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    finalized_at: Mapped[datetime | None] = mapped_column(index=True)  # tally published, results pushed
    voter_count: Mapped[int | None]
    eligible_count: Mapped[int | None]
    turnout_met: Mapped[bool | None]
    tally_hash: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[TopicState | None] = mapped_column(enum_type(TopicState))  # confirmation only
    outcome_note: Mapped[str | None] = mapped_column(Text)
    chart_media_id: Mapped[str | None] = mapped_column(String(128))
    chart_media_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    org: Mapped[Organisation] = relationship()
    options: Mapped[list[PollOption]] = relationship(back_populates="poll", order_by="PollOption.position")


class PollOption(Base):
    """One choice, numbered from 1 as shown to voters."""

    __tablename__ = "poll_options"
    __table_args__ = (UniqueConstraint("poll_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    label: Mapped[str] = mapped_column(String(60))

    poll: Mapped[Poll] = relationship(back_populates="options")


class PollVoter(Base):
    """That a person has voted in a poll: the database's one-vote-per-person guard, without the choice."""

    __tablename__ = "poll_voters"

    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True, index=True)
    voted_at: Mapped[datetime]
    by_proxy_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # 代办: who typed it


class PollBallot(Base):
    """A cast ballot: its receipt and choices; ``voter_id`` only for named polls."""

    __tablename__ = "poll_ballots"

    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True)
    receipt: Mapped[str] = mapped_column(String(16), primary_key=True)
    choices: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger))  # option positions, ascending
    voter_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class PollBallotQueue(Base):
    """An anonymous ballot waiting for its batch: sealed (receipt and choices encrypted), random id, no time."""

    __tablename__ = "poll_ballot_queue"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
