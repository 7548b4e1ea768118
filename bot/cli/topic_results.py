"""CLI: after the result (``shangliang topic confirm | escalate | route``): R-RES-1 and R-RES-5.

The same domain operations as the chat's 确认结果, 上报, 转党组织, 转提案, 转社情民意, with the same checks;
``--by`` names the person acting (audited).
"""

from __future__ import annotations

from typing import Any

import click

from bot.cli.state import CliState, now_utc, pass_state, run_action
from bot.cli.topics import _act, _topic_action, find_topic, topic
from domain.orgs import people
from domain.topics import routes as topic_routes
from models import RouteKind

ROUTE_CHOICES = {"party": RouteKind.PARTY, "proposal": RouteKind.PROPOSAL, "opinion": RouteKind.OPINION}


@topic.command("confirm")
@_topic_action
@click.option("--note", default="")
@pass_state
def topic_confirm(state: CliState, number: str, org_code: str, actor_ref: str, note: str) -> None:
    """The same-level party organisation confirms a (basic) consensus; it is filed upward (R-RES-1)."""
    _act(state, org_code, number, actor_ref, lambda s, t, a, n: topic_routes.confirm(s, t, a, n, note))


def _route(state: CliState, org_code: str, number: str, actor_ref: str, kind: RouteKind, reason: str) -> None:
    def action(session: Any) -> str:
        found = find_topic(state, session, org_code, number)
        made = topic_routes.route(session, found, kind, people.find_by_ref(session, actor_ref), now_utc(), reason)
        return f"{found.org.name} 议题 {found.number}：已{kind.label}到{made.to_org.name}（{made.to_org.code}）。"

    click.echo(run_action(state, action))


@topic.command("escalate")
@_topic_action
@click.option("--reason", required=True, help="Why the level above must take it up")
@pass_state
def topic_escalate(state: CliState, number: str, org_code: str, actor_ref: str, reason: str) -> None:
    """Report the topic to the next level up: village → township → county → city (R-RES-5)."""
    _route(state, org_code, number, actor_ref, RouteKind.UP, reason)


@topic.command("route")
@_topic_action
@click.option("--to", "to", type=click.Choice(list(ROUTE_CHOICES)), required=True,
              help="party 党组织决策参考 | proposal 政协提案 | opinion 社情民意")
@click.option("--reason", required=True)
@pass_state
def topic_route(state: CliState, number: str, org_code: str, actor_ref: str, to: str, reason: str) -> None:
    """Send a topic without consensus to the party organisation or the county CPPCC (R-RES-5, X-14)."""
    _route(state, org_code, number, actor_ref, ROUTE_CHOICES[to], reason)
