"""CLI: polls (``shangliang poll …``); questionnaires are in cli_questionnaires.

``--by <openid or person id>`` names the convenor who acts (checked like the chat); without it
the command runs as the administrator of the deployment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import select

from bot.cli.state import CliState, actor, checked, now_utc, pass_state, read_file, run_action
from domain.errors import InvalidInput
from domain.orgs import tree as orgs
from domain.votes import polls
from domain.votes.answers import format_local, parse_local_time
from domain.votes.exports import poll_sheets, write_export
from domain.votes.files import load_poll
from domain.votes.poll_create import create_poll, start_confirmation
from domain.votes.receipts import listing_for, tally_hash
from domain.votes.tally import PollPhase, count_votes, phase, results_text
from models import Poll

T = TypeVar("T")






def _find(session: Any, org_code: str, number: int) -> Poll:
    return polls.get_poll(session, orgs.get_org(session, org_code), number)


def poll_number(func: Any) -> Any:
    """--org and --poll (alias --number) options."""
    func = click.option("--poll", "--number", "number", type=int, required=True, help="Poll number in the organisation")(func)
    return click.option("--org", "org_code", required=True, help="Organisation code")(func)


@click.group()
def poll() -> None:
    """Polls (网络投票) and meeting confirmation votes."""


@poll.command("create")
@click.option("--org", "org_code", required=True, help="Organisation code")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), required=True, help="Poll file (TOML)")
@click.option("--by", "actor_ref", default=None, help="Convenor creating it: openid or person id")
@pass_state
def poll_create(state: CliState, org_code: str, path: str, actor_ref: str | None) -> None:
    """Create a poll from a file (format: docs/polls.md) and announce it."""
    source, s, now = read_file(path), state.settings, now_utc()
    draft = checked(lambda: load_poll(source, name=Path(path).name, settings=s.polls, tz=s.tz, now=now))

    def action(session: Any) -> str:
        created = create_poll(session, orgs.get_org(session, org_code), draft, actor=actor(session, actor_ref),
                              now=now, settings=s.polls, tz=s.tz)
        return (f"已创建投票 {created.number}（{created.org.name}）：{created.question}\n"
                f"{format_local(created.closes_at, s.tz)} 截止；可投票 {polls.count_eligible(session, created)} 人，已排队通知。")

    click.echo(run_action(state, action))


@poll.command("confirm")
@click.option("--org", "org_code", required=True, help="Organisation code")
@click.option("--meeting", "meeting_id", type=int, required=True, help="Meeting id")
@click.option("--minutes", type=int, default=None, help="Minutes it stays open (default [polls] confirmation_minutes)")
@click.option("--anonymous/--named", default=False, show_default=True, help="Secret ballot, or show of hands")
@click.option("--by", "actor_ref", default=None, help="Convenor, chair or secretary: openid or person id")
@pass_state
def poll_confirm(state: CliState, org_code: str, meeting_id: int, minutes: int | None, anonymous: bool,
                 actor_ref: str | None) -> None:
    """Open a meeting's confirmation vote (同意/反对/弃权) for its checked-in attendees (R-MEET-7)."""
    s = state.settings

    def action(session: Any) -> str:
        created = start_confirmation(session, orgs.get_org(session, org_code), meeting_id,
                                     actor=actor(session, actor_ref), now=now_utc(), settings=s.polls, rules=s.rules,
                                     tz=s.tz, anonymous=anonymous, minutes=minutes)
        return (f"已发起表决 {created.number}：{created.question}\n已签到 {polls.count_eligible(session, created)} 人可表决，"
                f"{format_local(created.closes_at, s.tz)} 结束。")

    click.echo(run_action(state, action))


