"""CLI: topics (``shangliang topic …``); meetings and the audit trail live in cli_meetings.

Every role-checked action names its actor with ``--by <openid or person id>`` so the audit
record names a person; the same domain operations as the chat run, with the same checks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from bot.cli.state import CliState, now_utc, pass_state, run_action
from domain.orgs import people
from domain.orgs import tree as orgs
from domain.topics import audit
from domain.topics import operations as topics
from domain.topics import queries as topic_queries
from domain.topics import refs as topic_refs
from domain.topics.text import local_time, timeline, waiting
from models import Topic, TopicSource, TopicState
from models.topics import ScreeningMethod

RESULT_CHOICES = {"consensus": TopicState.CONSENSUS, "basic_consensus": TopicState.BASIC_CONSENSUS,
                  "no_consensus": TopicState.NO_CONSENSUS}



def find_topic(state: CliState, session: Any, org_code: str, number: str) -> Topic:
    """The topic with this number (2026-007, or 7 for this year) in the organisation."""
    org = orgs.get_org(session, org_code)
    return topic_refs.resolve(session, number, [org], now_utc(), state.settings.tz)


def _topic_action(func: Callable[..., Any]) -> Callable[..., Any]:
    """Common arguments of a topic action: NUMBER, --org and --by."""
    func = click.option("--by", "actor_ref", required=True, help="Who acts: openid or person id (audited)")(func)
    func = click.option("--org", "org_code", required=True, help="Organisation code")(func)
    return click.argument("number")(func)


def _act(state: CliState, org_code: str, number: str, actor_ref: str,
         step: Callable[[Any, Topic, Any, datetime], Any]) -> None:
    def action(session: Any) -> str:
        topic = find_topic(state, session, org_code, number)
        step(session, topic, people.find_by_ref(session, actor_ref), now_utc())
        return f"{topic.org.name} 议题 {topic.number}：现在“{topic.state.label}”。"

    click.echo(run_action(state, action))


@click.group()
def topic() -> None:
    """Topics (议题): register, move through approval, show the audited timeline."""


@topic.command("add")
@click.option("--org", "org_code", required=True)
@click.option("--title", required=True, help="What the topic is about")
@click.option("--detail", default="", help="Longer explanation")
@click.option("--source", type=click.Choice([s.value for s in TopicSource]), required=True,
              help="party_government 党委政府点题 | member 委员荐题 | resident 群众出题 | open_call 公开征集")
@click.option("--by", "actor_ref", required=True, help="Who registers it (convenor, secretary or party reviewer)")
@click.option("--proposer", "proposer_ref", default=None, help="Who proposed it, when not the registrar")
@click.option("--cosigner", "cosigner_refs", multiple=True, help="Joint proposers (repeat)")
@pass_state
def topic_add(state: CliState, org_code: str, title: str, detail: str, source: str, actor_ref: str,
              proposer_ref: str | None, cosigner_refs: tuple[str, ...]) -> None:
    """Register a topic (R-TOPIC-1)."""

    def action(session: Any) -> str:
        org = orgs.get_org(session, org_code)
        actor = people.find_by_ref(session, actor_ref)
        proposer = people.find_by_ref(session, proposer_ref) if proposer_ref else None
        signers = [people.find_by_ref(session, ref) for ref in cosigner_refs]
        created = topics.register(session, org, title, source=TopicSource(source), actor=actor, now=now_utc(),
                                  settings=state.settings, detail=detail, proposer=proposer, cosigners=signers)
        return f"已登记 {org.name} 议题 {created.number}（{created.source.label}）。"

    click.echo(run_action(state, action))


@topic.command("list")
@click.option("--org", "org_code", required=True)
@click.option("--below", is_flag=True, help="Include the organisations below it (R-ORG-1)")
@click.option("--state", "state_name", type=click.Choice([s.value for s in TopicState]), default=None)
@click.option("--year", type=int, default=None)
@click.option("--open", "open_only", is_flag=True, help="Only topics still in progress")
@pass_state
def topic_list(state: CliState, org_code: str, below: bool, state_name: str | None, year: int | None,
               open_only: bool) -> None:
    """List topics of an organisation."""

    def action(session: Any) -> list[str]:
        org = orgs.get_org(session, org_code)
        scope = topic_refs.with_subtrees(session, [org]) if below else [org]
        found = topic_queries.list_topics(session, scope, states=[TopicState(state_name)] if state_name else None,
                                          year=year, open_only=open_only)
        return [f"{t.org.code:<14} {t.number}  {t.state.label:<8} {t.title}" for t in found]

    for line in run_action(state, action) or ["（没有符合条件的议题。）"]:
        click.echo(line)


@topic.command("show")
@click.argument("number")
@click.option("--org", "org_code", required=True)
@pass_state
def topic_show(state: CliState, number: str, org_code: str) -> None:
    """Show a topic and its whole audited timeline (R-TOPIC-8)."""
    tz = state.settings.tz

    def action(session: Any) -> list[str]:
        t = find_topic(state, session, org_code, number)
        events = audit.timeline(session, t)
        lines = [f"{t.org.name}（{t.org.code}）议题 {t.number}：{t.title}",
                 f"  状态：{t.state.label}（下一步：{waiting(t.state, state.settings.rules.topic_notice_days)}）",
                 f"  来源：{t.source.label}；提议人：{t.proposer.display_name}；联名："
                 f"{'、'.join(c.person.display_name for c in t.cosigners) or '无'}",
                 f"  登记：{local_time(t.created_at, tz)}；再次协商 {t.reconsult_count} 次"]
        if t.detail:
            lines.append(f"  说明：{t.detail}")
        if t.screening_method:
            lines.append(f"  筛选：{t.screening_method.label}{'（' + t.screening_ref + '）' if t.screening_ref else ''}")
        if t.research_note:
            lines.append(f"  调研：{t.research_note}")
        lines.append("  记录：")
        for event, line in zip(events, timeline(session, t, events, tz), strict=True):
            lines.append(f"    #{event.id:<5} {line}  [{event.hash[:12]}]")
        return lines

    for line in run_action(state, action):
        click.echo(line)


@topic.command("screen")
@_topic_action
@click.option("--method", type=click.Choice([m.value for m in ScreeningMethod]), required=True,
              help="questionnaire 问卷调查 | dialogue 直接对话 | group 小组协商 | hearing 听证 | online_vote 网络投票")
@click.option("--ref", "screen_ref", default="", help="Questionnaire or poll number, as text")
@pass_state
def topic_screen(state: CliState, number: str, org_code: str, actor_ref: str, method: str, screen_ref: str) -> None:
    """Start screening (R-TOPIC-3)."""
    _act(state, org_code, number, actor_ref, lambda s, t, a, n: topics.screen(s, t, a, n, method, screen_ref))


@topic.command("submit")
@_topic_action
@click.option("--note", default="")
@pass_state
def topic_submit(state: CliState, number: str, org_code: str, actor_ref: str, note: str) -> None:
    """Submit to the same-level party organisation (R-TOPIC-4)."""
    _act(state, org_code, number, actor_ref, lambda s, t, a, n: topics.submit(s, t, a, n, note))


@topic.command("approve")
@_topic_action
@click.option("--note", default="")
@pass_state
def topic_approve(state: CliState, number: str, org_code: str, actor_ref: str, note: str) -> None:
    """The next approval: village party review, or township committee approval (files it upward)."""
    _act(state, org_code, number, actor_ref, lambda s, t, a, n: topics.approve(s, t, a, n, note))


@topic.command("return")
@_topic_action
@click.option("--reason", required=True)
@pass_state
def topic_return(state: CliState, number: str, org_code: str, actor_ref: str, reason: str) -> None:
    """Return the topic with a reason."""
    _act(state, org_code, number, actor_ref, lambda s, t, a, n: topics.return_topic(s, t, a, n, reason))


@topic.command("research")
@_topic_action
@click.option("--note", required=True, help="Policies, facts, stakeholders' wishes")
@pass_state
def topic_research(state: CliState, number: str, org_code: str, actor_ref: str, note: str) -> None:
    """Record the research (R-TOPIC-5)."""
    _act(state, org_code, number, actor_ref, lambda s, t, a, n: topics.research(s, t, a, n, note))


@topic.command("consulted")
@_topic_action
@click.option("--note", default="")
@pass_state
def topic_consulted(state: CliState, number: str, org_code: str, actor_ref: str, note: str) -> None:
    """Record that the meeting took place (result to follow)."""
    _act(state, org_code, number, actor_ref, lambda s, t, a, n: topics.mark_consulted(s, t, a, n, note))


@topic.command("result")
@_topic_action
@click.option("--outcome", type=click.Choice(list(RESULT_CHOICES)), required=True)
@click.option("--note", default="")
@pass_state
def topic_result(state: CliState, number: str, org_code: str, actor_ref: str, outcome: str, note: str) -> None:
    """Record the consultation's result (达成共识 / 基本达成共识 / 未达成共识)."""
    _act(state, org_code, number, actor_ref,
         lambda s, t, a, n: topics.record_result(s, t, RESULT_CHOICES[outcome], a, n, note))


