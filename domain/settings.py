"""Typed settings, loaded once from a TOML file.

The file is named by ``SHANGLIANG_CONFIG`` (default ``./config.toml``); with neither, the
embedded defaults below run. Every number of docs/rules.md lives in ``[rules]``.
"""

from __future__ import annotations

import base64
import binascii
import os
import tomllib
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, ValidationError, field_validator

from domain.settings_sections import (
    DeliverySettings,
    DialogSettings,
    Ratio,
    SchedulerSettings,
    Section,
)

REAL_WECHAT_API = "https://api.weixin.qq.com"


class SettingsError(Exception):
    """A wrong or missing setting; the message is one line naming the key."""


class WeChatSettings(Section):
    token: str = "shangliang-dev-token"
    app_id: str = "wxshangliangdev01"
    app_secret: str = "dev-secret"
    encoding_aes_key: str = ""
    api_base_url: str = REAL_WECHAT_API
    account_type: Literal["service_verified", "service", "subscription_verified", "subscription"] = (
        "service_verified"
    )
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    use_stable_token: bool = True
    proxy: str = ""

    @field_validator("encoding_aes_key")
    @classmethod
    def _aes_key_length(cls, value: str) -> str:
        if value and len(value) != 43:
            raise ValueError("must be empty (plain mode) or exactly 43 characters")
        if value:
            try:  # what wechatpy does at start: base64 of the key plus "=", 32 bytes
                valid = len(base64.b64decode(value + "=", validate=True)) == 32
            except binascii.Error:
                valid = False
            if not valid:
                raise ValueError("not valid base64 (copy the EncodingAESKey exactly as the MP platform shows it)")
        return value

    @field_validator("token", "app_id", "app_secret")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty; set it in config.toml")
        return value

    @field_validator("api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def safe_mode(self) -> bool:
        """Whether messages may arrive AES-encrypted."""
        return bool(self.encoding_aes_key)


class WebhookSettings(Section):
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    timestamp_tolerance_seconds: int = Field(default=300, ge=1)
    retry_wait_seconds: float = Field(default=4.0, ge=0, le=4.8)
    reply_cache_seconds: int = Field(default=86400, ge=60)
    max_reply_bytes: int = Field(default=2000, ge=200)
    max_text_chars: int = Field(default=4000, ge=100)  # longer texts get a short refusal before any work
    require_encryption: bool = False


class DatabaseSettings(Section):
    url: str = ""
    pool_size: int = Field(default=5, ge=1)
    max_overflow: int = Field(default=10, ge=0)
    echo: bool = False


class RedisSettings(Section):
    url: str = ""
    key_prefix: str = "sl:"
    socket_timeout_seconds: float = Field(default=1.0, gt=0)


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: str = ".shangliang"


class RulesSettings(Section):
    """Every number fixed by the rulebooks (docs/rules.md), as a configurable default."""

    council_min_members: int = Field(default=10, ge=1)  # R-ORG-4
    council_max_members: int = Field(default=30, ge=1)  # R-ORG-4
    public_servant_max_ratio: Ratio = Fraction(1, 5)  # R-ORG-4
    topic_notice_days: int = Field(default=7, ge=0)  # R-TOPIC-6
    consult_max_per_year: int = Field(  # R-TOPIC-7: consultations of one topic within a year, the first included
        default=2, ge=1, validation_alias=AliasChoices("consult_max_per_year", "reconsult_max_per_year"))
    quorum_ratio: Ratio = Fraction(2, 3)  # R-MEET-3
    stakeholder_min_ratio: Ratio = Fraction(1, 2)  # R-MEET-4
    checkin_opens_minutes: int = Field(default=60, ge=0)  # R-MEET-3: check-in opens this long before the start
    open_early_minutes: int = Field(default=30, ge=0)  # R-MEET-3: the chair may open this long before the start
    speak_max_times: int = Field(default=2, ge=1)  # R-MEET-6
    speak_max_minutes: int = Field(default=5, ge=1)  # R-MEET-6
    consensus_ratio: Ratio = Fraction(4, 5)  # R-MEET-7: agree share for 达成共识
    basic_consensus_ratio: Ratio = Fraction(2, 3)  # R-MEET-7: agree share for 基本达成共识
    village_meeting_interval_months: int = Field(default=2, ge=1)  # R-MEET-1
    township_meeting_interval_months: int = Field(default=6, ge=1)  # R-MEET-1
    meetings_min_per_year: int = Field(default=2, ge=0)  # R-MEET-1
    # R-ORG-7: 有活动 / 有成效 count a meeting held / a topic implemented within this many months (L-三(一)
    # gives no period; 12 = the yearly review, L-三(八) asks every platform for 2 meetings a year).
    six_have_period_months: int = Field(default=12, ge=1)
    result_notice_days: int = Field(default=7, ge=0)  # R-RES-2
    # R-RES-6: an evaluation (a rating, a review, a comment) may be changed this many days after it was given;
    # the seed (L-三(九)) gives no number, 7 is our default (docs/rules.md).
    rating_change_days: int = Field(default=7, ge=0)
    topic_max_chars: int = Field(default=500, ge=10)
    proxy_session_minutes: int = Field(default=30, ge=1)
    # Village hopping (issue 12): a follower may move to another village at most once in this many days
    # (a convenor of the new village may approve sooner: shangliang person move).
    move_min_days: int = Field(default=30, ge=0)
    # A binding counts in a poll or questionnaire only if it began at least this many hours before it opened.
    vote_membership_hours: int = Field(default=0, ge=0, le=24 * 60)
    # A follower's very first binding also counts in polls and questionnaires already open.
    first_bind_joins_open_polls: bool = False


class TopicSettings(Section):
    """Topics in the chat (issue: topics)."""

    max_title_chars: int = Field(default=200, ge=10, le=200)
    list_limit: int = Field(default=8, ge=1, le=30)  # topics listed by 我的议题 / 待审 / 议题清单
    timeline_limit: int = Field(default=8, ge=1, le=30)  # latest timeline lines shown by 议题 <编号>


class PollSettings(Section):
    """Questionnaires and polls (issue: polls)."""

    default_days: int = Field(default=3, ge=1)
    max_days: int = Field(default=60, ge=1)  # longest a poll or questionnaire may stay open
    max_options: int = Field(default=10, ge=2, le=26)  # options of one poll or question
    max_questions: int = Field(default=30, ge=1)  # questions of one questionnaire
    question_max_chars: int = Field(default=100, ge=10, le=200)  # a poll question typed in the chat
    option_max_chars: int = Field(default=30, ge=2, le=60)  # one option's text
    text_max_chars: int = Field(default=200, ge=10, le=2000)  # a free-text answer, unless the question says
    chat_anonymous: bool = True  # polls started with 发起投票 are anonymous unless the convenor adds 实名
    confirmation_minutes: int = Field(default=60, ge=1)  # a meeting's confirmation vote stays open this long
    # Anonymous ballots wait sealed and reach poll_ballots in shuffled batches of this many (docs/polls.md)
    ballot_batch_size: int = Field(default=5, ge=2, le=100)
    ballot_key: str = ""  # seals waiting ballots; empty: derived from [wechat] app_secret
    verify_shows_choice: bool = False  # 核验 shows the receipt's choice (lets a vote buyer check it)


class Settings(Section):
    timezone: str = "Asia/Shanghai"
    wechat: WeChatSettings = WeChatSettings()
    webhook: WebhookSettings = WebhookSettings()
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    server: ServerSettings = ServerSettings()
    rules: RulesSettings = RulesSettings()
    dialogs: DialogSettings = DialogSettings()
    topics: TopicSettings = TopicSettings()
    polls: PollSettings = PollSettings()
    delivery: DeliverySettings = DeliverySettings()
    scheduler: SchedulerSettings = SchedulerSettings()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The zone every time a person types or reads is in."""
        return ZoneInfo(self.timezone)

    def with_overrides(self, **sections: dict[str, Any]) -> Settings:
        """Return a copy with some keys of some sections replaced (tests, CLI flags)."""
        data = self.model_dump()
        for name, values in sections.items():
            if isinstance(values, dict):
                data[name] = {**data.get(name, {}), **values}
            else:
                data[name] = values
        return parse_settings(data)


def _key_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if len(parts) == 1:
        return parts[0]
    return f"[{'.'.join(parts[:-1])}] {parts[-1]}"


def parse_settings(data: dict[str, Any]) -> Settings:
    """Validate a settings mapping; raise SettingsError naming the first bad key."""
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        from domain.settings_errors import plain_message

        first = exc.errors()[0]
        raise SettingsError(f"setting {_key_path(first['loc'])}: {plain_message(first)}") from None
    from domain.settings_checks import contradiction

    problem = contradiction(settings)
    if problem:
        raise SettingsError(f"setting {problem}")
    return settings


DEV_SECRETS = {"token": "shangliang-dev-token", "app_id": "wxshangliangdev01", "app_secret": "dev-secret"}


def require_production_secrets(settings: Settings) -> None:
    """Refuse a missing or public development WeChat secret (only `serve` with the stand-in may use them)."""
    for key, dev_value in DEV_SECRETS.items():
        if getattr(settings.wechat, key) == dev_value:
            raise SettingsError(
                f"setting [wechat] {key}: missing (the public development value is in use); set your own in "
                "config.toml (only `shangliang serve` with the WeChat stand-in runs without it)")


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Load settings from the named TOML file, SHANGLIANG_CONFIG, ./config.toml, or defaults."""
    explicit = path or os.environ.get("SHANGLIANG_CONFIG")
    candidate = Path(explicit) if explicit else Path("config.toml")
    if not candidate.exists():
        if explicit:
            raise SettingsError(f"config file {candidate} does not exist")
        return Settings()
    try:
        data = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"config file {candidate}: {exc}") from None
    return parse_settings(data)
