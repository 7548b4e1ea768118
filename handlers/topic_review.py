"""Keywords for convenors and party reviewers: 待审, 筛选, 报审, 通过, 退回, 调研, 安排会议, 议题清单.

A number alone (7 or 2026-007) is looked up among the organisations where the sender holds the
role; a township reviewer names a village's topic with the village's name: 东风村2026-007 (see domain/topics/refs.py).
"""

from __future__ import annotations

from datetime import timedelta

from domain.errors import InvalidInput
from domain.meetings import schedule as meetings
from domain.orgs import people
from domain.paperwork import feedback as result_feedback
from domain.paperwork import opinions
from domain.topics import feedback as topic_feedback
from domain.topics import operations as topics
from domain.topics import queries as topic_queries
from domain.topics import refs as topic_refs
from domain.topics.text import local_time_with_weekday, short_title
from handlers.context import Context
from handlers.registry import router
from handlers.topic_input import as_typed, parse_when
from models import OrgKind, Role, Topic, TopicState
from models.topics import SCREENING_LABELS, ScreeningMethod

S = TopicState
METHOD_WORDS = {label: method for method, label in SCREENING_LABELS.items()} | {
    "问卷": ScreeningMethod.QUESTIONNAIRE, "调查问卷": ScreeningMethod.QUESTIONNAIRE,
    "对话": ScreeningMethod.DIALOGUE, "座谈": ScreeningMethod.DIALOGUE, "小组": ScreeningMethod.GROUP,
    "听证会": ScreeningMethod.HEARING, "投票": ScreeningMethod.ONLINE_VOTE, "网上投票": ScreeningMethod.ONLINE_VOTE,
}
REVIEWER_ROLES = (Role.PARTY_REVIEWER, Role.CPPCC_COMMITTEE)  # the CPPCC committee reviews sector topics first
COUNCIL_ROLES = (Role.CONVENOR, Role.PARTY_REVIEWER, Role.UPPER_OFFICE, Role.SECRETARY, Role.CHAIR)


def _convenor_topic(ctx: Context, ref: str, *states: TopicState) -> Topic:
    among = people.role_orgs(ctx.db, ctx.person, Role.CONVENOR)
    return topic_refs.resolve(ctx.db, ref, among, ctx.now, ctx.settings.tz,
                              narrow=(lambda t: t.state in states) if states else None)


def _reviewer_topic(ctx: Context, ref: str) -> Topic:
    among = topic_refs.with_subtrees(ctx.db, people.role_orgs(ctx.db, ctx.person, *REVIEWER_ROLES))
    return topic_refs.resolve(ctx.db, ref, among, ctx.now, ctx.settings.tz,
                              narrow=lambda t: t.state in (S.SUBMITTED, S.REVIEWED))


def _need(rest: str, usage: str) -> tuple[str, str]:
    if not rest:
        raise InvalidInput(usage)
    return topic_refs.split_ref(rest)


@router.keyword("待审", "待办", roles=(Role.CONVENOR, *REVIEWER_ROLES, Role.UPPER_OFFICE, Role.DEPARTMENT))
def awaiting(ctx: Context, rest: str) -> str:
    """待审：列出等我处理的议题"""
    todos = topic_queries.awaiting(ctx.db, ctx.person)
    received = opinions.inbox_lines(ctx.db, ctx.person)  # R-RES-4: opinion lists sent up to this office
    received += result_feedback.awaiting_lines(ctx.db, ctx.person, ctx.settings.topics.list_limit)  # and feedback due
    if not todos:
        return "\n".join(received) if received else "现在没有等您处理的议题。"
    qualified = len({t.topic.org_id for t in todos}) > 1
    limit = ctx.settings.topics.list_limit
    lines = [f"等您处理的议题（{len(todos)} 个）："]
    for todo in todos[:limit]:
        topic = todo.topic
        ref = topic.ref if qualified else topic.number
        lines.append(f"· {topic.org.name} {topic.number} {short_title(topic)}（{topic.state.label}）"
                     + (f"\n  来自：{todo.origin}" if todo.origin else "")
                     + f"\n  发送：{todo.hint.format(ref=ref)}")
    if len(todos) > limit:
        lines.append(f"还有 {len(todos) - limit} 个，处理完这些再发送“待审”。")
    return "\n".join(lines + received)


@router.keyword("筛选", roles=(Role.CONVENOR,))
def screen(ctx: Context, rest: str) -> str:
    """筛选 编号 方式：开始筛选（问卷调查、直接对话、小组协商、听证、网络投票）"""
    ref, tail = _need(rest, "请发送“筛选 编号 方式”，例如：筛选 2026-007 问卷调查。方式：问卷调查、直接对话、小组协商、听证、网络投票。")
    word = next((w for w in sorted(METHOD_WORDS, key=len, reverse=True) if tail.startswith(w)), None)
    if word is None:
        raise InvalidInput("请写上筛选方式：问卷调查、直接对话、小组协商、听证、网络投票。例如：筛选 2026-007 问卷调查。")
    topic = _convenor_topic(ctx, ref, S.REGISTERED)
    method = METHOD_WORDS[word]
    topics.screen(ctx.db, topic, ctx.person, ctx.now, method, tail[len(word):].strip())
    return (f"议题 {topic.number} 开始筛选（{method.label}）。\n"
            f"筛选完成后发送“报审 {topic.number}”报党组织审核。")


@router.keyword("报审", roles=(Role.CONVENOR,))
def submit(ctx: Context, rest: str) -> str:
    """报审 编号：筛选后报党组织审核"""
    ref, note = _need(rest, "请发送“报审 编号”，例如：报审 2026-007。")
    topic = _convenor_topic(ctx, ref, S.SCREENING, S.RETURNED)
    topics.submit(ctx.db, topic, ctx.person, ctx.now, as_typed(ctx, note))
    return f"议题 {topic.number} 已报{topic.org.name}党组织审核，审核结果会通知您。"


