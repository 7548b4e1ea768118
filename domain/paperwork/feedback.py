"""The 结果反馈清单 of a topic (R-RES-4, L-三(七)): what the handling department did, by whom, by when.

L-三(七): "协商建议办理完成后，承办部门应形成结果反馈清单，及时向协商议事召集人反馈". A person granted the
department role (承办部门) in the topic's organisation or above records it in the chat (反馈), or an
administrator from the CLI; each entry is pushed to the organisation's convenors and the proposer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.errors import Conflict, InvalidInput, PermissionDenied
from domain.notices import outbox
from domain.orgs import people
from domain.orgs.tree import ancestors
from domain.paperwork.sheets import Sheet
from domain.topics.refs import with_subtrees
from domain.topics.text import short_title
from models import Organisation, Person, Role, Topic, TopicFeedback, TopicState

S = TopicState
BEFORE_RESULT = frozenset({S.REGISTERED, S.SCREENING, S.SUBMITTED, S.REVIEWED, S.APPROVED, S.RETURNED, S.RESEARCHED,
                           S.NOTICED, S.CONSULTED, S.WITHDRAWN})
NOT_AWAITING = BEFORE_RESULT | {S.NO_CONSENSUS, S.EVALUATED}  # the department's 待办 skips these
DONE_MAX_CHARS = 500
BY_MAX_CHARS = 100
MAX_DAYS_AHEAD = 366  # a planned completion further ahead is taken for a typo (as a meeting more than a year ahead)
HEADER = ["序号", "办理情况", "经办人（单位）", "完成时间", "反馈时间"]


def department_of(db: Session, person: Person, topic: Topic) -> Organisation | None:
    """The organisation (the topic's or an ancestor) where the person is a department, nearest first."""
    for org in (topic.org, *ancestors(topic.org)):
        if people.has_role(db, person, org, Role.DEPARTMENT):
            return org
    return None


def require_department(db: Session, person: Person, topic: Topic) -> Organisation:
    """The person's department organisation for the topic, or a refusal naming who may answer."""
    org = department_of(db, person, topic)
    if org is None:
        raise PermissionDenied(f"议题 {topic.number} 的结果反馈由承办部门填写（{topic.org.name}或上级授予“承办部门”"
                               f"角色的人）。请联系{topic.org.name}召集人。")
    return org


def record(db: Session, topic: Topic, *, done: str, done_by: str, done_on: date, now: datetime, via: str,
           recorded_by: Person | None = None, department: Organisation | None = None,
           tz: tzinfo = UTC) -> TopicFeedback:
    """Add one entry to the topic's feedback list and tell the convenors and the proposer."""
    done, done_by = (done or "").strip(), (done_by or "").strip()
    if not done:
        raise InvalidInput(f"请写上办了什么，例如：反馈 {topic.number} 村东路已硬化 500 米。")
    if len(done) > DONE_MAX_CHARS:
        raise InvalidInput(f"办理情况请控制在 {DONE_MAX_CHARS} 字以内。")
    if not done_by or len(done_by) > BY_MAX_CHARS:
        raise InvalidInput(f"请写上经办人或单位（{BY_MAX_CHARS} 字以内）。")
    check_day(topic, done_on, now, tz)
    if topic.state in BEFORE_RESULT:
        raise Conflict(f"议题 {topic.number} 现在“{topic.state.label}”，还没有协商结果，不用反馈。")
    db.execute(select(Topic.id).where(Topic.id == topic.id).with_for_update())  # the twin check and seq under it
    twin = db.scalar(select(TopicFeedback).where(TopicFeedback.topic_id == topic.id, TopicFeedback.done == done))
    if twin is not None:
        raise Conflict(f"这条反馈已经记录过了（议题 {topic.number} 第 {twin.seq} 条）。")
    seq = (db.scalar(select(func.max(TopicFeedback.seq)).where(TopicFeedback.topic_id == topic.id)) or 0) + 1
    entry = TopicFeedback(topic_id=topic.id, seq=seq, done=done, done_by=done_by, done_on=done_on, via=via,
                          department_org_id=department.id if department else None,
                          recorded_by_id=recorded_by.id if recorded_by else None, recorded_at=now, created_at=now)
    db.add(entry)
    db.flush()
    convenors = people.role_holders(db, topic.org, Role.CONVENOR)
    told = {p.id: p for p in [*convenors, topic.proposer]}
    outbox.push_to(db, told.values(), org=topic.org, topic=topic, now=now,
                   title=f"结果反馈：{topic.org.name} {topic.number}",
                   body=(f"【结果反馈】{topic.org.name}议题 {topic.number}“{short_title(topic)}”\n"
                         f"办理情况：{done}\n经办：{done_by}\n完成时间：{fmt_day(done_on)}\n"
                         f"发送“议题 {topic.number}”查看。"),
                   source_key=f"topic-feedback:{entry.id}")
    return entry


def check_day(topic: Topic, done_on: date, now: datetime, tz: tzinfo) -> None:
    """Refuse a completion day before the topic was registered or more than a year ahead (a typo)."""
    registered = topic.created_at.astimezone(tz).date()
    latest = now.astimezone(tz).date() + timedelta(days=MAX_DAYS_AHEAD)
    if done_on < registered:
        raise InvalidInput(f"完成时间不对：{fmt_day(done_on)}早于议题 {topic.number} 登记的日子"
                           f"（{fmt_day(registered)}）。请写成 2026-12-20 或 12月20日。")
    if done_on > latest:
        raise InvalidInput(f"完成时间不对：{fmt_day(done_on)}太远了，最晚写到{fmt_day(latest)}。")


def entries(db: Session, topic: Topic) -> list[TopicFeedback]:
    """The topic's feedback entries in order."""
    return list(db.scalars(select(TopicFeedback).where(TopicFeedback.topic_id == topic.id)
                           .order_by(TopicFeedback.seq)))


def fmt_day(day: date) -> str:
    """2026年12月20日."""
    return f"{day.year}年{day.month}月{day.day}日"


def lines(db: Session, topic: Topic) -> list[str]:
    """The feedback list for 议题 <编号> (empty when there is none)."""
    found = entries(db, topic)
    if not found:
        return []
    return ["结果反馈：", *(f"{e.seq}. {e.done}（{e.done_by}，{fmt_day(e.done_on)}）" for e in found)]


def sheet(db: Session, topic: Topic, tz: tzinfo) -> Sheet:
    """The feedback list laid out as offices file it."""
    found = entries(db, topic)
    last = found[-1].recorded_at.astimezone(tz) if found else None
    rows = [[str(e.seq), e.done, e.done_by, fmt_day(e.done_on), fmt_day(e.recorded_at.astimezone(tz).date())]
            for e in found]
    return Sheet(
        title="结果反馈清单",
        number=f"{topic.org.name}结果反馈〔{topic.number}〕",
        org_line=f"协商议事室：{topic.org.name}",
        date_line=f"反馈日期：{fmt_day(last.date())}" if last else "反馈日期：（尚无反馈）",
        extra_lines=[f"议题：{topic.number} {topic.title}", f"议题现状：{topic.state.label}"],
        header=HEADER, rows=rows or [["", "（尚无反馈）", "", "", ""]], widths=[0.6, 5, 2, 1.6, 1.6])


def awaiting_lines(db: Session, person: Person, limit: int) -> list[str]:
    """The 待办 lines of a department: topics with a result in its organisations and no feedback yet."""
    orgs = [o.id for o in with_subtrees(db, people.role_orgs(db, person, Role.DEPARTMENT))]
    if not orgs:
        return []
    answered = select(TopicFeedback.topic_id)
    found = list(db.scalars(select(Topic).where(Topic.org_id.in_(orgs), Topic.state.not_in(list(NOT_AWAITING)),
                                                Topic.id.not_in(answered)).order_by(Topic.org_id, Topic.id)))
    if not found:
        return []
    lines = [f"等您反馈办理结果的议题（{len(found)} 个）："]
    lines += [f"· {t.org.name} {t.number} {short_title(t)}（{t.state.label}）\n  发送：反馈 {t.ref} 办理情况"
              for t in found[:limit]]
    return lines
