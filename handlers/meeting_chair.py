"""Keywords of a meeting's chair and secretary (X-13): attendance, opening, agenda, the floor, revision,
confirmation, minutes, closing; and the convenor's online consultation (网络协商)."""

from __future__ import annotations

from domain.errors import InvalidInput
from domain.meetings import agenda, attendance, confirm, floor, online
from domain.orgs import people
from domain.paperwork import opinions
from domain.topics import refs as topic_refs
from handlers.context import Context
from handlers.registry import router
from models import Meeting, Role

CHAIR_ROLES = attendance.CHAIR_ROLES
MINUTE_ROLES = (*CHAIR_ROLES, Role.SECRETARY)


def _meeting(ctx: Context, rest: str = "") -> Meeting:
    """The meeting named by a code in ``rest``, else the chair's one open (or nearest) meeting."""
    return attendance.chair_meeting(ctx.db, ctx.person, ctx.now, rest.strip())


def _with_code(ctx: Context, rest: str, **options: object) -> tuple[Meeting, str]:
    """An optional leading meeting code, then the text: "修订 K7M2QX 先修村东段" or "修订 先修村东段"."""
    head, _, tail = rest.strip().partition(" ")
    if attendance.looks_like_code(head) and attendance.code_exists(ctx.db, head):
        return attendance.chair_meeting(ctx.db, ctx.person, ctx.now, head, **options), tail.strip()
    return attendance.chair_meeting(ctx.db, ctx.person, ctx.now, "", **options), rest


@router.keyword("到会", "到会情况", roles=CHAIR_ROLES)
def who_is_here(ctx: Context, rest: str) -> str:
    """到会：主持人查看应到、已到和未到的人"""
    meeting = _meeting(ctx, rest)
    attendance.require_chair(ctx.db, meeting, ctx.person)
    att = attendance.attendance(ctx.db, meeting)
    lines = [f"{meeting.title}（会议码 {meeting.checkin_code or '—'}）", attendance.attendance_text(att)]
    if meeting.status.value == "scheduled":
        refusal = attendance.quorum_refusal(att, ctx.settings, meeting.topic_id is not None)
        lines.append(refusal if refusal else "人数已够，可以发送“开会”。")
    return "\n".join(lines)


@router.keyword("开会", roles=CHAIR_ROLES)
def open_meeting(ctx: Context, rest: str) -> str:
    """开会：到会人数够了，主持人宣布开会"""
    meeting = _meeting(ctx, rest)
    att = attendance.open_meeting(ctx.db, meeting, ctx.person, ctx.now, ctx.settings)
    return (f"会议开始：{meeting.title}\n{attendance.attendance_text(att)}\n已把到会情况告诉每位参会人员。"
            f"请宣布议题，然后发送“下一步”请提议人发言。")


@router.keyword("下一步", roles=CHAIR_ROLES)
def next_step(ctx: Context, rest: str) -> str:
    """下一步：会议进入下一个环节（宣布议题→提议人发言→互动协商→议题修订→提请确认）"""
    meeting = _meeting(ctx, rest)
    step = agenda.next_step(ctx.db, meeting, ctx.person, ctx.now, ctx.settings)
    hints = {"proposer": "提议人已获得发言权。讲完后发送“下一步”进入互动协商。",
             "consult": "大家可以发送“发言 支持”或“发言 反对”排队；您发送“下一位”安排发言。",
             "revise": "发送“修订 修改后的议题内容”记录修订，随后再次协商。",
             "confirm": "发送“表决 举手”“表决 鼓掌”或“表决 投票”。"}
    return f"会议进行到：{step.label}。已通知参会人员。\n{hints.get(step.value, '')}".rstrip()


@router.keyword("下一位", roles=CHAIR_ROLES)
def call_next(ctx: Context, rest: str) -> str:
    """下一位：请排队的下一位发言（支持和反对轮流）"""
    meeting = _meeting(ctx, rest)
    called = floor.call_next(ctx.db, meeting, ctx.person, ctx.now, ctx.settings)
    if called.speech is None:
        return "现在没有人排队发言。"
    who = called.speech.person.display_name
    return (f"请 {who}（{called.speech.side.label}）发言，限 {ctx.settings.rules.speak_max_minutes} 分钟。"
            f"还有 {called.waiting} 人排队。")


@router.keyword("停止发言", "打断", roles=CHAIR_ROLES)
def stop_speech(ctx: Context, rest: str) -> str:
    """停止发言：打断违规或跑题的发言"""
    meeting = _meeting(ctx, rest)
    stopped = floor.stop_speech(ctx.db, meeting, ctx.person, ctx.now)
    return f"已打断 {stopped.person.display_name} 的发言。发送“下一位”继续。"


