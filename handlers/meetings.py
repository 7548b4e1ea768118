"""Keywords of the people in a meeting (X-13): 签到, 发言, 发言结束, 同意/反对/弃权; online: 意见, 看意见."""

from __future__ import annotations

from domain.errors import DomainError
from domain.meetings import attendance, confirm, floor, online
from handlers.context import Context
from handlers.registry import router
from models import Meeting


@router.keyword("签到")
def check_in(ctx: Context, rest: str) -> str:
    """签到 <会议码>：到会场后签到（也可以扫会场的签到二维码）"""
    if not rest.strip():
        return "请写上会场里的会议码，例如：签到 K7M2QX。也可以扫会场的签到二维码。"
    return check_in_reply(ctx, rest)


def check_in_reply(ctx: Context, code: str) -> str:
    """Check the sender in to the meeting with this code (typed or scanned) and say how it went."""
    try:
        return _check_in(ctx, code)
    except DomainError as exc:
        return exc.reply


def _check_in(ctx: Context, code: str) -> str:
    meeting = attendance.find_by_code(ctx.db, code)
    done = attendance.check_in(ctx.db, meeting, ctx.person, ctx.now, ctx.settings)
    if done is attendance.CheckIn.ALREADY:
        return f"您已经签过到了：{meeting.title}。"
    return f"签到成功：{meeting.title}。请在会场就座，会议开始时会通知您。"


@router.keyword("发言", "我要发言", "举手发言")
def ask_for_floor(ctx: Context, rest: str) -> str:
    """发言 [支持/反对]：会上申请发言，排队等主持人安排"""
    meeting = floor.attendee_meeting(ctx.db, ctx.person)
    side = floor.parse_side(rest)
    ahead = floor.request_floor(ctx.db, meeting, ctx.person, side, ctx.now, ctx.settings)
    where = f"前面还有 {ahead} 人" if ahead else "您排在第一位"
    return (f"已排队发言（{side.label}），{where}。轮到您时会通知您，每次限 {ctx.settings.rules.speak_max_minutes} 分钟。"
            f"不想讲了发送“发言结束”。")


@router.keyword("发言结束", "讲完了", "不发言了")
def end_turn(ctx: Context, rest: str) -> str:
    """发言结束：讲完了，或不再排队"""
    meeting = floor.attendee_meeting(ctx.db, ctx.person)
    floor.end_own_turn(ctx.db, meeting, ctx.person, ctx.now)
    return "好的，已结束。谢谢您的发言。"


@router.keyword("同意", "反对", "弃权")
def confirm_answer(ctx: Context, rest: str) -> str:
    """同意 / 反对 / 弃权：会上表决时表明态度"""
    word = next((w for w in confirm.ANSWERS if ctx.text.startswith(w)), "")  # 同意！ 同意了 …
    meeting = _my_meeting(ctx)
    confirm.answer(ctx.db, meeting, ctx.person, word, ctx.now, ctx.settings)
    return f"已记录您的表态：{word}。表决结束后主持人会宣布结果。"


def _my_meeting(ctx: Context) -> Meeting:
    try:
        return floor.attendee_meeting(ctx.db, ctx.person)
    except DomainError:
        return online.participant_meeting(ctx.db, ctx.person, ctx.now)


@router.keyword("意见", "发表意见")
def opinion(ctx: Context, rest: str) -> str:
    """意见 [支持/反对] <内容>：网络协商时发表意见（可以说语音）"""
    meeting = online.participant_meeting(ctx.db, ctx.person, ctx.now)
    first, _, tail = rest.strip().partition(" ")
    side = floor.parse_side(first)
    text = tail if first in floor.SIDE_WORDS else rest
    left = online.add_opinion(ctx.db, meeting, ctx.person, side, text, ctx.now, ctx.settings)
    more = f"您就这个观点还可以再说 {left} 次。" if left else "您就这个观点的发言次数用完了。"
    return f"已收到您的意见（{side.label}）。{more}发送“看意见”看大家的意见。"


@router.keyword("看意见", "大家的意见")
def opinions(ctx: Context, rest: str) -> str:
    """看意见：看网络协商里大家的意见（支持和反对轮流列出）"""
    meeting = online.participant_meeting(ctx.db, ctx.person, ctx.now)
    return online.opinions_text(ctx.db, meeting)
