"""Administration commands: organisations, invites, roles, people and the demo data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from bot.cli.state import CliState, pass_state, run_action
from bot.demo import seed_demo
from domain.orgs import council, membership, people
from domain.orgs import tree as orgs
from domain.records import overview
from domain.records import platforms as record_platforms
from models import Organisation, OrgKind, Person, PlatformKind, Role
from models.base import utcnow

BIND_SCENE_PREFIX = "b_"



@click.group()
def org() -> None:
    """Organisations (the council tree)."""


@org.command("add")
@click.option("--code", required=True, help="Short unique code: letters, digits, hyphens")
@click.option("--name", required=True, help="Chinese name, e.g. 东风村")
@click.option("--kind", type=click.Choice([k.value for k in OrgKind]), required=True)
@click.option("--parent", "parent_code", default=None, help="Code of the parent organisation")
@click.option("--platform", default=None,
              type=click.Choice([p.value for p in PlatformKind] + list(record_platforms.KIND_LABELS.values())),
              help="Also record its first platform (as `org platform add`), e.g. room or 协商议事室")
@pass_state
def org_add(state: CliState, code: str, name: str, kind: str, parent_code: str | None, platform: str | None) -> None:
    """Add an organisation (with --platform: and its first platform)."""

    def action(session: Any) -> tuple[Organisation, str]:
        platform_kind = record_platforms.parse_kind(platform) if platform else PlatformKind.ROOM
        made = orgs.create_org(session, code=code, name=name, kind=kind, parent_code=parent_code,
                               platform_kind=platform_kind)
        if not platform:
            return made, ""
        room = record_platforms.add_platform(session, made, platform_kind)
        return made, f"已登记平台 {room.number}：{room.name}（{record_platforms.KIND_LABELS[room.kind]}）。"

    created, room_line = run_action(state, action)
    click.echo(f"已添加 {created.code} {created.name}，邀请码 {created.invite_code}")
    if room_line:
        click.echo(room_line)


@org.command("list")
@click.option("--org", "org_code", default=None, help="Only this organisation and those below it")
@pass_state
def org_list(state: CliState, org_code: str | None) -> None:
    """List organisations as a tree."""

    def action(session: Any) -> list[str]:
        under = orgs.get_org(session, org_code) if org_code else None
        return [
            f"{'  ' * orgs.depth(o)}{o.code:<16} {o.name}（{o.kind.label}） 邀请码 {o.invite_code}"
            for o in orgs.list_orgs(session, under)
        ]

    for line in run_action(state, action) or ["（还没有组织。用 shangliang org add 添加。）"]:
        click.echo(line)


@org.command("show")
@click.option("--org", "org_code", required=True)
@pass_state
def org_show(state: CliState, org_code: str) -> None:
    """Show an organisation's council: roles, members, composition checks (R-ORG-4), platforms and 六有."""

    def action(session: Any) -> list[str]:
        target = orgs.get_org(session, org_code)
        report = council.composition(session, target, state.settings.rules)
        lines = [f"{target.code} {target.name}（{target.kind.label}）"]
        lines += [f"  {role.label}：{'、'.join(names)}" for role, names in council.roster(session, target).items()]
        lines.append(f"  成员 {report.members} 人，其中公职人员 {report.public_servants} 人")
        lines += [f"  ⚠ {problem}" for problem in report.problems] or ["  组成符合规定。"]
        lines += overview.org_lines(session, target, utcnow(), state.settings.rules, state.settings.tz)  # R-ORG-2/3/7
        return lines

    for line in run_action(state, action):
        click.echo(line)


@org.command("invite")
@click.option("--org", "org_code", required=True)
@click.option("--rotate", is_flag=True, help="Issue a new code; the old one stops working")
@pass_state
def org_invite(state: CliState, org_code: str, rotate: bool) -> None:
    """Show (or renew) an organisation's invite code and QR scene."""

    def action(session: Any) -> tuple[str, str]:
        target = orgs.get_org(session, org_code)
        code = orgs.rotate_invite(session, target) if rotate else target.invite_code
        return target.name, code

    name, code = run_action(state, action)
    click.echo(f"{name} 邀请码：{code}")
    click.echo(f"村民发送：绑定 {code}")
    click.echo(f"二维码场景值（scene_str）：{BIND_SCENE_PREFIX}{code}")


@click.group()
def role() -> None:
    """Role grants per organisation."""


def _role_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--role", "role_name", type=click.Choice([r.value for r in Role]), required=True)(func)
    func = click.option("--person", "person_ref", required=True, help="openid or person id")(func)
    return click.option("--org", "org_code", required=True)(func)


