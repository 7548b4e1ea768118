"""CLI: the hash-chained audit trail of topic changes and the 代办 record (``shangliang audit …``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from bot.cli.state import CliState, pass_state, run_action
from domain.orgs import proxy
from domain.orgs import tree as orgs
from domain.topics import audit
from domain.topics import refs as topic_refs
from domain.topics.text import local_time

END_REASONS = {"ended": "本人结束", "expired": "超时自动结束", "replaced": "改代他人", None: "进行中"}


@click.group("audit")
def audit_group() -> None:
    """The hash-chained record of every topic change (R-TOPIC-8)."""


@audit_group.command("verify")
@pass_state
def audit_verify(state: CliState) -> None:
    """Check every organisation's chain end to end; exit 1 at the first broken record."""
    report = run_action(state, audit.verify)
    if report.ok:
        click.echo(f"审计记录完好：{report.checked} 条记录，{report.topics} 个议题，"
                   f"{report.orgs} 个组织的哈希链各自首尾相接。")
        return
    click.echo(f"审计记录有问题（已核对 {report.checked} 条）：{report.problem}", err=True)
    sys.exit(1)


@audit_group.command("export")
@click.option("--org", "org_code", required=True)
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--below/--only", default=True, help="Include the organisations below it (default) or not")
@pass_state
def audit_export(state: CliState, org_code: str, out_path: Path, below: bool) -> None:
    """Export the records of an organisation's topics as CSV (UTF-8 with BOM, opens in Excel)."""

    def action(session: Any) -> int:
        org = orgs.get_org(session, org_code)
        scope = topic_refs.with_subtrees(session, [org]) if below else [org]
        with out_path.open("w", encoding="utf-8-sig", newline="") as out:
            return audit.export_csv(session, scope, out, state.settings.tz)

    rows = run_action(state, action)
    click.echo(f"已导出 {rows} 条记录到 {out_path}")


@audit_group.command("proxy")
@click.option("--org", "org_code", required=True)
@pass_state
def audit_proxy(state: CliState, org_code: str) -> None:
    """List every 代办 session of an organisation: who acted for whom, from when to when."""
    tz = state.settings.tz

    def action(session: Any) -> list[str]:
        org = orgs.get_org(session, org_code)
        return [f"#{row.id:<4} {local_time(row.started_at, tz)} 至 "
                f"{local_time(row.ended_at, tz) if row.ended_at else '—':<11} {row.agent.display_name} 代 "
                f"{row.villager.display_name}（{END_REASONS.get(row.end_reason, row.end_reason)}）"
                for row in proxy.sessions(session, org)]

    for line in run_action(state, action) or ["（没有代办记录。）"]:
        click.echo(line)
