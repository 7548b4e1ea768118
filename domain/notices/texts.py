"""The words of every push: self-contained (what, when, where, what to do, which keyword to send)."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Protocol

from models import Meeting, Notice, NoticeKind, Organisation, OrgKind, Topic, TopicState

WEEKDAYS = "一二三四五六日"
# Short prefixes of notice numbers of the levels above a village: 通知 镇3.
LEVEL_PREFIX = {
    OrgKind.TOWNSHIP: "镇",
    OrgKind.STREET: "街道",
    OrgKind.PARK: "园区",
    OrgKind.COUNTY_OFFICE: "县",
    OrgKind.CITY_OFFICE: "市",
    OrgKind.CPPCC_SECTOR: "界别",
}
RESULT_LABELS = {
    TopicState.CONSENSUS: "达成共识",
    TopicState.BASIC_CONSENSUS: "基本达成共识",
    TopicState.NO_CONSENSUS: "未达成共识",
    TopicState.CONFIRMED: "经党组织确认，即将落实",
    TopicState.IMPLEMENTING: "达成共识，正在落实",
    TopicState.IMPLEMENTED: "已落实",
    TopicState.EVALUATED: "已落实",
}
WITHDRAWN_REASON = "通知已撤回"  # closed_reason of a notice its convenor withdrew (撤回通知)
MATERIAL_CHARS = 150
SENTENCE_ENDS = "。！？!?；;"
CLAUSE_ENDS = "，,："
MIN_CLAUSE = 6


# What the words need of a row: the ORM object, or a plain row of the same columns (bulk sweeps read those).
class TopicFacts(Protocol):
    """A topic as a push names it."""

    number: str
    title: str


class ResultFacts(TopicFacts, Protocol):
    """A topic with its recorded result."""

    result_note: str | None


class MeetingFacts(Protocol):
    """A meeting as its pushes describe it."""

    title: str
    starts_at: datetime
    place: str
    material: str

    @property
    def topic(self) -> TopicFacts | None:
        """The meeting's topic, if any."""


class OrgFacts(Protocol):
    """An organisation as a notice number needs it."""

    name: str
    kind: OrgKind


class NoticeFacts(Protocol):
    """A notice as the convenors' reminder names it."""

    kind: NoticeKind
    title: str
    seq: int
    public_until: datetime | None
    created_at: datetime


def shorten(text: str, limit: int) -> str:
    """Cut text to ``limit`` characters, marking the cut with an ellipsis."""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def fmt_day(moment: datetime, tz: tzinfo) -> str:
    """A date as people read it: 11月30日."""
    local = moment.astimezone(tz)
    return f"{local.month}月{local.day}日"


def fmt_time(moment: datetime, tz: tzinfo) -> str:
    """A date and time as people read it: 11月30日（周日）09:00."""
    local = moment.astimezone(tz)
    return f"{local.month}月{local.day}日（周{WEEKDAYS[local.weekday()]}）{local:%H:%M}"


def fmt_until(public_until: datetime, tz: tzinfo) -> str:
    """The last day of a public window (its end is midnight after that day): 11月30日."""
    return fmt_day(public_until - timedelta(microseconds=1), tz)


def notice_ref(notice: NoticeFacts, org: OrgFacts) -> str:
    """How people name a notice after 通知: its number, prefixed above village level (镇3)."""
    return f"{LEVEL_PREFIX.get(org.kind, '')}{notice.seq}"


def reply_hint(notice: Notice, org: Organisation) -> str:
    """The keyword that shows the notice again."""
    return f"回复“通知 {notice_ref(notice, org)}”查看全文"


def display_title(notice: Notice) -> str:
    """A notice's title without a leading kind word (older rows say '议题公示：…' under the label 议题公示)."""
    return notice.title.removeprefix(f"{notice.kind.label}：").strip() or notice.title


def closed_word(notice: Notice) -> str:
    """Why a closed notice left the list, in one word: 已撤回 by its convenor, else 已结束."""
    return "已撤回" if notice.closed_reason == WITHDRAWN_REASON else "已结束"


def notice_state(notice: Notice, now: datetime) -> str:
    """A notice's state in one word: 公示中, 已撤回, 已结束, or 推送 (a push without a public window)."""
    if notice.closed_at is not None:
        return closed_word(notice)
    if notice.public_until is None:
        return "推送"
    return "公示中" if notice.in_force(now) else "已结束"


def window_text(notice: Notice, tz: tzinfo) -> str:
    """The public window, once, in one date format: '公示期：12月7日至12月13日'."""
    if notice.public_until is None:
        return ""
    start = fmt_day(notice.public_from or notice.created_at, tz)
    return f"公示期：{start}至{fmt_until(notice.public_until, tz)}"


def full_text(notice: Notice, org: Organisation, tz: tzinfo) -> str:
    """The notice as shown by 通知 <编号> and sent as a customer-service message."""
    body = notice.body.strip()
    shown = display_title(notice)
    title = "" if body.startswith(shown.rstrip("…")) else shown  # a title cut from the text itself
    head = f"【{org.name} {notice.kind.label} {notice_ref(notice, org)}】"
    lines = [head + title, body] if title else [head + body]
    window = window_text(notice, tz)
    if window and notice.closed_at is not None:
        window += f"（{closed_word(notice)}）"
    lines.append(window)
    return "\n".join(line for line in lines if line)