@role.command("grant")
@_role_options
@click.option("--public-servant", is_flag=True, help="The person is a public servant (公职人员, R-ORG-4)")
@pass_state
def role_grant(state: CliState, org_code: str, person_ref: str, role_name: str, public_servant: bool) -> None:
    """Grant a role in an organisation."""

    def action(session: Any) -> str:
        target = orgs.get_org(session, org_code)
        person = people.find_by_ref(session, person_ref)
        people.grant_role(session, person, target, role_name, public_servant=public_servant)
        return f"已授予 {person.display_name} {target.name}{Role(role_name).label}身份。"

    click.echo(run_action(state, action))


@role.command("revoke")
@_role_options
@pass_state
def role_revoke(state: CliState, org_code: str, person_ref: str, role_name: str) -> None:
    """Revoke a role (kept as history)."""

    def action(session: Any) -> str:
        target = orgs.get_org(session, org_code)
        person = people.find_by_ref(session, person_ref)
        people.revoke_role(session, person, target, role_name)
        return f"已撤销 {person.display_name} 的{target.name}{Role(role_name).label}身份。"

    click.echo(run_action(state, action))


@click.group()
def person() -> None:
    """People on an organisation's roster."""


@person.command("add")
@click.option("--org", "org_code", required=True)
@click.option("--name", required=True, help="Real name")
@click.option("--phone", default=None)
@click.option("--openid", default=None, help="Their openid, when they already follow the account")
@pass_state
def person_add(state: CliState, org_code: str, name: str, phone: str | None, openid: str | None) -> None:
    """Add a villager to the roster (with or without WeChat)."""

    def action(session: Any) -> str:
        target = orgs.get_org(session, org_code)
        entry = people.ensure_person(session, openid) if openid else Person(subscribed=False)
        entry.real_name, entry.phone = name, phone
        people.put_on_roster(session, entry, target, utcnow(), state.settings.rules)
        return f"已登记 {name}（编号 {entry.id}）到 {target.name}。"

    click.echo(run_action(state, action))


@person.command("move")
@click.option("--person", "person_ref", required=True, help="openid or person id")
@click.option("--org", "org_code", required=True, help="The new home organisation")
@click.option("--by", "by_ref", required=True, help="openid of the new organisation's convenor who approves")
@pass_state
def person_move(state: CliState, person_ref: str, org_code: str, by_ref: str) -> None:
    """Move a follower to another village now (a convenor's approval of a move sooner than rules.move_min_days)."""

    def action(session: Any) -> str:
        target, who = orgs.get_org(session, org_code), people.find_by_ref(session, person_ref)
        approver = people.find_by_ref(session, by_ref)
        people.move(session, who, target, utcnow(), state.settings.rules, by=approver)
        return f"已迁到 {target.name}：{who.display_name}（{approver.display_name}批准）。之前已开始的投票和问卷仍按原村算。"

    click.echo(run_action(state, action))


@person.command("help")
@click.option("--org", "org_code", required=True)
@click.option("--person", "person_ref", required=True, help="openid or person id (see person add)")
@click.option("--off", is_flag=True, help="Remove the mark")
@click.option("--by", "by_ref", default=None, help="openid of the convenor who marks (recorded)")
@pass_state
def person_help(state: CliState, org_code: str, person_ref: str, off: bool, by_ref: str | None) -> None:
    """Mark a villager as needing help: grid workers may act for them (代办) only then."""

    def action(session: Any) -> str:
        target, who = orgs.get_org(session, org_code), people.find_by_ref(session, person_ref)
        by = people.find_by_ref(session, by_ref) if by_ref else None
        people.mark_needs_help(session, who, target, utcnow(), on=not off, by=by)
        if off:
            return f"已取消：{who.display_name} 不再登记为需要帮助，网格员不能再代办。"
        return f"已登记 {who.display_name} 为{target.name}需要帮助的村民，网格员和召集人可以代办。"

    click.echo(run_action(state, action))


@person.command("history")
@click.option("--person", "person_ref", required=True, help="openid or person id")
@pass_state
def person_history(state: CliState, person_ref: str) -> None:
    """Every bind and move of a person, oldest first."""

    def action(session: Any) -> list[str]:
        tz = state.settings.tz
        rows = membership.history(session, people.find_by_ref(session, person_ref))
        return [f"{r.started_at.astimezone(tz):%Y-%m-%d %H:%M} {r.org.name}"
                f"（{membership.HOW_LABELS.get(r.how, r.how)}{'，' + r.by.display_name + '批准' if r.by else ''}"
                f"{'，从' + r.from_org.name if r.from_org else ''}）"
                f"{' 至 ' + format(r.ended_at.astimezone(tz), '%Y-%m-%d %H:%M') if r.ended_at else ''}" for r in rows]

    for line in run_action(state, action) or ["（没有绑定记录。）"]:
        click.echo(line)


@click.group()
def demo() -> None:
    """Demo data."""


@demo.command("seed")
@pass_state
def demo_seed(state: CliState) -> None:
    """Load a township with two villages, its people, topics in every state, a poll, a questionnaire, a notice."""
    seed_demo(state.services, echo=click.echo)