@topic.command("implement")
@_topic_action
@click.option("--note", default="")
@click.option("--finished", is_flag=True, help="Implementation is done (the note says what was done)")
@pass_state
def topic_implement(state: CliState, number: str, org_code: str, actor_ref: str, note: str, finished: bool) -> None:
    """Start implementing a consensus, or (--finished) record it done."""
    op = topics.complete if finished else topics.implement
    _act(state, org_code, number, actor_ref, lambda s, t, a, n: op(s, t, a, n, note))


@topic.command("evaluate")
@_topic_action
@click.option("--note", required=True, help="The evaluation (R-RES-6)")
@pass_state
def topic_evaluate(state: CliState, number: str, org_code: str, actor_ref: str, note: str) -> None:
    """Record the evaluation of an implemented topic."""
    _act(state, org_code, number, actor_ref, lambda s, t, a, n: topics.evaluate(s, t, a, n, note))


@topic.command("reconsult")
@_topic_action
@click.option("--reason", required=True)
@pass_state
def topic_reconsult(state: CliState, number: str, org_code: str, actor_ref: str, reason: str) -> None:
    """Send a no-consensus topic back for approval to consult again (R-TOPIC-7)."""
    _act(state, org_code, number, actor_ref,
         lambda s, t, a, n: topics.reconsult(s, t, a, n, reason, settings=state.settings))


@topic.command("withdraw")
@_topic_action
@click.option("--reason", default="")
@pass_state
def topic_withdraw(state: CliState, number: str, org_code: str, actor_ref: str, reason: str) -> None:
    """Withdraw a topic that is not yet submitted (its proposer or a convenor)."""
    _act(state, org_code, number, actor_ref, lambda s, t, a, n: topics.withdraw(s, t, a, n, reason))


