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
