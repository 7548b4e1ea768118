"""Poll keywords: 投票, 结果, 核验, 结束投票, 发起确认 (发起投票 lives in handlers/poll_start.py).

The results of a closed poll come as a bar-chart picture (the passive reply) and the same
results as text pushed through the outbox right after (once per person and poll: asking again
pushes nothing new); without an uploader, or when the upload fails, the reply is the text itself.
核验 confirms that a receipt was counted, without the choice unless ``[polls] verify_shows_choice``:
a receipt must not prove a vote to someone else (a buyer).
"""

from __future__ import annotations

import logging
from datetime import datetime

from domain.errors import InvalidInput, NotFound
from domain.meetings import confirm
from domain.notices.outbox import push_to
from domain.votes import polls, refs
from domain.votes.answers import format_local, parse_choices
from domain.votes.audience import audience_label, is_in, related_org_ids
from domain.votes.ballot_box import box_for
from domain.votes.poll_create import rules_line
from domain.votes.receipts import FINGERPRINT_SHOWN, check_receipt, short_fingerprint
from domain.votes.tally import PollPhase, chart_media_id, count_votes, option_lines, phase, results_text
from handlers.context import Context
from handlers.proxy import acting_villager
from handlers.registry import router
from handlers.route import ImageReply, PrivateText
from models import Meeting, NoticeKind, Poll, PollKind, Role

logger = logging.getLogger(__name__)


def _when(ctx: Context, moment: datetime) -> str:
    return format_local(moment, ctx.settings.tz)


def _listing(ctx: Context) -> str:
    rows = polls.polls_for(ctx.db, ctx.person, ctx.now)
    if not rows:
        return "现在没有您可以参加的投票。有新投票时会通知您。"
    lines, clash = ["进行中和最近结束的投票："], refs.clashing([p for p, _ in rows], lambda p: p.number)
    for poll, voted in rows:
        shown = refs.label(poll.number, poll.org, poll.number in clash)
        if phase(poll, ctx.now) is PollPhase.CLOSED:
            state = f"已结束，发“结果 {shown}”看结果"
        else:
            state = ("已投" if voted else "还没投") + f"，{_when(ctx, poll.closes_at)} 截止"
        lines.append(f"· 投票 {shown}：{poll.question}（{state}）")
    first = rows[0][0]
    lines.append("发送“投票 编号”查看，例如：投票 " + refs.label(first.number, first.org, first.number in clash))
    return "\n".join(lines)


def _show(ctx: Context, poll: Poll) -> str:
    poll = polls.ensure_final(ctx.db, poll, ctx.now, ctx.settings.tz)
    kind = "表决" if poll.kind is PollKind.CONFIRMATION else "投票"
    lines = [f"{kind} {poll.number}（{poll.org.name}）：{poll.question}", *option_lines(poll)]
    stage = phase(poll, ctx.now)
    if stage is PollPhase.CLOSED:
        lines.append(f"已经结束。发送“结果 {poll.number}”查看结果。")
        return "\n".join(lines)
    lines.append(rules_line(poll, ctx.settings.tz))
    if stage is PollPhase.UPCOMING:
        lines.append(f"{_when(ctx, poll.opens_at)} 开始投票。")
    elif polls.has_voted(ctx.db, poll.id, ctx.person.id):
        mine = polls.named_choice(ctx.db, poll, ctx.person)
        picked = "、".join(str(c) for c in mine) if mine else ""
        lines.append(f"您已经投过了{f'（第 {picked} 项）' if picked else ''}，每人只能投一次。")
    elif is_in(ctx.db, ctx.person, polls.voters_query(poll)):
        example = "1 3" if poll.multiple else "1"
        lines.append(f"投票请回复：投票 {poll.number} {example}")
    else:
        lines.append(f"这次只有{audience_label(poll.org, poll.audience)}可以投票。")
    return "\n".join(lines)


def _vote(ctx: Context, poll: Poll, answer: str) -> str:
    picked = parse_choices(answer, [o.label for o in poll.options], multiple=poll.multiple,
                           max_choices=poll.max_choices)
    villager = acting_villager(ctx)
    voter = villager or ctx.person
    vote = polls.cast_vote(ctx.db, poll, voter, picked, ctx.now, tz=ctx.settings.tz,
                           by_proxy=ctx.person if villager else None, box=box_for(ctx.settings))
    chosen = "；".join(f"{n}. {label}" for n, label in zip(vote.choices, vote.labels, strict=True))
    who = f"已替 {villager.display_name} 投票" if villager else "投票成功"
    lines = [f"{who}！投票 {poll.number}，选的是：{chosen}。",
             f"回执：{vote.receipt}（请记下，只有您知道）。",
             f"投票结束后可发“核验 {poll.number} {vote.receipt}”核对这一票有没有被如实计入。"]
    if villager:
        lines.append(f"请把回执告诉 {villager.display_name}。")
    text = "\n".join(lines)
    return PrivateText(text) if poll.anonymous else text


@router.keyword("投票")
def vote(ctx: Context, rest: str) -> str:
    """投票 编号 选项：参加投票（只发“投票”看有哪些）"""
    if not rest:
        return _listing(ctx)
    ref, _, answer = rest.partition(" ")
    poll = polls.find_poll(ctx.db, ctx.person, ref)
    if not answer.strip():
        return _show(ctx, poll)
    return _vote(ctx, poll, answer)