@router.keyword("通过", "批准", roles=REVIEWER_ROLES)
def approve(ctx: Context, rest: str) -> str:
    """通过 编号：党组织审核通过（或镇党委批准）议题"""
    ref, note = _need(rest, "请发送“通过 编号”，例如：通过 2026-007。发送“待审”查看等您审核的议题。")
    topic = _reviewer_topic(ctx, ref)
    event = topics.approve(ctx.db, topic, ctx.person, ctx.now, as_typed(ctx, note))
    if event.action == "review" and topic.org.kind is OrgKind.CPPCC_SECTOR:
        return f"已初审通过 {topic.org.name} 议题 {topic.number}，已报政协党组审定。"
    if event.action == "review":
        upper = topic.org.parent.name if topic.org.parent else "上级"
        return f"已审核通过 {topic.org.name} 议题 {topic.number}，已报{upper}党委批准。"
    filed = "、".join(o.name for o in topic_feedback.filing_orgs(topic)) or "上级"
    return f"已批准 {topic.org.name} 议题 {topic.number}，已报{filed}备案，召集人会组织调研。"


@router.keyword("退回", roles=REVIEWER_ROLES)
def return_topic(ctx: Context, rest: str) -> str:
    """退回 编号 理由：把议题退回召集人修改"""
    ref, reason = _need(rest, "请发送“退回 编号 理由”，例如：退回 2026-007 涉及范围不清，请写明路段。")
    if not reason:
        raise InvalidInput("退回要写明理由，例如：退回 2026-007 涉及范围不清，请写明路段。")
    topic = _reviewer_topic(ctx, ref)
    topics.return_topic(ctx.db, topic, ctx.person, ctx.now, as_typed(ctx, reason))
    return f"已退回 {topic.org.name} 议题 {topic.number}，理由会告诉召集人和提议人。"


@router.keyword("调研", roles=(Role.CONVENOR,))
def research(ctx: Context, rest: str) -> str:
    """调研 编号 调研情况：登记调研（政策、实情、各方意愿）"""
    ref, note = _need(rest, "请发送“调研 编号 调研情况”，例如：调研 2026-007 走访 30 户，28 户同意修路。")
    if not note:
        raise InvalidInput("请写上调研情况（政策、实情、各方意愿），例如：调研 2026-007 走访 30 户，28 户同意修路。")
    topic = _convenor_topic(ctx, ref, S.APPROVED)
    topics.research(ctx.db, topic, ctx.person, ctx.now, as_typed(ctx, note))
    days = ctx.settings.rules.topic_notice_days
    example = ctx.local_now + timedelta(days=days + 1)
    return (f"议题 {topic.number} 的调研已登记。\n下一步安排协商会议，会议要在 {days} 天以后（先公示）："
            f"例如发送“安排会议 {topic.number} {example.month}月{example.day}日 9:00 村委会议室”。")


@router.keyword("安排会议", roles=(Role.CONVENOR,))
def schedule(ctx: Context, rest: str) -> str:
    """安排会议 编号 日期 时间 地点：安排协商会议并公示"""
    days = ctx.settings.rules.topic_notice_days
    ref, tail = _need(rest, f"请发送“安排会议 编号 日期 时间 地点”，例如：安排会议 2026-007 12月1日 9:00 村委会议室。"
                            f"会议要在 {days} 天以后（先公示）。")
    starts_at, place = parse_when(tail, ctx.now, ctx.settings.tz)
    place = as_typed(ctx, place)
    topic = _convenor_topic(ctx, ref, S.RESEARCHED)
    made = meetings.schedule_meeting(ctx.db, topic, starts_at, place, ctx.person, ctx.now, settings=ctx.settings)
    return (f"已安排：议题 {topic.number} 协商会议 {local_time_with_weekday(starts_at, ctx.settings.tz)}，"
            f"地点 {place.strip()}。\n公示已发出，会推送给{topic.org.name}关注公众号的村民。\n"
            f"会议码 {made.checkin_code}：开会当天参会人员发送“签到 {made.checkin_code}”签到。")


@router.keyword("议题清单", "全部议题", roles=COUNCIL_ROLES)
def topic_list(ctx: Context, rest: str) -> str:
    """议题清单：本村（本镇及下属村）正在办理的议题"""
    own = people.role_orgs(ctx.db, ctx.person, *COUNCIL_ROLES)
    orgs = topic_refs.with_subtrees(ctx.db, people.role_orgs(ctx.db, ctx.person, *topic_refs.SUPERVISING_ROLES))
    orgs += [o for o in own if o.id not in {x.id for x in orgs}]
    found = topic_queries.list_topics(ctx.db, orgs, open_only=True)
    if not found:
        return "现在没有正在办理的议题。"
    sent = topic_queries.routes_into(ctx.db, own)  # R-RES-5: marked with where they came from
    limit = ctx.settings.topics.list_limit
    newest = sorted(found, key=lambda t: t.id, reverse=True)[:limit]
    lines = [f"正在办理的议题（{len(found)} 个，最新的 {len(newest)} 个）："]
    lines += [f"· {t.org.name} {t.number} {short_title(t)}：{t.state.label}"
              + (f"（{sent[t.id].from_org.name}{sent[t.id].kind.label}）" if t.id in sent else "") for t in newest]
    several = len({t.org_id for t in newest}) > 1
    lines.append(f"发送“议题 {newest[0].ref if several else newest[0].number}”查看详情。")
    return "\n".join(lines)

