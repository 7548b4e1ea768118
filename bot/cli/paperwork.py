"""CLI: the paperwork of R-RES-4 on the ``meeting`` and ``topic`` groups (report, send-report, feedback,
feedback-report)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from bot.cli.meetings import meeting
from bot.cli.state import CliState, now_utc, pass_state, run_action
from bot.cli.topics import find_topic, topic
from domain.orgs import people
from domain.orgs import tree as orgs
from domain.paperwork import feedback, opinions, sheets
from models import Role

FORMAT = click.Choice(sheets.FORMATS)


def _write(out: str, data: bytes) -> None:
    try:
        Path(out).write_bytes(data)
    except OSError as exc:
        raise click.ClickException(f"写不了 {out}：{exc.strerror or exc}") from None


@meeting.command("report")
@click.option("--org", "org_code", required=True)
@click.option("--meeting", "meeting_id", required=True, type=int, help="The meeting number (#) meeting list prints")
@click.option("--format", "fmt", type=FORMAT, required=True)
@click.option("--out", required=True, help="The file to write")
@pass_state
def meeting_report(state: CliState, org_code: str, meeting_id: int, fmt: str, out: str) -> None:
    """Export the meeting's opinion list (协商意见建议清单, R-RES-4) as DOCX, PDF or CSV."""

    def action(session: Any) -> tuple[bytes, str]:
        found = opinions.find_meeting(session, orgs.get_org(session, org_code), meeting_id)
        made = opinions.for_meeting(session, found)
        sheet = opinions.sheet(session, found, state.settings.tz, made)
        return sheets.render(sheet, fmt), sheet.number

    data, number = run_action(state, action)
    _write(out, data)
    click.echo(f"已导出协商意见建议清单 {number}：{out}")


@meeting.command("send-report")
@click.option("--org", "org_code", required=True)
@click.option("--meeting", "meeting_id", required=True, type=int)
@pass_state
def meeting_send_report(state: CliState, org_code: str, meeting_id: int) -> None:
    """Send (again) a closed meeting's opinion list to the upper-level office (R-RES-4)."""

    def action(session: Any) -> str:
        found = opinions.find_meeting(session, orgs.get_org(session, org_code), meeting_id)
        sent = opinions.send_up(session, found, now_utc(), state.settings.tz)
        told = len(people.role_holders(session, sent.upper_org, Role.UPPER_OFFICE))
        reach = f"推送 {told} 人，已写入发送队列。" if told else "但上级还没有人担任“上级办公室”角色，没有人收到推送。"
        return f"协商意见建议清单 {opinions.list_number(sent)} 已报送{sent.upper_org.name}（第 {sent.sent_count} 次），{reach}"

    click.echo(run_action(state, action))


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(f"日期写成 2026-12-20，收到 {text!r}") from None


@topic.command("feedback")
@click.option("--org", "org_code", required=True)
@click.option("--topic", "number", required=True, help="Topic number, e.g. 2026-007")
@click.option("--done", required=True, help="What was done")
@click.option("--done-by", "done_by", required=True, help="Who did it (a person or a unit)")
@click.option("--done-on", "done_on", default=None, help="When it was (or will be) done, YYYY-MM-DD (default today)")
@pass_state
def topic_feedback(state: CliState, org_code: str, number: str, done: str, done_by: str, done_on: str | None) -> None:
    """Record the handling department's result feedback on a topic (结果反馈清单, R-RES-4)."""
    day = _day(done_on)

    def action(session: Any) -> str:
        found = find_topic(state, session, org_code, number)
        when = day or now_utc().astimezone(state.settings.tz).date()
        entry = feedback.record(session, found, done=done, done_by=done_by, done_on=when, now=now_utc(), via="cli",
                                tz=state.settings.tz)
        return (f"{found.org.name} 议题 {found.number}：已记录结果反馈第 {entry.seq} 条，"
                f"已通知召集人和提议人。")

    click.echo(run_action(state, action))


@topic.command("feedback-report")
@click.option("--org", "org_code", required=True)
@click.option("--topic", "number", required=True)
@click.option("--format", "fmt", type=FORMAT, required=True)
@click.option("--out", required=True)
@pass_state
def topic_feedback_report(state: CliState, org_code: str, number: str, fmt: str, out: str) -> None:
    """Export a topic's result feedback list (结果反馈清单) as DOCX, PDF or CSV."""

    def action(session: Any) -> tuple[bytes, str]:
        sheet = feedback.sheet(session, find_topic(state, session, org_code, number), state.settings.tz)
        return sheets.render(sheet, fmt), sheet.number

    data, number_line = run_action(state, action)
    _write(out, data)
    click.echo(f"已导出结果反馈清单 {number_line}：{out}")