@router.keyword("发言队列", "排队情况", roles=CHAIR_ROLES)
def queue(ctx: Context, rest: str) -> str:
    """发言队列：谁在发言、谁在排队"""
    meeting = _meeting(ctx, rest)
    attendance.require_chair(ctx.db, meeting, ctx.person)
    return floor.queue_text(ctx.db, meeting)


@router.keyword("修订", roles=CHAIR_ROLES)
def revise(ctx: Context, rest: str) -> str:
    """修订 <修改后的内容>：记录议题修订，随后再次协商"""
    meeting, text = _with_code(ctx, rest)
    agenda.revise(ctx.db, meeting, ctx.person, text, ctx.now)
    return "修订已记录并通知参会人员，现在再次互动协商。协商好了发送“下一步”进入提请确认。"


@router.keyword("表决", roles=CHAIR_ROLES)
def start_confirmation(ctx: Context, rest: str) -> str:
    """表决 举手/鼓掌/投票：提请确认"""
    meeting, method = _with_code(ctx, rest)
    poll = confirm.start(ctx.db, meeting, ctx.person, method, ctx.now, ctx.settings)
    if poll is None:
        return (f"请大家{meeting.confirm_method}表态。清点后发送“宣布 达成共识”“宣布 基本达成共识”"
                f"或“宣布 未达成共识”。")
    return (f"表决已开始（投票 {poll.number}）：已签到的参会人员回复“同意”“反对”或“弃权”。"
            f"表决好了发送“结束表决”。")


@router.keyword("结束表决", roles=CHAIR_ROLES)
def finish_confirmation(ctx: Context, rest: str) -> str:
    """结束表决：计票并宣布结果"""
    meeting = _meeting(ctx, rest)
    poll = confirm.finish_vote(ctx.db, meeting, ctx.person, ctx.now, ctx.settings)
    outcome = poll.outcome.label if poll.outcome else "未达成共识"
    return f"表决结束：{outcome}。{poll.outcome_note or ''}\n结果已告诉参会人员和关注的群众。发送“闭会”结束会议。"


@router.keyword("宣布", roles=CHAIR_ROLES)
def announce(ctx: Context, rest: str) -> str:
    """宣布 达成共识/基本达成共识/未达成共识：举手或鼓掌表决后宣布结果"""
    meeting, word = _with_code(ctx, rest)
    outcome = confirm.announce(ctx.db, meeting, ctx.person, word, ctx.now)
    return f"已宣布：{outcome.label}。结果已告诉参会人员和关注的群众。发送“闭会”结束会议。"


@router.keyword("纪要", "记录", roles=MINUTE_ROLES)
def minute(ctx: Context, rest: str) -> str:
    """纪要 <内容>：会议秘书记一条会议纪要"""
    meeting, text = _with_code(ctx, rest, roles=MINUTE_ROLES, include_closed=True)
    count = agenda.add_minute(ctx.db, meeting, ctx.person, text, ctx.now)
    return f"已记入纪要（第 {count} 条）。"


@router.keyword("闭会", "散会", roles=CHAIR_ROLES)
def close(ctx: Context, rest: str) -> str:
    """闭会：结束会议"""
    meeting = _meeting(ctx, rest)
    agenda.close(ctx.db, meeting, ctx.person, ctx.now)
    sent = opinions.send_at_close(ctx.db, meeting, ctx.now, ctx.settings.tz)  # R-RES-4: the list goes up
    upper = f"协商意见建议清单已报送{sent.upper_org.name}。" if sent and sent.upper_org else ""
    return f"会议已结束：{meeting.title}。已通知参会人员。{upper}"


@router.keyword("网络协商", roles=(Role.CONVENOR,))
def start_online(ctx: Context, rest: str) -> str:
    """网络协商 <议题编号> <小时数>：不便集中开会时，在公众号里协商"""
    parts = rest.split()
    if len(parts) != 2 or not (parts[1].isascii() and parts[1].isdigit()):
        raise InvalidInput("请发送：网络协商 议题编号 小时数，例如：网络协商 2026-001 48。")
    among = people.role_orgs(ctx.db, ctx.person, Role.CONVENOR)
    topic = topic_refs.resolve(ctx.db, parts[0], among, ctx.now, ctx.settings.tz)
    meeting = online.open_online(ctx.db, topic, ctx.person, int(parts[1]), ctx.now, ctx.settings)
    return (f"网络协商已开始：议题 {topic.number}，{parts[1]} 小时内受邀人员发送“意见 …”。已通知 "
            f"{attendance.attendance(ctx.db, meeting).expected} 人。收齐后发送“总结 内容”，再“表决 投票”。")


@router.keyword("总结", roles=CHAIR_ROLES)
def summarise(ctx: Context, rest: str) -> str:
    """总结 <内容>：网络协商的总结，发给参与的人"""
    meeting, text = _with_code(ctx, rest)
    online.summarise(ctx.db, meeting, ctx.person, text, ctx.now)
    return "总结已发给参与的人。接下来发送“表决 投票”请大家表态。"
