"""What every command shares: lazily built settings and services, and small helpers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from domain.errors import DomainError
from domain.orgs import people
from domain.settings import Settings, SettingsError, load_settings, require_production_secrets
from models.db import transaction

T = TypeVar("T")


class CliState:
    """Settings and services, created lazily per command."""

    def __init__(self, config: str | None) -> None:
        self.config = config
        self._settings: Settings | None = None
        self._services: Any = None
        self.development = False  # set by `serve` with the WeChat stand-in only

    @property
    def settings(self) -> Settings:
        """Settings, loaded once; a bad key ends the command with one clear line."""
        if self._settings is None:
            try:
                self._settings = load_settings(self.config)
            except SettingsError as exc:
                raise click.ClickException(str(exc)) from None
        return self._settings

    @property
    def services(self) -> Any:
        """Database, Redis and WeChat client (the embedded servers start if no URL is set)."""
        if self._services is None:
            from bot.services import Services

            self._services = Services.from_settings(self.settings, development=self.development)
        return self._services

    def require_secrets(self) -> None:
        """Production commands start here: the public development WeChat secrets end them in one line."""
        try:
            require_production_secrets(self.settings)
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None

    def override(self, **sections: dict[str, Any]) -> None:
        """Replace some settings before services are built."""
        self._settings = self.settings.with_overrides(**sections)


pass_state = click.make_pass_decorator(CliState)


def now_utc() -> datetime:
    """The current instant (one place, so every command reads the clock the same way)."""
    return datetime.now(UTC)


def run_action(state: CliState, action: Callable[[Any], Any]) -> Any:
    """Run one unit of work; domain errors become one clear line."""
    try:
        with transaction(state.services.sessions) as session:
            return action(session)
    except DomainError as exc:
        raise click.ClickException(exc.reply) from None


def checked(func: Callable[[], T]) -> T:
    """Run a step that needs no database; a refusal becomes one clear line."""
    try:
        return func()
    except DomainError as exc:
        raise click.ClickException(exc.reply) from None


def read_file(path: str) -> str:
    """A poll or questionnaire file's text (UTF-8)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"{path} 不是 UTF-8 编码的文本文件。") from None


def actor(session: Any, ref: str | None) -> Any:
    """The person named by --by, or None for the administrator."""
    return people.find_by_ref(session, ref) if ref else None
