"""CLI: a topic's evaluations (``shangliang topic evaluations``, R-RES-6) and the supervisors' workbook
(``shangliang supervise``, R-RES-7)."""

from __future__ import annotations

from typing import Any

import click

from bot.cli.state import CliState, now_utc, pass_state, run_action
from domain.evaluation import summary as evaluation_summary
from domain.evaluation.text import summary_lines
from domain.orgs import people
from domain.orgs import tree as orgs
from domain.supervision import overview as supervision
from domain.supervision import scope, workbook
from domain.supervision.text import overview_lines
from domain.topics import refs as topic_refs


@click.command("evaluations")
@click.option("--org", "org_code", required=True, help="Organisation code")
@click.option("--topic", "number", required=True, help="Topic number (2026-007, or 7 for this year)")
@pass_state
def topic_evaluations(state: CliState, org_code: str, number: str) -> None:
    """Print every evaluation of a topic: ratings' average and spread, reviews, comments (R-RES-6)."""

    def action(session: Any) -> str:
        org = orgs.get_org(session, org_code)
        topic = topic_refs.resolve(session, number, [org], now_utc(), state.settings.tz)
        summary = evaluation_summary.summarise(session, topic)
        return "\n".join(summary_lines(summary, state.settings.tz, full=True))

    click.echo(run_action(state, action))


@click.command("supervise")
@click.option("--org", "org_code", required=True, help="The office's organisation code (township or county)")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The .xlsx file to write")
@click.option("--by", "actor_ref", default=None,
              help="Openid or person id of an upper-office holder there (checked when given)")
@pass_state
def supervise(state: CliState, org_code: str, out: str, actor_ref: str | None) -> None:
    """Write the supervisors' view of everything below an office as XLSX, one sheet per section (R-RES-7)."""

    def action(session: Any) -> str:
        office = orgs.get_org(session, org_code)
        if actor_ref:
            scope.require_office(session, people.find_by_ref(session, actor_ref), office)
        view = supervision.build(session, office, now_utc(), state.settings)
        path = workbook.write(out, view, state.settings.tz)
        return "\n".join([*overview_lines(view)[:-1], f"已写入 {path}（{len(view.rows)} 个组织）。"])

    click.echo(run_action(state, action))
