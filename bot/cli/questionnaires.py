"""CLI: questionnaires (``shangliang questionnaire …``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from bot.cli.state import CliState, actor, checked, now_utc, pass_state, read_file, run_action
from domain.errors import NotFound
from domain.orgs import tree as orgs
from domain.votes import questionnaires
from domain.votes.answers import format_local
from domain.votes.audience import count_in
from domain.votes.exports import questionnaire_sheets, write_export
from domain.votes.files import load_questionnaire
from domain.votes.questionnaire_create import create_questionnaire
from domain.votes.questionnaire_results import summary_for, summary_text
from domain.votes.questionnaires import respondents_query
from domain.votes.tally import PollPhase
from models import Questionnaire


def _find(session: Any, org_code: str, number: int) -> Questionnaire:
    org = orgs.get_org(session, org_code)
    found = session.scalar(select(Questionnaire).where(Questionnaire.org_id == org.id, Questionnaire.number == number))
    if found is None:
        raise NotFound(f"{org.name}没有问卷 {number}。")
    return questionnaires.ensure_final(session, found, now_utc())


def numbered(func: Any) -> Any:
    """--org and --number options."""
    func = click.option("--number", "number", type=int, required=True, help="Questionnaire number")(func)
    return click.option("--org", "org_code", required=True, help="Organisation code")(func)


@click.group()
def questionnaire() -> None:
    """Questionnaires (问卷调查) answered in the chat."""


@questionnaire.command("create")
@click.option("--org", "org_code", required=True, help="Organisation code")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), required=True,
              help="Questionnaire file (TOML)")
@click.option("--by", "actor_ref", default=None, help="Convenor creating it: openid or person id")
@pass_state
def questionnaire_create(state: CliState, org_code: str, path: str, actor_ref: str | None) -> None:
    """Create a questionnaire from a file (format: docs/polls.md) and announce it."""
    source, s, now = read_file(path), state.settings, now_utc()
    draft = checked(lambda: load_questionnaire(source, name=Path(path).name, settings=s.polls, tz=s.tz, now=now))

    def action(session: Any) -> str:
        created = create_questionnaire(session, orgs.get_org(session, org_code), draft,
                                       actor=actor(session, actor_ref), now=now, settings=s.polls)
        reach = count_in(session, respondents_query(created))
        return (f"已创建问卷 {created.number}（{created.org.name}）：{created.title}，共 {len(created.questions)} 题\n"
                f"{format_local(created.closes_at, s.tz)} 截止；应答 {reach} 人，已排队通知。")

    click.echo(run_action(state, action))


@questionnaire.command("list")
@click.option("--org", "org_code", required=True, help="Organisation code")
@pass_state
def questionnaire_list(state: CliState, org_code: str) -> None:
    """List an organisation's questionnaires."""
    s = state.settings

    def action(session: Any) -> list[str]:
        org, now = orgs.get_org(session, org_code), now_utc()
        rows = session.scalars(select(Questionnaire).where(Questionnaire.org_id == org.id).order_by(Questionnaire.number))
        labels = {PollPhase.UPCOMING: "未开始", PollPhase.OPEN: "进行中", PollPhase.CLOSED: "已结束"}
        return [f"{q.number:>4}  {labels[questionnaires.phase(q, now)]}  {format_local(q.closes_at, s.tz)} 截止  "
                f"{q.title}（{len(q.questions)} 题）" for q in rows]

    for line in run_action(state, action) or ["（还没有问卷。）"]:
        click.echo(line)


@questionnaire.command("show")
@numbered
@pass_state
def questionnaire_show(state: CliState, org_code: str, number: int) -> None:
    """Show the per-question summary."""
    click.echo(run_action(state, lambda session: summary_text(summary_for(session, _find(session, org_code, number), None),
                                                         max_texts=50)))


@questionnaire.command("close")
@numbered
@click.option("--by", "actor_ref", default=None, help="Convenor closing it: openid or person id")
@pass_state
def questionnaire_close(state: CliState, org_code: str, number: int, actor_ref: str | None) -> None:
    """Close a questionnaire now."""

    def action(session: Any) -> str:
        closed = questionnaires.close_questionnaire(session, _find(session, org_code, number),
                                                    actor(session, actor_ref), now_utc())
        return f"问卷 {closed.number} 已结束。"

    click.echo(run_action(state, action))


@questionnaire.command("export")
@numbered
@click.option("--out", "out_path", required=True, help="File to write: .csv or .xlsx")
@click.option("--detail", is_flag=True, help="CSV: one row per answer sheet instead of the summary")
@pass_state
def questionnaire_export(state: CliState, org_code: str, number: int, out_path: str, detail: bool) -> None:
    """Export the summary (and the answer sheets) as CSV or XLSX."""

    def action(session: Any) -> Path:
        found = _find(session, org_code, number)
        return write_export(out_path, questionnaire_sheets(session, found, state.settings.tz), detail=detail)

    click.echo(f"已导出到 {run_action(state, action)}")
