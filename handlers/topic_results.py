"""Keywords after a consultation's result: 确认结果 (R-RES-1), 落实, 落实完成, and the routes beyond the council (R-RES-5):
上报, 转党组织, 转提案, 转社情民意.

A number alone is looked up among the organisations where the sender holds the role (and those below them);
``<org-code>/2026-007`` names the organisation outright.
"""

from __future__ import annotations

from domain.errors import InvalidInput
from domain.orgs import people
from domain.paperwork import feedback
from domain.topics import operations as topics
from domain.topics import refs as topic_refs
from domain.topics import routes as topic_routes
from handlers.context import Context
from handlers.registry import router
from handlers.topic_input import as_typed
from models import Role, RouteKind, Topic, TopicState

S = TopicState
ROUTE_ROLES = (Role.CONVENOR, Role.PARTY_REVIEWER, Role.UPPER_OFFICE)
EXAMPLES = {
    RouteKind.UP: "上报 2026-007 修桥要镇里统筹资金",
    RouteKind.PARTY: "转党组织 2026-007 两种意见相持不下，请党组织决策",
    RouteKind.PROPOSAL: "转提案 2026-007 涉及全县的河道治理",
    RouteKind.OPINION: "转社情民意 2026-007 群众反映的共性问题",
}

COMPLETE_USAGE = "请发送“落实完成 编号 落实情况”，例如：落实完成 2026-007 村东路已硬化 500 米。"

DONE = {
    RouteKind.UP: "已把 {topic} 上报到{to}，理由已记录，会通知{to}。",
    RouteKind.PARTY: "已把 {topic} 提交{to}党组织作决策参考，理由已记录。",
    RouteKind.PROPOSAL: "已把 {topic} 以政协委员提案报县政协（{to}），理由已记录。",
    RouteKind.OPINION: "已把 {topic} 作为社情民意信息报县政协（{to}），理由已记录。",
}


def _find(ctx: Context, ref: str, roles: tuple[Role, ...], states: tuple[TopicState, ...] = ()) -> Topic:
    among = topic_refs.with_subtrees(ctx.db, people.role_orgs(ctx.db, ctx.person, *roles))
    return topic_refs.resolve(ctx.db, ref, among, ctx.now, ctx.settings.tz,
                              narrow=(lambda t: t.state in states) if states else None)


def _ref_and_text(rest: str, usage: str) -> tuple[str, str]:
    if not rest:
        raise InvalidInput(usage)
    return topic_refs.split_ref(rest)


@router.keyword("确认结果", "确认协商结果", roles=(Role.PARTY_REVIEWER,))
def confirm(ctx: Context, rest: str) -> str:
    """确认结果 编号：党组织确认协商结果（确认后报上级备案，才能落实）"""
    ref, note = _ref_and_text(rest, "请发送“确认结果 编号”，例如：确认结果 2026-007。发送“待审”查看等您确认的议题。")
    topic = _find(ctx, ref, (Role.PARTY_REVIEWER,), (S.CONSENSUS, S.BASIC_CONSENSUS))
    topic_routes.confirm(ctx.db, topic, ctx.person, ctx.now, as_typed(ctx, note))
    filed = f"已报{topic.org.parent.name}备案，" if topic.org.parent is not None else ""
    return f"已确认 {topic.org.name} 议题 {topic.number} 的协商结果，{filed}召集人可以组织落实了。"


@router.keyword("落实", "开始落实", roles=(Role.CONVENOR,))
def implement(ctx: Context, rest: str) -> str:
    """落实 编号：党组织确认结果后，开始落实"""
    ref, note = _ref_and_text(rest, "请发送“落实 编号”，例如：落实 2026-007。")
    among = people.role_orgs(ctx.db, ctx.person, Role.CONVENOR)
    topic = topic_refs.resolve(ctx.db, ref, among, ctx.now, ctx.settings.tz,
                               narrow=lambda t: t.state in (S.CONFIRMED, S.CONSENSUS, S.BASIC_CONSENSUS))
    note = as_typed(ctx, note)
    topic_routes.check_note(note)
    topics.implement(ctx.db, topic, ctx.person, ctx.now, note)
    return f"议题 {topic.number} 开始落实。落实情况会公示，并告诉提议人。"


@router.keyword("落实完成", "已落实", roles=(Role.CONVENOR,))
def complete(ctx: Context, rest: str) -> str:
    """落实完成 编号 落实情况：议题落实完成（已落实），公示并告诉提议人"""
    ref, note = _ref_and_text(rest, COMPLETE_USAGE)
    among = people.role_orgs(ctx.db, ctx.person, Role.CONVENOR)
    topic = topic_refs.resolve(ctx.db, ref, among, ctx.now, ctx.settings.tz,
                               narrow=lambda t: t.state is S.IMPLEMENTING)
    note = as_typed(ctx, note).strip()
    if not note:  # the department's latest 结果反馈 says what was done
        latest = feedback.entries(ctx.db, topic)[-1:]
        if not latest:
            raise InvalidInput(f"请写上落实情况，例如：落实完成 {topic.number} 村东路已硬化 500 米。")
        note = f"按结果反馈第 {latest[0].seq} 条：{latest[0].done}"[:topic_routes.MAX_REASON_CHARS]
    topic_routes.check_note(note)
    topics.complete(ctx.db, topic, ctx.person, ctx.now, note)
    days = ctx.settings.rules.result_notice_days
    return (f"议题 {topic.number} 已落实：{note}\n落实情况会公示 {days} 天，并告诉提议人。"
            f"群众可以发送“评价 {topic.number} 分数”来评价。")


def _route(ctx: Context, rest: str, kind: RouteKind) -> str:
    ref, reason = _ref_and_text(rest, f"请发送“{kind.label} 编号 理由”，例如：{EXAMPLES[kind]}。")
    if not reason:
        raise InvalidInput(f"{kind.label}要写明理由，例如：{EXAMPLES[kind]}。")
    topic = _find(ctx, ref, ROUTE_ROLES)
    made = topic_routes.route(ctx.db, topic, kind, ctx.person, ctx.now, as_typed(ctx, reason))
    return DONE[kind].format(topic=f"{topic.org.name} 议题 {topic.number}", to=made.to_org.name)


@router.keyword("上报", "报上级", roles=ROUTE_ROLES)
def escalate(ctx: Context, rest: str) -> str:
    """上报 编号 理由：本级解决不了的，报上一级（村→镇→县→市）"""
    return _route(ctx, rest, RouteKind.UP)


@router.keyword("转党组织", "报党组织决策", roles=(Role.CONVENOR, Role.PARTY_REVIEWER))
def to_party(ctx: Context, rest: str) -> str:
    """转党组织 编号 理由：未达成共识的议题，交党组织决策参考"""
    return _route(ctx, rest, RouteKind.PARTY)


@router.keyword("转提案", "转政协提案", roles=(Role.CONVENOR, Role.PARTY_REVIEWER))
def to_proposal(ctx: Context, rest: str) -> str:
    """转提案 编号 理由：未达成共识的议题，以政协委员提案报县政协"""
    return _route(ctx, rest, RouteKind.PROPOSAL)


@router.keyword("转社情民意", "报社情民意", roles=(Role.CONVENOR, Role.PARTY_REVIEWER))
def to_opinion(ctx: Context, rest: str) -> str:
    """转社情民意 编号 理由：未达成共识的议题，作为社情民意信息报县政协"""
    return _route(ctx, rest, RouteKind.OPINION)