def title_from_text(text: str, limit: int = 30) -> str:
    """A title for a broadcast: its first sentence, at most ``limit`` characters."""
    text = " ".join(text.split())
    cut = min((i for i in (text.find(mark) for mark in SENTENCE_ENDS) if i > 0), default=len(text))
    if cut > limit:  # a long first sentence: stop at its first clause when that is long enough to say something
        clause = min((i for i in (text.find(mark) for mark in CLAUSE_ENDS) if MIN_CLAUSE <= i <= limit),
                     default=cut)
        cut = min(cut, clause)
    return shorten(text[:cut], limit)


def meeting_lines(meeting: MeetingFacts, tz: tzinfo) -> list[str]:
    """When, where, what: the lines every meeting push carries."""
    lines = [f"时间：{fmt_time(meeting.starts_at, tz)}", f"地点：{meeting.place}"]
    if meeting.topic is not None:
        lines.append(f"议题：{meeting.topic.number} {meeting.topic.title}")
    if meeting.material.strip():
        lines.append(f"材料：{shorten(meeting.material, MATERIAL_CHARS)}")
    return lines


def reminder_body(meeting: MeetingFacts, now: datetime, tz: tzinfo) -> str:
    """A meeting reminder (R-MEET-2): date, place, topic and the material summary.

    The date is written out (not 明天): a copy retried after midnight must still be right.
    """
    lines = [f"{meeting.title}将于{fmt_time(meeting.starts_at, tz)}在{meeting.place}召开。",
             *meeting_lines(meeting, tz), "请准时参加；不能参加请提前告诉召集人。"]
    return "\n".join(lines)


def topic_notice_title(topic: TopicFacts) -> str:
    """A topic notice's title (the label 议题公示 is shown before it, the window after the text)."""
    return f"议题 {topic.number} {topic.title}"


def topic_notice_body(topic: Topic, meeting: Meeting, tz: tzinfo, *, moved: bool = False) -> str:
    """A topic's public notice before its meeting (R-TOPIC-6); title and 公示期 are added where it is shown."""
    lines = [
        "会议改期了，以下是新的时间。" if moved else "",
        shorten(topic.detail, 120),
        f"协商会议：{fmt_time(meeting.starts_at, tz)}，{meeting.place}。",
        f"有意见建议，请在会前告诉召集人，也欢迎到会旁听。发送“议题 {topic.number}”查看详情。",
    ]
    return "\n".join(line for line in lines if line)


def result_title(topic: TopicFacts, state: TopicState) -> str:
    """A result notice's title (the label 结果公示 is shown before it)."""
    done = state in (TopicState.IMPLEMENTED, TopicState.EVALUATED)
    return f"议题 {topic.number} {shorten(topic.title, 40)}" + (" 落实情况" if done else "")


def result_body(topic: ResultFacts, state: TopicState) -> str:
    """A result or implementation notice (R-RES-2); title and 公示期 are added where it is shown."""
    lines = [
        f"协商结果：{RESULT_LABELS.get(state, state.value)}",
        shorten(topic.result_note or "", 300),
        "如有意见，请在公示结束前告诉召集人。",
    ]
    return "\n".join(line for line in lines if line)


def feedback_body(topic: ResultFacts, state: TopicState, until: datetime, tz: tzinfo) -> str:
    """Feedback to a topic's proposer and co-signers (R-RES-2)."""
    lines = [
        f"您提出（或联名）的议题 {topic.number}“{shorten(topic.title, 30)}”有了结果：",
        RESULT_LABELS.get(state, state.value) + "。",
        shorten(topic.result_note or "", 200),
        f"结果公示至{fmt_until(until, tz)}。",
    ]
    return "\n".join(line for line in lines if line)


def implementation_body(meeting: Meeting, done: list[Topic], ongoing: list[Topic], tz: tzinfo) -> str:
    """What the next meeting is told about consensus topics (R-RES-3)."""
    lines = [f"{meeting.title}（{fmt_time(meeting.starts_at, tz)}，{meeting.place}）会上将通报上次会议以来的落实情况："]
    lines += [f"· 已落实：{t.number} {shorten(t.title, 30)}" for t in done]
    lines += [f"· 落实中：{t.number} {shorten(t.title, 30)}" for t in ongoing]
    lines.append("请会前了解，会上可以提问。")
    return "\n".join(lines)


def closed_body(notice: NoticeFacts, org: OrgFacts, tz: tzinfo) -> str:
    """Telling the convenor a public notice's window ended (R-RES-2)."""
    return (
        f"{org.name}的{notice.kind.label}“{shorten(notice.title, 30)}”（通知 {notice_ref(notice, org)}）"
        f"公示期已于{fmt_until(notice.public_until or notice.created_at, tz)}结束，已自动下架。"
        "请按程序推进下一步，并向上级备案。"
    )


def late_notice_body(topic: Topic, meeting: Meeting, earliest: datetime, tz: tzinfo) -> str:
    """Warning convenors that a topic was noticed fewer days before its meeting than required."""
    return (
        f"议题 {topic.number}“{shorten(topic.title, 30)}”今天才公示，距会议（{fmt_time(meeting.starts_at, tz)}）"
        f"不足规定天数。按规定会议应不早于{fmt_time(earliest, tz)}召开，请考虑改期。"
    )


def cadence_body(org: Organisation, due: datetime, last: datetime | None, overdue: bool, tz: tzinfo) -> str:
    """Reminding convenors that their council is due (R-MEET-1)."""
    since = f"上次会议是{fmt_day(last, tz)}" if last else "还没有召开过协商议事会议"
    if overdue:
        return f"{org.name}{since}，按规定应在{fmt_day(due, tz)}前再开一次，已经超期。请尽快安排会议。"
    return f"{org.name}{since}，按规定应在{fmt_day(due, tz)}前再开一次。请提前确定议题、安排会议。"
