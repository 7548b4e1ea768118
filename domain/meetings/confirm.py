"""Confirmation in the meeting (R-MEET-7, X-13.8): by applause, show of hands or vote, announced publicly.

X-13.8: "由主持人提议，参会人员采取鼓掌、举手、投票等其中一种方式表明态度，并当众宣布表态结果（达成共识、
基本达成共识、未达成共识）". A vote runs on the polls' confirmation machinery (checked-in attendees answer
同意/反对/弃权; the thresholds are ``[rules] consensus_ratio`` and ``basic_consensus_ratio``); applause
and a show of hands are counted in the room and the chair announces the outcome. Only the chair closes
the vote; the outcome goes onto the topic and is announced to the attendees and the followers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import Conflict, InvalidInput, NotFound
from domain.meetings import agenda
from domain.meetings.attendance import require_chair
from domain.notices import outbox
from domain.topics.operations import record_result
from domain.votes import polls
from domain.votes.poll_create import start_confirmation
from models import AgendaStep, Audience, Meeting, Notice, NoticeKind, Person, Poll, PollKind, TopicState

if TYPE_CHECKING:
    from domain.settings import Settings

METHODS = {"投票": "投票", "举手": "举手", "鼓掌": "鼓掌"}
OUTCOMES = {"达成共识": TopicState.CONSENSUS, "基本达成共识": TopicState.BASIC_CONSENSUS,
            "未达成共识": TopicState.NO_CONSENSUS}
ANSWERS = {"同意": 1, "反对": 2, "弃权": 3}


def decided(db: Session, meeting: Meeting) -> bool:
    """Whether the meeting's result was already announced (one result per meeting)."""
    return db.scalar(select(Notice.id).where(Notice.source_key == result_key(meeting))) is not None


def result_key(meeting: Meeting) -> str:
    """The source key of the meeting's result announcement."""
    return f"meeting-result:{meeting.id}"


def _not_yet_decided(db: Session, meeting: Meeting, now: datetime) -> None:
    if decided(db, meeting):
        raise Conflict("这次会议已经宣布了协商结果，不能再表决。")
    if agenda.running_vote(db, meeting, now) is not None:
        raise Conflict("表决还在进行。请等大家表态后发送“结束表决”。")


def start(db: Session, meeting: Meeting, chair: Person, method: str, now: datetime, settings: Settings) -> Poll | None:
    """Put the topic to confirmation; a vote opens a confirmation poll, hands and applause wait for 宣布."""
    require_chair(db, meeting, chair)
    agenda.require_open(meeting)
    _not_yet_decided(db, meeting, now)
    method = METHODS.get(method.strip() or "投票")
    if method is None:
        raise InvalidInput("表决方式请写：举手、鼓掌或投票，例如：表决 举手。")
    meeting.step, meeting.confirm_method = AgendaStep.CONFIRM, method
    if method != "投票":
        db.flush()
        return None
    return start_confirmation(db, meeting.org, meeting.id, actor=None, now=now, settings=settings.polls,
                              rules=settings.rules, tz=settings.tz)


def running_vote(db: Session, meeting: Meeting, now: datetime) -> Poll:
    """The meeting's confirmation vote still open, or a clear refusal."""
    poll = agenda.running_vote(db, meeting, now)
    if poll is None:
        raise NotFound("现在没有正在进行的表决。")
    return poll


def answer(db: Session, meeting: Meeting, person: Person, word: str, now: datetime, settings: Settings) -> str:
    """An attendee's 同意 / 反对 / 弃权 in the running confirmation vote; returns the word recorded."""
    if word not in ANSWERS:
        raise InvalidInput("请回复“同意”“反对”或“弃权”。")
    poll = running_vote(db, meeting, now)
    polls.cast_vote(db, poll, person, [ANSWERS[word]], now, tz=settings.tz)
    return word


def finish_vote(db: Session, meeting: Meeting, chair: Person, now: datetime, settings: Settings) -> Poll:
    """Only the chair ends the vote: count, classify, record on the topic, announce."""
    require_chair(db, meeting, chair)
    poll = running_vote(db, meeting, now)
    closed = polls.close_poll(db, poll, None, now, settings.tz)
    announce_vote(db, meeting, closed, now)
    return closed


def announce_vote(db: Session, meeting: Meeting, poll: Poll, now: datetime) -> None:
    """Announce a counted confirmation vote (by the chair's 结束表决, or when its time ran out)."""
    _announce(db, meeting, poll.outcome or TopicState.NO_CONSENSUS, f"投票：{poll.outcome_note or ''}", now)


def announce_expired(db: Session, now: datetime) -> int:
    """Announce the confirmation votes the scheduler closed when their time ran out (once each)."""
    done = 0
    recent = now - timedelta(days=1)  # the sweep runs every minute: a day back covers any downtime worth covering
    for poll in db.scalars(select(Poll).where(Poll.kind == PollKind.CONFIRMATION, Poll.meeting_id.is_not(None),
                                              Poll.finalized_at > recent)):
        meeting = db.get(Meeting, poll.meeting_id)
        if meeting is not None and not decided(db, meeting):
            announce_vote(db, meeting, poll, now)
            done += 1
    return done


def announce(db: Session, meeting: Meeting, chair: Person, outcome_word: str, now: datetime) -> TopicState:
    """After applause or a show of hands, the chair announces the outcome (宣布 达成共识 …)."""
    require_chair(db, meeting, chair)
    agenda.require_open(meeting)
    _not_yet_decided(db, meeting, now)
    if meeting.confirm_method not in ("举手", "鼓掌"):
        raise Conflict("请先发送“表决 举手”或“表决 鼓掌”；投票表决由“结束表决”计票。")
    outcome = OUTCOMES.get(outcome_word.strip())
    if outcome is None:
        raise InvalidInput("请写：宣布 达成共识、宣布 基本达成共识 或 宣布 未达成共识。")
    if meeting.topic is not None:
        by = None if meeting.chair_id is not None else chair
        record_result(db, meeting.topic, outcome, by, now, note=f"{meeting.confirm_method}表决")
    _announce(db, meeting, outcome, f"{meeting.confirm_method}表决", now)
    return outcome


def _announce(db: Session, meeting: Meeting, outcome: TopicState, how: str, now: datetime) -> None:
    """Tell the attendees and the organisation's followers the outcome (当众宣布)."""
    subject = meeting.topic.title if meeting.topic else meeting.title
    body = f"【协商结果】{meeting.org.name}：{subject}\n结果：{outcome.label}（{how}）"
    outbox.create_notice(db, org=meeting.org, kind=NoticeKind.MEETING_NOTICE, audience=Audience.MEETING_PUBLIC,
                         title=f"协商结果：{subject}"[:200], body=body, now=now, topic=meeting.topic,
                         meeting_id=meeting.id, source_key=result_key(meeting))
    db.flush()
