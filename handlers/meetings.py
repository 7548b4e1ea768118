"""Keywords in the meeting room (X-13): 签到 for attendees; 到会 and 开会 for the chair."""

from __future__ import annotations

from domain.errors import DomainError
from domain.meetings import attendance
from handlers.context import Context
from handlers.registry import router

CHAIR_ROLES = attendance.CHAIR_ROLES


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


@router.keyword("到会", "到会情况", roles=CHAIR_ROLES)
def who_is_here(ctx: Context, rest: str) -> str:
    """到会：主持人查看应到、已到和未到的人"""
    meeting = attendance.chair_meeting(ctx.db, ctx.person, ctx.now, rest.strip())
    att = attendance.attendance(ctx.db, meeting)
    lines = [f"{meeting.title}（会议码 {meeting.checkin_code}）", attendance.attendance_text(att)]
    refusal = attendance.quorum_refusal(att, ctx.settings, meeting.topic_id is not None)
    lines.append(refusal if refusal else "人数已够，可以发送“开会”。")
    return "\n".join(lines)


@router.keyword("开会", roles=CHAIR_ROLES)
def open_meeting(ctx: Context, rest: str) -> str:
    """开会：到会人数够了，主持人宣布开会"""
    meeting = attendance.chair_meeting(ctx.db, ctx.person, ctx.now, rest.strip())
    att = attendance.open_meeting(ctx.db, meeting, ctx.person, ctx.now, ctx.settings)
    return f"会议开始：{meeting.title}\n{attendance.attendance_text(att)}\n已把到会情况告诉每位参会人员。"

