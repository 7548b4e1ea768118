"""The Chinese words for a topic's actions and states: one table that the state machine, the
plain-Chinese text and the audit export all read."""

from __future__ import annotations

from models import TopicState

ACTION_LABELS = {
    "register": "登记", "cosign": "联名", "screen": "筛选", "submit": "报党组织审核",
    "review": "审核", "approve": "批准", "return": "退回", "research": "登记调研",
    "schedule": "安排会议并公示", "reschedule": "会议改期", "cancel_meeting": "取消会议",
    "consult": "召开协商会议", "result": "确认协商结果", "implement": "开始落实", "complete": "落实完成",
    "evaluate": "评价", "reconsult": "申请再次协商", "withdraw": "撤回", "file": "备案",
    "confirm": "确认结果", "escalate": "上报", "to_party": "转党组织决策参考", "to_proposal": "转政协提案",
    "to_opinion": "转社情民意",
}


# What a person sends in the chat to make each move ({n}: the topic's number); a move with no chat keyword
# is absent. tests/test_chat_hints.py checks every entry is a keyword the router knows.
ACTION_KEYWORDS = {
    "screen": "筛选 {n} 问卷调查", "submit": "报审 {n}", "review": "通过 {n}", "approve": "通过 {n}",
    "return": "退回 {n} 理由", "research": "调研 {n} 调研情况", "schedule": "安排会议 {n} 日期 时间 地点",
    "withdraw": "撤回 {n}", "confirm": "确认结果 {n}", "implement": "落实 {n}", "complete": "落实完成 {n} 落实情况",
    "escalate": "上报 {n} 理由",
    "to_party": "转党组织 {n} 理由", "to_proposal": "转提案 {n} 理由", "to_opinion": "转社情民意 {n} 理由",
}


def state_label(value: str | None) -> str:
    """The Chinese label of a stored state value ('' for none)."""
    if not value:
        return ""
    try:
        return TopicState(value).label
    except ValueError:
        return value


def action_label(action: str) -> str:
    """The Chinese label of a recorded action."""
    return ACTION_LABELS.get(action, action)