@poll.command("list")
@click.option("--org", "org_code", required=True, help="Organisation code")
@pass_state
def poll_list(state: CliState, org_code: str) -> None:
    """List an organisation's polls."""
    s = state.settings

    def action(session: Any) -> list[str]:
        org, now = orgs.get_org(session, org_code), now_utc()
        rows = session.scalars(select(Poll).where(Poll.org_id == org.id).order_by(Poll.number))
        labels = {PollPhase.UPCOMING: "未开始", PollPhase.OPEN: "进行中", PollPhase.CLOSED: "已结束"}
        return [f"{p.number:>4}  {labels[phase(p, now)]}  {format_local(p.closes_at, s.tz)} 截止  {p.question}" for p in rows]

    for line in run_action(state, action) or ["（还没有投票。）"]:
        click.echo(line)


@poll.command("show")
@poll_number
@pass_state
def poll_show(state: CliState, org_code: str, number: int) -> None:
    """Show a poll's tallies (and outcome, tally hash once closed)."""
    s = state.settings

    def action(session: Any) -> str:
        now = now_utc()
        found = polls.ensure_final(session, _find(session, org_code, number), now, s.tz)
        if found.hide_results and phase(found, now) is not PollPhase.CLOSED:
            return f"投票 {number} 的结果要到结束后才公开（{format_local(found.closes_at, s.tz)}）。"
        return results_text(found, count_votes(session, found), now, s.tz)

    click.echo(run_action(state, action))


@poll.command("close")
@poll_number
@click.option("--by", "actor_ref", default=None, help="Convenor closing it: openid or person id")
@pass_state
def poll_close(state: CliState, org_code: str, number: int, actor_ref: str | None) -> None:
    """Close a poll now, publish its tally hash and push the results."""
    s = state.settings

    def action(session: Any) -> str:
        now = now_utc()
        closed = polls.close_poll(session, _find(session, org_code, number), actor(session, actor_ref), now, s.tz)
        return results_text(closed, count_votes(session, closed), now, s.tz)

    click.echo(run_action(state, action))


@poll.command("audit")
@poll_number
@click.option("--out", "out_path", default=None, help="Also write the listing to this file (exact bytes hashed)")
@pass_state
def poll_audit(state: CliState, org_code: str, number: int, out_path: str | None) -> None:
    """Print the canonical listing of a closed poll; `| sha256sum` gives its published tally hash."""

    def action(session: Any) -> tuple[str, str | None]:
        found = polls.ensure_final(session, _find(session, org_code, number), now_utc(), state.settings.tz)
        if phase(found, now_utc()) is not PollPhase.CLOSED:
            raise InvalidInput(f"投票 {number} 还没结束，结束后才公布计票清单。")
        return listing_for(session, found), found.tally_hash

    listing, published = run_action(state, action)
    if out_path:
        Path(out_path).write_bytes(listing.encode("utf-8"))
    click.echo(listing, nl=False)
    computed = tally_hash(listing)
    verdict = "与公布的一致" if published == computed else f"与公布的 {published} 不一致！"
    click.echo(f"sha256 {computed}（{verdict}）", err=True)
    if published != computed:
        raise SystemExit(1)


@poll.command("export")
@poll_number
@click.option("--out", "out_path", required=True, help="File to write: .csv or .xlsx")
@click.option("--detail", is_flag=True, help="CSV: the ballots instead of the result table")
@pass_state
def poll_export(state: CliState, org_code: str, number: int, out_path: str, detail: bool) -> None:
    """Export a poll's results (and ballots) as CSV or XLSX."""

    def action(session: Any) -> Path:
        now = now_utc()
        found = polls.ensure_final(session, _find(session, org_code, number), now, state.settings.tz)
        return write_export(out_path, poll_sheets(session, found, now), detail=detail)

    click.echo(f"已导出到 {run_action(state, action)}")


@poll.command("close-due")
@click.option("--now", "now_text", default=None, help="As of this time (ISO, local time zone if no offset)")
@pass_state
def poll_close_due(state: CliState, now_text: str | None) -> None:
    """Finalize every poll and questionnaire whose time is up (what the scheduler runs)."""
    s = state.settings
    now = checked(lambda: parse_local_time(now_text, s.tz)) if now_text else now_utc()
    done = run_action(state, lambda session: polls.close_due(session, now, s.tz))
    click.echo("\n".join(done) if done else "没有到期的投票或问卷。")


