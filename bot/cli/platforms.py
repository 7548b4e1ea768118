"""Platforms and 六有 (R-ORG-2, R-ORG-3, R-ORG-7): ``org platform …`` and ``org six-have``, added to ``org``."""

from __future__ import annotations

from typing import Any

import click

from bot.cli.records import parse_day
from bot.cli.state import CliState, now_utc, pass_state, run_action
from domain.orgs import people
from domain.orgs import tree as orgs
from domain.records import overview, platforms, six_have

KIND_CHOICES = [k.value for k in platforms.KIND_LABELS] + list(platforms.KIND_LABELS.values())


@click.group("platform")
def platform_group() -> None:
    """An organisation's platforms: rooms, liaison points, mobile and joint rooms (L-三(一))."""


@platform_group.command("add")
@click.option("--org", "org_code", required=True)
@click.option("--kind", type=click.Choice(KIND_CHOICES), required=True)
@click.option("--name", default="", help="Default: the organisation's name and the kind, e.g. 东风村协商议事室")
@click.option("--place", default="", help="Where it is, e.g. 村党群服务中心二楼")
@pass_state
def platform_add(state: CliState, org_code: str, kind: str, name: str, place: str) -> None:
    """Record a platform of an organisation."""

    def action(session: Any) -> str:
        made = platforms.add_platform(session, orgs.get_org(session, org_code), kind, name, place)
        return f"已登记平台 {made.number}：{made.name}（{platforms.KIND_LABELS[made.kind]}）。"

    click.echo(run_action(state, action))


@platform_group.command("list")
@click.option("--org", "org_code", required=True)
@pass_state
def platform_list(state: CliState, org_code: str) -> None:
    """List the platforms with their convenors, liaising CPPCC members, villages and schedule."""

    def action(session: Any) -> list[str]:
        target = orgs.get_org(session, org_code)
        today = now_utc().astimezone(state.settings.tz).date()
        lines = [line for p in platforms.platforms_of(session, target)
                 for line in overview.platform_lines(session, p, today)]
        return (lines or [f"（{target.name}还没有登记平台。用 shangliang org platform add 添加。）"]) + [
            f"  ⚠ {flag}" for flag in overview.platform_flags(session, target)]

    for line in run_action(state, action):
        click.echo(line)


def _platform_options(func: Any) -> Any:
    func = click.option("--platform", "number", type=int, required=True, help="Platform number (see list)")(func)
    return click.option("--org", "org_code", required=True)(func)


@platform_group.command("serve")
@_platform_options
@click.option("--village", "villages", multiple=True, required=True, help="Code of a village it serves (repeatable)")
@pass_state
def platform_serve(state: CliState, org_code: str, number: int, villages: tuple[str, ...]) -> None:
    """Link a joint room (联合协商议事室) to the villages it serves."""

    def action(session: Any) -> str:
        platform = platforms.get_platform(session, orgs.get_org(session, org_code), number)
        names = []
        for code in villages:
            village = orgs.get_org(session, code)
            platforms.serve(session, platform, village)
            names.append(village.name)
        return f"{platform.name}已登记服务：{'、'.join(names)}。"

    click.echo(run_action(state, action))


@platform_group.command("stop")
@_platform_options
@click.option("--date", "day", required=True, help="YYYY-MM-DD")
@click.option("--place", required=True, help="Where the mobile room goes that day")
@pass_state
def platform_stop(state: CliState, org_code: str, number: int, day: str, place: str) -> None:
    """Add a date and place to a mobile room's schedule (流动协商议事室)."""
    on = parse_day(day, "日期")

    def action(session: Any) -> str:
        platform = platforms.get_platform(session, orgs.get_org(session, org_code), number)
        stop = platforms.add_stop(session, platform, on, place)
        return f"已安排：{stop.on_date:%Y-%m-%d} {platform.name}到{stop.place}。"

    click.echo(run_action(state, action))


@platform_group.command("stops")
@_platform_options
@pass_state
def platform_stops(state: CliState, org_code: str, number: int) -> None:
    """List a mobile room's schedule, every date."""

    def action(session: Any) -> list[str]:
        platform = platforms.get_platform(session, orgs.get_org(session, org_code), number)
        return [f"{s.on_date:%Y-%m-%d} {s.place}" for s in platforms.stops(session, platform)]

    for line in run_action(state, action) or ["（还没有流动安排。）"]:
        click.echo(line)


@platform_group.command("liaison")
@_platform_options
@click.option("--person", "person_ref", required=True, help="openid or person id of the CPPCC member")
@click.option("--remove", is_flag=True, help="End the liaison (kept as history)")
@pass_state
def platform_liaison(state: CliState, org_code: str, number: int, person_ref: str, remove: bool) -> None:
    """Name (or end) the CPPCC member liaising with a platform (L-四(二)); the second convenor at a village."""

    def action(session: Any) -> str:
        platform = platforms.get_platform(session, orgs.get_org(session, org_code), number)
        member = people.find_by_ref(session, person_ref)
        if remove:
            platforms.end_liaison(session, platform, member, now_utc())
            return f"{member.display_name} 不再联系{platform.name}。"
        row = platforms.assign_liaison(session, platform, member)
        extra = "，并担任第二召集人" if row.granted_convenor else ""
        return f"已登记 {member.display_name} 为{platform.name}的联系政协委员{extra}。"

    click.echo(run_action(state, action))


@click.command("six-have")
@click.option("--org", "org_code", required=True)
@click.option("--item", default=None, help="制度, 场所 or 标识 (the other three are derived)")
@click.option("--note", default="", help="What it is, e.g. 议事规则已上墙")
@click.option("--missing", is_flag=True, help="Record that the item is missing now")
@pass_state
def six_have_cmd(state: CliState, org_code: str, item: str | None, note: str, missing: bool) -> None:
    """Enter a room's 有制度/有场所/有标识, or (without --item) show its 六有 (R-ORG-7)."""

    def action(session: Any) -> list[str]:
        target = orgs.get_org(session, org_code)
        lines = []
        if item is not None:
            row = six_have.record_item(session, target, item, note, present=not missing)
            lines.append(f"已登记 {target.name}{six_have.LABELS[row.item]}：{'缺' if missing else row.note}。")
        elif note or missing:
            raise click.UsageError("--note 和 --missing 要和 --item 一起用。")
        items = six_have.six_have(session, target, now_utc(), state.settings.rules, state.settings.tz)
        return lines + six_have.lines(items)

    for line in run_action(state, action):
        click.echo(line)


ORG_COMMANDS = (platform_group, six_have_cmd)
