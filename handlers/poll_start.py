"""发起投票: a convenor starts a simple poll from the chat, sees a preview, and confirms.

    发起投票 [@组织代码] 问题：选项/选项[/…] [截止 <日期或天数>] [多选] [实名|匿名] [仅成员] [隐藏结果]

normalise() has already turned "：" into ":" and "／" into "/". The words after the options
are optional and come last, in any order.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.errors import InvalidInput
from domain.notices.reach import reach
from domain.votes.answers import parse_deadline
from domain.votes.poll_create import (
    PollDraft,
    check_draft,
    convenor_org,
    create_poll,
    rules_text,
)
from handlers.context import Context
from handlers.dialogs import DialogState, clear_state, set_state
from handlers.registry import router
from models import Audience, Organisation, Role

DIALOG = "poll_start"
DEADLINE_WORDS = ("截止", "截至")
CONFIRM_WORDS = {"确认", "确定", "是", "好", "好的", "发起", "对"}
FLAGS = {"多选", "实名", "匿名", "仅成员", "成员", "隐藏结果"}
USAGE = ("请这样发：发起投票 问题：选项/选项\n例如：发起投票 村口路灯装在哪：东头/西头/两头都装 截止 3天\n"
         "后面还可以加：多选、实名、仅成员、隐藏结果（结束前不公布票数）。")


def _pop_flags(text: str, flags: set[str]) -> str:
    words = text.split(" ")
    while words and words[-1] in FLAGS:
        flags.add(words.pop())
    return " ".join(words).strip()


def parse_request(ctx: Context, rest: str) -> tuple[str | None, PollDraft]:
    """The organisation code (if written) and the draft a 发起投票 message asks for."""
    code = None
    if rest.startswith("@"):
        code, _, rest = rest[1:].partition(" ")
    question, colon, tail = rest.partition(":")
    if not colon or not question.strip() or "/" not in tail:
        raise InvalidInput(USAGE)
    flags: set[str] = set()
    deadline = ""
    for word in DEADLINE_WORDS:
        if word in tail:
            tail, _, deadline = tail.partition(word)
            deadline = _pop_flags(deadline.strip(), flags)
            break
    options = tail.strip().split("/")
    options[-1] = _pop_flags(options[-1].strip(), flags)
    poll_settings = ctx.settings.polls
    closes_at = (parse_deadline(deadline, ctx.now, ctx.settings.tz, max_days=poll_settings.max_days) if deadline
                 else ctx.now + timedelta(days=poll_settings.default_days))
    anonymous = "匿名" in flags or (poll_settings.chat_anonymous and "实名" not in flags)
    return code, PollDraft(
        question=question.strip(), options=[o.strip() for o in options if o.strip()], closes_at=closes_at,
        multiple="多选" in flags, anonymous=anonymous, hide_results="隐藏结果" in flags,
        audience=Audience.MEMBERS if flags & {"仅成员", "成员"} else Audience.FOLLOWERS,
    )


def _draft_data(org: Organisation, draft: PollDraft) -> dict[str, object]:
    return {"org": org.id, "question": draft.question, "options": draft.options, "closes": draft.closes_at.isoformat(),
            "multiple": draft.multiple, "anonymous": draft.anonymous, "hide": draft.hide_results,
            "audience": draft.audience.value}


def _draft_from(data: dict[str, object]) -> PollDraft:
    return PollDraft(question=str(data["question"]), options=list(data["options"]),  # type: ignore[call-overload]
                     closes_at=datetime.fromisoformat(str(data["closes"])), multiple=bool(data["multiple"]),
                     anonymous=bool(data["anonymous"]), hide_results=bool(data["hide"]),
                     audience=Audience(str(data["audience"])))


def _preview(ctx: Context, org: Organisation, draft: PollDraft) -> str:
    most = len(draft.options) if draft.multiple else 1
    lines = [f"请核对这次投票（{org.name}）：", draft.question]
    lines += [f"{i}. {label}" for i, label in enumerate(draft.options, start=1)]
    lines.append(rules_text(draft.multiple, most, draft.anonymous, draft.closes_at, ctx.settings.tz))
    if draft.hide_results:
        lines.append("结束前不公布票数。")
    lines.append(f"可以投票的：{reach(ctx.db, org, draft.audience).words}。")
    lines.append("回复“确认”发起并通知大家；回复“取消”放弃。")
    return "\n".join(lines)


@router.keyword("发起投票", roles=(Role.CONVENOR,))
def start(ctx: Context, rest: str) -> str:
    """发起投票 问题：选项/选项：发起一个投票"""
    if not rest:
        return USAGE
    code, draft = parse_request(ctx, rest)
    org = convenor_org(ctx.db, ctx.person, code)
    check_draft(draft, ctx.settings.polls, ctx.now)
    set_state(ctx, DialogState(DIALOG, "confirm", _draft_data(org, draft)))
    return _preview(ctx, org, draft)


@router.step(DIALOG, "confirm")
def confirm(ctx: Context, text: str, state: DialogState) -> str:
    """确认：发起预览中的投票"""
    if text.rstrip("。!！ ") not in CONFIRM_WORDS:
        return "请回复“确认”发起这个投票，或回复“取消”放弃。"
    org = ctx.db.get(Organisation, int(state.data["org"]))
    clear_state(ctx)
    if org is None:
        return "这个组织已经不存在了，投票没有发起。"
    poll = create_poll(ctx.db, org, _draft_from(state.data), actor=ctx.person, now=ctx.now,
                       settings=ctx.settings.polls, tz=ctx.settings.tz)
    told = reach(ctx.db, org, poll.audience).reachable
    return (f"已发起投票 {poll.number}：{poll.question}\n正在通知 {told} 人。"
            f"大家回复“投票 {poll.number} 选项数字”即可投票。\n"
            f"发“结果 {poll.number}”看票数，发“结束投票 {poll.number}”可提前结束。")
