"""Keywords of the paperwork (R-RES-4): 反馈 for the handling department, 清单 for the upper-level office."""

from __future__ import annotations

import re
from datetime import date

from domain.errors import InvalidInput, PermissionDenied
from domain.orgs import people
from domain.paperwork import feedback, opinions
from domain.topics import refs as topic_refs
from handlers.context import Context
from handlers.registry import router
from handlers.topic_input import as_typed
from models import Role

USAGE = ("请发送：反馈 议题编号 办了什么，例如：反馈 2026-007 村东路已硬化 500 米。\n"
         "可以在后面加“经办 张三”“完成 2026-12-20”；不写就记您本人、今天。")
# A marker starts the text or follows a space, so "经办人员已到位" or "已完成12月" stay part of what was done.
BY_RE = re.compile(r"(?:^|\s)(?:经办人?|办理人|负责人)(?:[:：]\s*|\s+)(?P<by>[^\s，,。；;]+)")
DAY_RE = re.compile(r"(?:^|\s)(?:完成时间|完成|时间|日期)[:：]?\s*"
                    r"(?:(?P<y>\d{4})[-/.年])?(?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?")


def parse_fields(text: str, today: date) -> tuple[str, str | None, date]:
    """Split "<what was done> [经办 X] [完成 2026-12-20]" into (done, by or None, day)."""
    by = None
    found = BY_RE.search(text)
    if found:
        by, text = found["by"], text[:found.start()] + text[found.end():]
    day = today
    found = DAY_RE.search(text)
    if found:
        try:
            day = date(int(found["y"] or today.year), int(found["m"]), int(found["d"]))
        except ValueError:
            raise InvalidInput("完成时间写成 2026-12-20 或 12月20日。") from None
        text = text[:found.start()] + text[found.end():]
    return text.strip(" ，,。；;"), by, day


@router.keyword("反馈", roles=(Role.DEPARTMENT,))  # others are told: 需要承办部门
def give_feedback(ctx: Context, rest: str) -> str:
    """反馈 编号 办理情况：承办部门填写结果反馈"""
    departments = people.role_orgs(ctx.db, ctx.person, Role.DEPARTMENT)
    if not departments:
        raise PermissionDenied("结果反馈由承办部门填写（被授予“承办部门”角色的人）。"
                               "您如果是承办人，请联系本村（社区）召集人开通。")
    if not rest:
        raise InvalidInput(USAGE)
    ref, tail = topic_refs.split_ref(rest)
    among = topic_refs.with_subtrees(ctx.db, departments)
    topic = topic_refs.resolve(ctx.db, ref, among, ctx.now, ctx.settings.tz)
    department = feedback.require_department(ctx.db, ctx.person, topic)
    done, by, day = parse_fields(as_typed(ctx, tail), ctx.local_now.date())
    if not done:
        raise InvalidInput(USAGE)
    entry = feedback.record(ctx.db, topic, done=done, done_by=by or ctx.person.display_name, done_on=day,
                            now=ctx.now, via="chat", recorded_by=ctx.person, department=department,
                            tz=ctx.settings.tz)
    return (f"已记录议题 {topic.number} 的结果反馈（第 {entry.seq} 条）：{entry.done}\n"
            f"经办：{entry.done_by}，完成时间：{feedback.fmt_day(entry.done_on)}。已告诉召集人和提议人。")


@router.keyword("清单", roles=(Role.UPPER_OFFICE,))
def show_opinion_list(ctx: Context, rest: str) -> str:
    """清单 编号：上级办公室查看报来的协商意见建议清单"""
    number = rest.strip().removeprefix("#")
    if not (number.isascii() and number.isdigit()):
        received = opinions.inbox_lines(ctx.db, ctx.person)
        return "\n".join(received) if received else "现在没有报来待看的协商意见建议清单。"
    found = opinions.open_received(ctx.db, ctx.person, int(number), ctx.now)
    return opinions.chat_text(ctx.db, found, ctx.settings.tz)


@router.keyword("报送清单", roles=(Role.CONVENOR,))
def resend_opinion_list(ctx: Context, rest: str) -> str:
    """报送清单 [议题编号]：把最近闭会的协商意见建议清单再报送上级一次"""
    among = people.role_orgs(ctx.db, ctx.person, Role.CONVENOR)
    topic_id = None
    if rest.strip():
        topic_id = topic_refs.resolve(ctx.db, topic_refs.split_ref(rest)[0], among, ctx.now, ctx.settings.tz).id
    meeting = opinions.latest_closed(ctx.db, among, topic_id)
    sent = opinions.send_up(ctx.db, meeting, ctx.now, ctx.settings.tz, by=ctx.person)
    return f"协商意见建议清单 {opinions.list_number(sent)}（{meeting.title}）已重新报送{sent.upper_org.name}。"
