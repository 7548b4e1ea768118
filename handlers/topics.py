"""Topic keywords for everyone: 提议 (with a short dialog), 联名, 我的议题, 议题 <编号>, 撤回."""

from __future__ import annotations

from domain.errors import NotFound
from domain.orgs import people
from domain.paperwork import feedback as result_feedback
from domain.topics import audit
from domain.topics import operations as topics
from domain.topics import queries as topic_queries
from domain.topics import refs as topic_refs
from domain.topics.scope import upper_council
from domain.topics.text import mask_name, proxy_note, short_title, timeline, waiting
from domain.topics.wording import check_text
from handlers.context import Context
from handlers.dialogs import DialogState, clear_state, set_state
from handlers.normalize import strip_trailing
from handlers.proxy import acting_subject
from handlers.registry import router
from handlers.topic_input import as_typed
from models import Person, Topic

DIALOG = "propose"
YES = {"确认", "确定", "提交", "是", "是的", "好", "好的", "对", "可以"}
NO_DETAIL = {"没有", "无", "不用", "没", "跳过", "不", "不要", "没了"}
EDIT = {"修改", "重写", "改", "重新写"}
DETAIL_PREVIEW = 80


def _for_whom(agent: Person | None, person: Person) -> str:
    return f"（代 {person.display_name} 办理）" if agent is not None else ""


def _registered(ctx: Context, topic: Topic, agent: Person | None) -> str:
    lead = f"已代 {topic.proposer.display_name} 登记议题" if agent else "您的议题已登记"
    return (f"{lead}，编号 {topic.number}。\n"
            "接下来：召集人组织筛选（问卷、投票等），再报党组织审核，每一步都会通知"
            f"{'本人' if agent else '您'}。\n"
            f"发送“议题 {_short_ref(topic)}”查看进展；{_who_cosigns(topic)}发送“联名 {_full_ref(topic)}”可以一起联名。")


def _short_ref(topic: Topic) -> str:
    return _full_ref(topic)  # one form in every reply: 2026-007 (a township's topic: 幸福镇2026-007)


def _full_ref(topic: Topic) -> str:
    return topic.number if topic.org.kind.level == "grassroots" else topic.ref


def _who_cosigns(topic: Topic) -> str:
    return "乡亲们" if topic.org.kind.level == "grassroots" else f"{topic.org.name}各村（社区）的乡亲们"


@router.keyword("提议", "我要提议", "提建议")
def propose(ctx: Context, rest: str) -> str:
    """提议 内容：提出一件想大家商量的事（议题）"""
    person, agent = acting_subject(ctx)
    if not rest:
        people.require_home(person)
        set_state(ctx, DialogState(DIALOG, "content", {"for": person.id if agent else None}))
        return (f"请用一两句话说说想商量什么事{_for_whom(agent, person)}，"
                "例如：村东头的路坑坑洼洼，下雨天没法走。\n（随时回复“取消”退出）")
    topic = topics.propose(ctx.db, person, as_typed(ctx, rest), ctx.now, settings=ctx.settings, agent=agent)
    return _registered(ctx, topic, agent)


@router.keyword("向镇里提议", "向街道提议", "镇级提议")
def propose_upper(ctx: Context, rest: str) -> str:
    """向镇里提议 内容：提一件需要镇（街道）协商的事，各村的乡亲都能联名"""
    person, agent = acting_subject(ctx)
    if not rest:
        home = people.require_home(person)
        upper = upper_council(home)
        return f"请在后面写上想请{upper.name}商量的事，例如：向镇里提议 镇上集市缺停车位。"
    topic = topics.propose(ctx.db, person, as_typed(ctx, rest), ctx.now, settings=ctx.settings, agent=agent, upper=True)
    return _registered(ctx, topic, agent)


@router.step(DIALOG, "content")
def propose_content(ctx: Context, text: str, state: DialogState) -> str:
    """The proposal's main sentence."""
    content = check_text(as_typed(ctx, text), ctx.settings)
    set_state(ctx, DialogState(DIALOG, "detail", {**state.data, "content": content}))
    return "要补充说明吗？比如在哪里、影响多少户、希望怎么解决。\n没有就回复“没有”。"


@router.step(DIALOG, "detail")
def propose_detail(ctx: Context, text: str, state: DialogState) -> str:
    """An optional detail."""
    detail = "" if strip_trailing(text) in NO_DETAIL else check_text(as_typed(ctx, text), ctx.settings, "补充说明")
    set_state(ctx, DialogState(DIALOG, "confirm", {**state.data, "detail": detail}))
    lines = ["请确认：", f"议题：{state.data.get('content', '')}"]
    if detail:
        lines.append(f"说明：{detail[:DETAIL_PREVIEW]}{'…' if len(detail) > DETAIL_PREVIEW else ''}")
    lines.append("回复“确认”提交，回复“修改”重新写，回复“取消”放弃。")
    return "\n".join(lines)


