"""CLI: meetings of topics (``shangliang meeting …``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from sqlalchemy import select

from bot.cli.state import CliState, now_utc, pass_state, run_action
from bot.cli.topics import find_topic
from bot.wechat import WeChatError
from domain.meetings import attendance
from domain.meetings import schedule as meetings
from domain.orgs import people
from domain.orgs import tree as orgs
from domain.topics.text import local_time_with_weekday
from models import Meeting

TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y/%m/%d %H:%M")


def parse_local(state: CliState, text: str) -> datetime:
    """A time typed as "2026-12-01 09:00", read in the configured time zone."""
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=state.settings.tz)
        except ValueError:
            continue
    raise click.BadParameter(f"时间写成 \"2026-12-01 09:00\"（{state.settings.timezone}），收到 {text!r}")


@click.group()
def meeting() -> None:
    """Topic meetings: schedule with the public notice, move, cancel."""


@meeting.command("schedule")
@click.option("--org", "org_code", required=True)
@click.option("--topic", "number", required=True, help="Topic number, e.g. 2026-007")
@click.option("--at", "at_text", required=True, help='Local time, e.g. "2026-12-01 09:00"')
@click.option("--place", required=True)
@click.option("--by", "actor_ref", required=True, help="The convenor: openid or person id")
@click.option("--material", default="", help="What participants receive before the meeting (R-MEET-2)")
@click.option("--chair", "chair_ref", default=None, help="The chair (X-13.1): a convenor, or a member delegated")
@click.option("--secretary", "secretary_ref", default=None, help="The meeting's secretary, named by the chair (X-13.2)")
@click.option("--stakeholder", "stakeholders", multiple=True,
              help="A stakeholder representative for this topic (repeat; default: the organisation's)")
@click.option("--attendee", "attendees", multiple=True, help="Another invited person (repeat; X-8.3)")
@click.option("--online", is_flag=True, help="Held as an online consultation in the chat (网络协商)")
@pass_state
def meeting_schedule(state: CliState, org_code: str, number: str, at_text: str, place: str, actor_ref: str,
                     material: str, chair_ref: str | None, secretary_ref: str | None, stakeholders: tuple[str, ...],
                     attendees: tuple[str, ...], online: bool) -> None:
    """Schedule a researched topic's meeting and publish its notice (R-TOPIC-5, R-TOPIC-6, R-MEET-4)."""
    starts_at = parse_local(state, at_text)

    def action(session: Any) -> str:
        t = find_topic(state, session, org_code, number)
        actor = people.find_by_ref(session, actor_ref)

        def ids(refs: tuple[str, ...]) -> list[int]:
            return [people.find_by_ref(session, ref).id for ref in refs]

        made = meetings.schedule_meeting(
            session, t, starts_at, place, actor, now_utc(), settings=state.settings, material=material,
            stakeholder_ids=ids(stakeholders), invited_ids=ids(attendees),
            chair_id=ids((chair_ref,))[0] if chair_ref else None,
            secretary_id=ids((secretary_ref,))[0] if secretary_ref else None, online=online)
        return (f"已安排会议 #{made.id}：{local_time_with_weekday(made.starts_at, state.settings.tz)}，"
                f"{made.place}；应到 {len(made.attendees)} 人；会议码 {made.checkin_code}"
                f"（参会人员发送“签到 {made.checkin_code}”）。公示已写入发送队列。")

    click.echo(run_action(state, action))


@meeting.command("reschedule")
@click.option("--org", "org_code", required=True)
@click.option("--topic", "number", required=True)
@click.option("--at", "at_text", required=True)
@click.option("--place", default="", help="New place (default: unchanged)")
@click.option("--by", "actor_ref", required=True)
@click.option("--reason", default="")
@pass_state
def meeting_reschedule(state: CliState, org_code: str, number: str, at_text: str, place: str, actor_ref: str,
                       reason: str) -> None:
    """Move a scheduled meeting (a new notice; the 7-day rule applies again)."""
    starts_at = parse_local(state, at_text)

    def action(session: Any) -> str:
        t = find_topic(state, session, org_code, number)
        actor = people.find_by_ref(session, actor_ref)
        moved = meetings.reschedule_meeting(session, meetings.topic_meeting(session, t), starts_at, place, actor,
                                            now_utc(), settings=state.settings, reason=reason)
        return (f"会议 #{moved.id} 改为 {local_time_with_weekday(moved.starts_at, state.settings.tz)}，"
                f"{moved.place}（第 {moved.version} 版），新的公示已写入发送队列。")

    click.echo(run_action(state, action))


@meeting.command("cancel")
@click.option("--org", "org_code", required=True)
@click.option("--topic", "number", required=True)
@click.option("--by", "actor_ref", required=True)
@click.option("--reason", required=True)
@pass_state
def meeting_cancel(state: CliState, org_code: str, number: str, actor_ref: str, reason: str) -> None:
    """Cancel a scheduled meeting; the topic goes back to 已调研."""

    def action(session: Any) -> str:
        t = find_topic(state, session, org_code, number)
        actor = people.find_by_ref(session, actor_ref)
        cancelled = meetings.cancel_meeting(session, meetings.topic_meeting(session, t), actor, now_utc(),
                                            settings=state.settings, reason=reason)
        return f"会议 #{cancelled.id} 已取消，议题回到“已调研”，取消通知已写入发送队列。"

    click.echo(run_action(state, action))


@meeting.command("list")
@click.option("--org", "org_code", required=True)
@pass_state
def meeting_list(state: CliState, org_code: str) -> None:
    """List an organisation's meetings."""

    def action(session: Any) -> list[str]:
        org = orgs.get_org(session, org_code)
        rows = session.scalars(select(Meeting).where(Meeting.org_id == org.id).order_by(Meeting.starts_at))
        return [f"#{m.id:<4} {local_time_with_weekday(m.starts_at, state.settings.tz)} {m.status.value:<10} "
                f"{m.place}  {m.title}  会议码 {m.checkin_code or '—'}" for m in rows]

    for line in run_action(state, action) or ["（没有会议。）"]:
        click.echo(line)


@meeting.command("qr")
@click.option("--org", "org_code", required=True)
@click.option("--meeting", "meeting_id", required=True, type=int, help="The meeting number (#) that schedule printed")
@pass_state
def meeting_qr(state: CliState, org_code: str, meeting_id: int) -> None:
    """Make the meeting's check-in QR code (WeChat, temporary); scanning it checks the scanner in."""

    def lookup(session: Any) -> dict[str, object]:
        org = orgs.get_org(session, org_code)
        found = session.get(Meeting, meeting_id)
        if found is None or found.org_id != org.id:
            raise click.ClickException(f"{org.name}没有会议 #{meeting_id}。用 shangliang meeting list --org {org_code} 查看。")
        if not found.checkin_code:
            found.checkin_code = attendance.new_checkin_code(session)
        return attendance.qr_request(found, now_utc())

    body = run_action(state, lookup)
    scene = body["action_info"]["scene"]["scene_str"]  # type: ignore[index]
    try:
        answer = state.services.wechat.post("qrcode/create", data=body)
    except WeChatError as exc:
        raise click.ClickException(f"微信没有生成二维码（{exc}）。参会人员仍可发送“签到 {scene[2:]}”签到。") from None
    click.echo(f"会议 #{meeting_id} 签到二维码：{answer.get('url')}")
    click.echo(f"场景值 {scene}，有效 {int(answer.get('expire_seconds', body['expire_seconds'])) // 3600} 小时；"
               f"也可发送“签到 {scene[2:]}”签到。")
