"""Creating polls: checking a draft, numbering per organisation, linking a topic, telling the audience."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from domain.notices.outbox import create_notice
from domain.orgs.people import require_role
from domain.orgs.tree import get_org
from domain.votes.answers import format_local
from domain.votes.audience import audience_label, count_in, eligible_ids
from domain.votes.tally import CONFIRMATION_OPTIONS, option_lines, ratio_text
from models import (
    Audience,
    Meeting,
    MeetingStatus,
    NoticeKind,
    Organisation,
    Person,
    Poll,
    PollKind,
    PollOption,
    Role,
    RoleGrant,
    Topic,
    TopicState,
)

if TYPE_CHECKING:
    from domain.settings import PollSettings, RulesSettings

POLL_AUDIENCES = (Audience.FOLLOWERS, Audience.MEMBERS)


@dataclass
class PollDraft:
    """What a convenor asks for; checked by ``check_draft`` before anything is stored."""

    question: str
    options: list[str]
    closes_at: datetime
    opens_at: datetime | None = None
    multiple: bool = False
    max_choices: int | None = None
    audience: Audience = Audience.FOLLOWERS
    anonymous: bool = True
    hide_results: bool = False
    min_turnout: Fraction | None = None
    topic: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def next_number(db: Session, org: Organisation, model: type[Any]) -> int:
    """The next number of a poll or questionnaire in an organisation (serialised by a lock on the organisation)."""
    db.execute(select(Organisation.id).where(Organisation.id == org.id).with_for_update())
    return int(db.scalar(select(func.coalesce(func.max(model.number), 0)).where(model.org_id == org.id)) or 0) + 1


def find_topic(db: Session, org: Organisation, ref: str) -> Topic:
    """A topic of this organisation by its number ('2026-007', or '7' for the latest year's)."""
    ref = ref.strip()
    stmt = select(Topic).where(Topic.org_id == org.id)
    if ref.isdigit():
        stmt = stmt.where(Topic.number.like(f"%-{int(ref):03d}")).order_by(Topic.number.desc())
    else:
        stmt = stmt.where(Topic.number == ref)
    topic = db.scalars(stmt.limit(1)).first()
    if topic is None:
        raise NotFound(f"{org.name}没有编号为 {ref} 的议题。")
    if topic.state is TopicState.WITHDRAWN:
        raise InvalidInput(f"议题 {topic.number} 已撤回，不能再为它投票或调查。")
    return topic


def check_draft(draft: PollDraft, settings: PollSettings, now: datetime) -> None:
    """Refuse a draft that breaks a limit, with a short Chinese reason."""
    question = draft.question.strip()
    if not question:
        raise InvalidInput("投票的问题不能是空的。")
    if len(question) > settings.question_max_chars:
        raise InvalidInput(f"问题太长了（{len(question)} 字），最多 {settings.question_max_chars} 字。")
    labels = [o.strip() for o in draft.options]
    if len(labels) < 2:
        raise InvalidInput("至少需要两个选项。")
    if len(labels) > settings.max_options:
        raise InvalidInput(f"选项太多了，最多 {settings.max_options} 个。")
    for label in labels:
        if not label:
            raise InvalidInput("有一个选项是空的。")
        if len(label) > settings.option_max_chars:
            raise InvalidInput(f"选项“{label[:10]}…”太长了，每项最多 {settings.option_max_chars} 字。")
    if len(set(labels)) != len(labels):
        raise InvalidInput("有两个选项是一样的。")
    if draft.max_choices is not None and not 1 <= draft.max_choices <= len(labels):
        raise InvalidInput(f"最多可选项数要在 1 到 {len(labels)} 之间。")
    if draft.audience not in POLL_AUDIENCES:
        raise InvalidInput("投票对象只能是全体群众（followers）或议事会成员（members）。")
    if draft.min_turnout is not None and not 0 < draft.min_turnout <= 1:
        raise InvalidInput("最低参与率要大于 0、不超过 1。")
    check_window(draft.opens_at or now, draft.closes_at, now, settings.max_days)


def check_window(opens_at: datetime, closes_at: datetime, now: datetime, max_days: int) -> None:
    """The closing time lies after the opening, in the future, and at most max_days away."""
    if closes_at <= now:
        raise InvalidInput("截止时间已经过去了。")
    if closes_at <= opens_at:
        raise InvalidInput("截止时间要在开始时间之后。")
    if closes_at - max(opens_at, now) > timedelta(days=max_days):
        raise InvalidInput(f"开放时间太长了，最长 {max_days} 天。")


def create_poll(db: Session, org: Organisation, draft: PollDraft, *, actor: Person | None, now: datetime,
                settings: PollSettings, tz: tzinfo) -> Poll:
    """Store a checked poll under the next number and queue its announcement to the audience."""
    if actor is not None:
        require_role(db, actor, org, Role.CONVENOR)
    check_draft(draft, settings, now)
    topic = find_topic(db, org, draft.topic) if draft.topic else None
    labels = [o.strip() for o in draft.options]
    poll = Poll(
        org=org, number=next_number(db, org, Poll), kind=PollKind.SIMPLE, question=draft.question.strip(),
        multiple=draft.multiple, max_choices=(draft.max_choices or len(labels)) if draft.multiple else 1,
        audience=draft.audience, topic_id=topic.id if topic else None, anonymous=draft.anonymous,
        hide_results=draft.hide_results, opens_at=draft.opens_at or now, closes_at=draft.closes_at,
        min_turnout=ratio_text(draft.min_turnout) if draft.min_turnout is not None else None,
        created_by_id=actor.id if actor else None,
    )
    poll.options = [PollOption(position=i, label=label) for i, label in enumerate(labels, start=1)]
    db.add(poll)
    db.flush()
    announce(db, poll, now, tz)
    return poll


def rules_text(multiple: bool, max_choices: int, anonymous: bool, closes_at: datetime, tz: tzinfo) -> str:
    """'单选，匿名投票，谁投了什么不会公开，11月30日 18:00 截止。'"""
    choice = f"可多选（最多 {max_choices} 项）" if multiple else "单选"
    secrecy = "匿名投票，谁投了什么不会公开" if anonymous else "实名投票"
    return f"{choice}，{secrecy}，{format_local(closes_at, tz)} 截止。"


def rules_line(poll: Poll, tz: tzinfo) -> str:
    """The rules of a stored poll in one line."""
    return rules_text(poll.multiple, poll.max_choices, poll.anonymous, poll.closes_at, tz)


def announce(db: Session, poll: Poll, now: datetime, tz: tzinfo) -> None:
    """Queue the poll's announcement to everyone who may vote (through the outbox)."""
    kind = "表决" if poll.kind is PollKind.CONFIRMATION else "投票"
    body = "\n".join([
        f"{poll.org.name}发起{kind} {poll.number}：{poll.question}",
        *option_lines(poll),
        rules_line(poll, tz),
        f"参加对象：{audience_label(poll.org, poll.audience)}。",
        f"投票请回复“投票 {poll.number} 选项数字”，例如：投票 {poll.number} 1",
    ])
    create_notice(
        db, org=poll.org, kind=NoticeKind.POLL, audience=poll.audience, title=f"{kind} {poll.number}：{poll.question}"[:200],
        body=body, now=now, recipients=eligible_ids(poll.org, poll.audience, meeting_id=poll.meeting_id),
        meeting_id=poll.meeting_id, source_key=f"poll-open:{poll.id}", skip_if_acted=f"poll:{poll.id}",
        send_at=max(poll.opens_at, now),
    )


def start_confirmation(db: Session, org: Organisation, meeting_id: int, *, actor: Person | None, now: datetime,
                       settings: PollSettings, rules: RulesSettings, tz: tzinfo, anonymous: bool = False,
                       minutes: int | None = None) -> Poll:
    """Open the 同意/反对/弃权 vote of a meeting for its checked-in attendees (R-MEET-7)."""
    if actor is not None:
        require_role(db, actor, org, Role.CONVENOR, Role.CHAIR, Role.SECRETARY)
    meeting = db.get(Meeting, meeting_id)
    if meeting is None or meeting.org_id != org.id:
        raise NotFound(f"{org.name}没有编号为 {meeting_id} 的会议。")
    if meeting.status in (MeetingStatus.CANCELLED, MeetingStatus.CLOSED):
        raise InvalidInput("这次会议已经取消或结束，不能再发起表决。")
    if meeting.status is not MeetingStatus.OPEN:
        raise InvalidInput("会议开始（到会人数够了、主持人发送“开会”）以后才能表决。")
    running = db.scalar(select(Poll).where(Poll.meeting_id == meeting.id, Poll.closed_at.is_(None),
                                           Poll.closes_at > now).limit(1))
    if running is not None:
        raise Conflict(f"这次会议的表决 {running.number} 还在进行，先发送“结束投票 {running.number}”。")
    if count_in(db, eligible_ids(org, Audience.ATTENDEES, meeting_id=meeting.id)) == 0:
        raise InvalidInput("还没有人签到。参会人员签到后才能表决。")
    subject = meeting.topic.title if meeting.topic else meeting.title
    poll = Poll(
        org=org, number=next_number(db, org, Poll), kind=PollKind.CONFIRMATION,
        question=f"对“{subject}”的协商结果是否同意"[:200], audience=Audience.ATTENDEES, meeting_id=meeting.id,
        topic_id=meeting.topic_id, anonymous=anonymous, opens_at=now,
        closes_at=now + timedelta(minutes=minutes or settings.confirmation_minutes),
        consensus_ratio=ratio_text(rules.consensus_ratio), basic_consensus_ratio=ratio_text(rules.basic_consensus_ratio),
        created_by_id=actor.id if actor else None,
    )
    poll.options = [PollOption(position=i, label=label) for i, label in enumerate(CONFIRMATION_OPTIONS, start=1)]
    db.add(poll)
    db.flush()
    announce(db, poll, now, tz)
    return poll


def convenor_org(db: Session, person: Person, code: str | None = None) -> Organisation:
    """Where a convenor starts a poll: the named organisation, else their home if they convene it, else their only one."""
    if code:
        org = get_org(db, code)
        require_role(db, person, org, Role.CONVENOR)
        return org
    stmt = (select(Organisation).join(RoleGrant, RoleGrant.org_id == Organisation.id)
            .where(RoleGrant.person_id == person.id, RoleGrant.role == Role.CONVENOR, RoleGrant.revoked_at.is_(None))
            .order_by(RoleGrant.id))
    convened = list(dict.fromkeys(db.scalars(stmt)))
    if not convened:
        raise PermissionDenied("只有召集人可以发起投票。")
    for org in convened:
        if org.id == person.home_org_id:
            return org
    if len(convened) == 1:
        return convened[0]
    codes = "、".join(f"@{o.code}（{o.name}）" for o in convened)
    raise InvalidInput(f"您是几个组织的召集人，请在“发起投票”后面先写组织代码：{codes}")