@router.step(DIALOG, "confirm")
def propose_confirm(ctx: Context, text: str, state: DialogState) -> str:
    """Register the proposal once confirmed."""
    answer = strip_trailing(text)
    if answer in EDIT:
        set_state(ctx, DialogState(DIALOG, "content", {"for": state.data.get("for")}))
        return "好的，请重新说说想商量什么事。"
    if answer not in YES:
        return "请回复“确认”提交，回复“修改”重新写，或回复“取消”放弃。"
    clear_state(ctx)
    person, agent = acting_subject(ctx)
    wanted = state.data.get("for")
    if wanted is not None and person.id != wanted:
        return "代办已经结束，这个议题没有提交。请重新发送“代办 姓名”，再发送“提议”。"
    if wanted is None:
        person, agent = ctx.person, None
    topic = topics.propose(ctx.db, person, state.data.get("content", ""), ctx.now, settings=ctx.settings,
                           detail=state.data.get("detail", ""), agent=agent)
    return _registered(ctx, topic, agent)


@router.keyword("联名")
def cosign(ctx: Context, rest: str) -> str:
    """联名 编号：和提议人一起联名提议"""
    if not rest:
        return "请发送“联名 编号”，例如：联名 2026-007。编号在议题通知里可以找到。"
    person, agent = acting_subject(ctx)
    home = people.require_home(person)
    ref, _ = topic_refs.split_ref(rest)
    among = [home] + ([home.parent] if home.parent is not None else [])  # a township topic too (跨村联名, X-10)
    topic = topic_refs.resolve(ctx.db, ref, among, ctx.now, ctx.settings.tz, prefer=home)
    topics.cosign(ctx.db, topic, person, ctx.now, agent=agent)
    who = f"已代 {person.display_name} " if agent else "已"
    return f"{who}联名议题 {topic.number}“{short_title(topic)}”。有进展会通知{'本人' if agent else '您'}。"


@router.keyword("我的议题")
def my_topics(ctx: Context, rest: str) -> str:
    """我的议题：看看我提的、联名的议题到了哪一步"""
    person, agent = acting_subject(ctx)
    limit = ctx.settings.topics.list_limit
    items = topic_queries.my_topics(ctx.db, person, limit)
    head = f"{person.display_name} 的议题（代办查看）：" if agent else "您的议题："
    if not items:
        return ("还没有提过或联名过议题。" if agent else "您还没有提过或联名过议题。") + "发送“提议 内容”提一个。"
    lines = [head]
    for item in items:
        topic = item.topic
        where = "" if topic.org_id == person.home_org_id else f"{topic.org.name} "
        signed = "（联名）" if item.relation == "联名" else ""
        lines.append(f"· {where}{topic.number} {short_title(topic)}{signed}：{topic.state.label}"
                     f"{proxy_note(ctx.db, item.agent, topic.org)}")
    lines.append("发送“议题 编号”查看详情，例如：议题 " + items[0].topic.number)
    return "\n".join(lines)


@router.keyword("议题", "查议题", "查看议题")
def show_topic(ctx: Context, rest: str) -> str:
    """议题 编号：查看一个议题的进展"""
    if not rest:
        return "请发送“议题 编号”，例如：议题 2026-007。发送“我的议题”查看您提的议题。"
    ref, _ = topic_refs.split_ref(rest)
    person = ctx.person
    among = topic_refs.visible_orgs(ctx.db, person)
    topic = topic_refs.resolve(ctx.db, ref, among, ctx.now, ctx.settings.tz, prefer=person.home_org)
    if not topic_refs.can_view(ctx.db, person, topic):
        raise NotFound(f"没有找到议题 {topic.number}。")
    close = topic_refs.is_insider(ctx.db, person, topic)
    proposer = topic.proposer.display_name if close else mask_name(topic.proposer.display_name)
    lines = [f"{topic.org.name} 议题 {topic.number}（{topic.state.label}）", topic.title]
    if topic.detail:
        lines.append(f"说明：{topic.detail[:DETAIL_PREVIEW]}{'…' if len(topic.detail) > DETAIL_PREVIEW else ''}")
    lines.append(f"提议人：{proposer}（{topic.source.label}），联名 {len(topic.cosigners)} 人")
    events = audit.timeline(ctx.db, topic)
    limit = ctx.settings.topics.timeline_limit
    lines.append("进展：" + (f"（前面还有 {len(events) - limit} 条）" if len(events) > limit else ""))
    lines += timeline(ctx.db, topic, events[-limit:], ctx.settings.tz, private=not close)
    lines += result_feedback.lines(ctx.db, topic)  # R-RES-4: the department's result feedback list
    lines.append(f"下一步：{waiting(topic.state, ctx.settings.rules.topic_notice_days)}")
    return "\n".join(lines)


@router.keyword("撤回")
def withdraw(ctx: Context, rest: str) -> str:
    """撤回 编号：撤回自己提的、还没报审的议题"""
    if not rest:
        return "请发送“撤回 编号”，例如：撤回 2026-007。只能撤回还没报审的议题。"
    person, agent = acting_subject(ctx)
    ref, reason = topic_refs.split_ref(rest)
    among = topic_refs.visible_orgs(ctx.db, person) + topic_refs.visible_orgs(ctx.db, ctx.person)
    topic = topic_refs.resolve(ctx.db, ref, among, ctx.now, ctx.settings.tz, prefer=person.home_org)
    topics.withdraw(ctx.db, topic, ctx.person, ctx.now, as_typed(ctx, reason), on_behalf_of=person if agent else None)
    return f"议题 {topic.number} 已撤回，不再办理。"


from handlers import (  # noqa: E402  (registering keywords)
    topic_results,  # noqa: F401  (确认结果, 落实, 上报 and the other routes)
    topic_review,  # noqa: F401  (the convenor and reviewer keywords)
)