def _poll_from(ctx: Context, rest: str, usage: str) -> Poll:
    ref = rest.split(" ")[0] if rest else ""
    if not ref:
        raise InvalidInput(refs.usage_example(ctx.db, Poll, related_org_ids(ctx.db, ctx.person), usage))
    return polls.find_poll(ctx.db, ctx.person, ref)


@router.keyword("结果", "投票结果")
def results(ctx: Context, rest: str) -> str | ImageReply:
    """结果 编号：查看投票结果"""
    poll = polls.ensure_final(ctx.db, _poll_from(ctx, rest, "结果"), ctx.now, ctx.settings.tz)
    closed = phase(poll, ctx.now) is PollPhase.CLOSED
    if poll.hide_results and not closed:
        return f"投票 {poll.number} 的结果在 {_when(ctx, poll.closes_at)} 截止后公布，到时会通知您。"
    tally = count_votes(ctx.db, poll)
    text = results_text(poll, tally, ctx.now, ctx.settings.tz)
    if not closed or ctx.uploader is None:
        return text
    try:
        media_id = chart_media_id(poll, tally, ctx.now, ctx.uploader)
    except Exception:  # noqa: BLE001 - the injected uploader may fail in many ways; the text still goes out
        logger.warning("chart upload failed for poll %s; replying with text", poll.id, exc_info=True)
        return text
    push_to(ctx.db, [ctx.person], org=poll.org, kind=NoticeKind.POLL, title=f"投票 {poll.number} 结果", body=text,
            now=ctx.now, source_key=f"poll-result-text:{poll.id}:{ctx.person.id}")  # asking again pushes nothing
    return ImageReply(media_id)


@router.keyword("核验", "核对")
def verify(ctx: Context, rest: str) -> str:
    """核验 编号 回执：核对自己的票有没有被如实计入"""
    ref, _, receipt = rest.partition(" ")
    if not ref or not receipt.strip():
        return "请发送“核验 投票编号 回执”，例如：核验 3 K7M2Q9XA。回执是投票成功时给您的 8 位字母数字。"
    poll = polls.ensure_final(ctx.db, polls.find_poll(ctx.db, ctx.person, ref), ctx.now, ctx.settings.tz)
    check = check_receipt(ctx.db, poll, receipt, box_for(ctx.settings))
    if check is None:
        return f"投票 {poll.number} 里没有回执 {receipt.strip().upper()}。请核对回执（8 位字母数字，不含 0、O、1、I）。"
    shows_choice = ctx.settings.polls.verify_shows_choice
    if check.tally_hash:
        lines = [f"您的回执已核对：您这一票已计入投票 {poll.number} 的结果，共 {check.ballots} 人投票。"]
    else:
        lines = [f"您的回执已核对：您这一票已计入投票 {poll.number}。投票结束后会公布结果，到时可以再核验。"]
    if shows_choice:
        lines.append("您选的是：" + "；".join(f"{n}. {label}" for n, label in zip(check.choices, check.labels,
                                                                                  strict=True)) + "。")
    else:
        lines.append("为防止有人买票，这里不显示选了什么；投票成功时的回复里有您选的。")
    if check.tally_hash:
        if shows_choice:
            lines.append(f"公开的计票清单里有这一行：{check.receipt} {','.join(str(c) for c in check.choices)}")
        lines.append(f"计票指纹 {short_fingerprint(check.tally_hash)}（前 {FINGERPRINT_SHOWN} 位，"
                     "和结果公告里的对得上，说明计票清单没被改过）")
    return PrivateText("\n".join(lines))


@router.keyword("结束投票", roles=(Role.CONVENOR, Role.UPPER_OFFICE))
def close(ctx: Context, rest: str) -> str:
    """结束投票 编号：提前结束一个投票"""
    poll = polls.close_poll(ctx.db, _poll_from(ctx, rest, "结束投票"), ctx.person, ctx.now, ctx.settings.tz)
    lines = [f"投票 {poll.number} 已结束，共 {poll.voter_count} 人投票。结果正在推送给大家。"]
    if poll.outcome is not None:
        lines.append(poll.outcome_note or "")
    lines.append(f"发送“结果 {poll.number}”查看结果。")
    return "\n".join(line for line in lines if line)


@router.keyword("发起确认", "发起表决", roles=(Role.CONVENOR, Role.CHAIR, Role.SECRETARY))
def confirm_vote(ctx: Context, rest: str) -> str:
    """发起确认 会议编号：会上对协商结果表决（同意/反对/弃权）"""
    ref = rest.split(" ")[0] if rest else ""
    if not (ref.isascii() and ref.isdigit()) or int(ref) > polls.MAX_NUMBER:
        return "请发送“发起确认 会议编号”，例如：发起确认 12。"
    meeting = ctx.db.get(Meeting, int(ref))
    if meeting is None:
        raise NotFound(f"没有编号为 {ref} 的会议。")
    poll = confirm.start(ctx.db, meeting, ctx.person, "投票", ctx.now, ctx.settings)  # the chair's 表决 投票
    if poll is None:
        raise InvalidInput("表决没有开始。")
    attendees = polls.count_eligible(ctx.db, poll)
    return (f"已发起表决 {poll.number}：{poll.question}\n已签到的 {attendees} 人可以表决，已通知他们。\n"
            f"表决方法：回复“同意”“反对”或“弃权”（也可以回复“投票 {poll.number} 1/2/3”）。\n"
            f"{_when(ctx, poll.closes_at)} 自动结束，主持人也可以发“结束表决”提前结束。")


from handlers import poll_start  # noqa: E402,F401  (registers 发起投票)
