"""Participation records (R-ORG-6): ``person training|council|record``, added to ``person`` in __init__."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from bot.cli.state import CliState, now_utc, pass_state, run_action
from domain.orgs import people
from domain.orgs import tree as orgs
from domain.records import export, participation, terms


def parse_day(value: str, what: str) -> date:
    """A YYYY-MM-DD date, or one clear line."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise click.ClickException(f"{what}写法不对：{value}（请写成 2026-03-01）。") from None


@click.command("training")
@click.option("--org", "org_code", required=True, help="The organisation that held or recorded the training")
@click.option("--person", "person_ref", required=True, help="openid or person id")
@click.option("--date", "day", required=True, help="YYYY-MM-DD")
@click.option("--title", required=True, help="What the training was, e.g. 协商议事能力培训")
@pass_state
def person_training(state: CliState, org_code: str, person_ref: str, day: str, title: str) -> None:
    """Record a training a person attended (学习培训, X-三(四))."""
    on = parse_day(day, "日期")

    def action(session: Any) -> str:
        target, who = orgs.get_org(session, org_code), people.find_by_ref(session, person_ref)
        row = terms.add_training(session, who, target, on, title, now_utc().astimezone(state.settings.tz).date())
        return f"已登记：{who.display_name} {row.held_on:%Y-%m-%d} 参加“{row.title}”（{target.name}）。"

    click.echo(run_action(state, action))


@click.command("council")
@click.option("--org", "org_code", required=True)
@click.option("--person", "person_ref", required=True, help="openid or person id")
@click.option("--entered", default=None, help="YYYY-MM-DD the person joined the council")
@click.option("--exited", default=None, help="YYYY-MM-DD the person left it (their member role is revoked)")
@click.option("--note", default="", help="Why they left, e.g. 任期届满")
@pass_state
def person_council(state: CliState, org_code: str, person_ref: str, entered: str | None, exited: str | None,
                   note: str) -> None:
    """Record a council member's entry or exit date (产生退出, X-三(四)); without dates, list their terms."""
    entered_on = parse_day(entered, "进入日期") if entered else None
    exited_on = parse_day(exited, "退出日期") if exited else None

    def action(session: Any) -> list[str]:
        target, who = orgs.get_org(session, org_code), people.find_by_ref(session, person_ref)
        today = now_utc().astimezone(state.settings.tz).date()
        lines = []
        if entered_on:
            terms.enter(session, who, target, entered_on, today)
            lines.append(f"已登记：{who.display_name} {entered_on:%Y-%m-%d} 进入{target.name}协商议事会。")
        if exited_on:
            terms.leave(session, who, target, exited_on, today, note)
            lines.append(f"已登记：{who.display_name} {exited_on:%Y-%m-%d} 退出{target.name}协商议事会（成员身份已撤销）。")
        if not lines:
            lines = [f"{t.org.name} {t.entered_on:%Y-%m-%d} 至 {t.exited_on:%Y-%m-%d}" if t.exited_on
                     else f"{t.org.name} {t.entered_on:%Y-%m-%d} 起（在任）" for t in terms.terms_of(session, who)]
        return lines or ["（没有协商议事会任职记录。）"]

    for line in run_action(state, action):
        click.echo(line)


@click.command("record")
@click.option("--person", "person_ref", required=True, help="openid or person id")
@click.option("--from", "since", required=True, help="YYYY-MM-DD, included")
@click.option("--to", "until", required=True, help="YYYY-MM-DD, included")
@click.option("--format", "fmt", type=click.Choice(export.FORMATS), required=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="File to write")
@pass_state
def person_record(state: CliState, person_ref: str, since: str, until: str, fmt: str, out: str) -> None:
    """Export one member's participation record for a period (履职考核, R-ORG-6)."""
    first, last = parse_day(since, "开始日期"), parse_day(until, "结束日期")
    tz = state.settings.tz

    def action(session: Any) -> tuple[bytes, str]:
        who = people.find_by_ref(session, person_ref)
        record = participation.person_record(session, who, first, last, tz)
        return export.render(record, fmt, now_utc().astimezone(tz)), record.name

    data, name = run_action(state, action)
    Path(out).write_bytes(data)
    click.echo(f"已导出 {name} {first:%Y-%m-%d} 至 {last:%Y-%m-%d} 的履职记录：{out}")


PERSON_COMMANDS = (person_training, person_council, person_record)
