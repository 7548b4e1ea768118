"""Typed settings, loaded once from a TOML file.

The file is named by ``SHANGLIANG_CONFIG`` (default ``./config.toml``); with neither, the
embedded defaults below run. Every number of DOMAIN.md lives in ``[rules]``.
"""

from __future__ import annotations

import base64
import binascii
import os
import tomllib
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.functional_validators import BeforeValidator

REAL_WECHAT_API = "https://api.weixin.qq.com"


class SettingsError(Exception):
    """A wrong or missing setting; the message is one line naming the key."""


def _to_fraction(value: Any) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a ratio such as \"2/3\" or 0.5")
    if isinstance(value, (int, float, str)):
        try:
            result = Fraction(str(value).strip())
        except (ValueError, ZeroDivisionError) as exc:
            raise ValueError("expected a ratio such as \"2/3\" or 0.5") from exc
        if not 0 <= result <= 1:
            raise ValueError("a ratio must lie between 0 and 1")
        return result
    raise ValueError("expected a ratio such as \"2/3\" or 0.5")


Ratio = Annotated[Fraction, BeforeValidator(_to_fraction)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class WeChatSettings(_Section):
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


class WebhookSettings(_Section):
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    timestamp_tolerance_seconds: int = Field(default=300, ge=1)
    retry_wait_seconds: float = Field(default=4.0, ge=0, le=4.8)
    reply_cache_seconds: int = Field(default=86400, ge=60)
    max_reply_bytes: int = Field(default=2000, ge=200)
    max_text_chars: int = Field(default=4000, ge=100)  # longer texts get a short refusal before any work
    require_encryption: bool = False


class DatabaseSettings(_Section):
    url: str = ""
    pool_size: int = Field(default=5, ge=1)
    max_overflow: int = Field(default=10, ge=0)
    echo: bool = False


class RedisSettings(_Section):
    url: str = ""
    key_prefix: str = "sl:"
    socket_timeout_seconds: float = Field(default=1.0, gt=0)


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: str = ".shangliang"


class RulesSettings(_Section):
    """Every number fixed by the rulebooks (DOMAIN.md), as a configurable default."""

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
    result_notice_days: int = Field(default=7, ge=0)  # R-RES-2
    topic_max_chars: int = Field(default=500, ge=10)
    proxy_session_minutes: int = Field(default=30, ge=1)
    # Village hopping (issue 12): a follower may move to another village at most once in this many days
    # (a convenor of the new village may approve sooner: shangliang person move).
    move_min_days: int = Field(default=30, ge=0)
    # A binding counts in a poll or questionnaire only if it began at least this many hours before it opened.
    vote_membership_hours: int = Field(default=0, ge=0, le=24 * 60)
    # A follower's very first binding also counts in polls and questionnaires already open.
    first_bind_joins_open_polls: bool = False


class TopicSettings(_Section):
    """Topics in the chat (issue: topics)."""

    max_title_chars: int = Field(default=200, ge=10, le=200)
    list_limit: int = Field(default=8, ge=1, le=30)  # topics listed by 我的议题 / 待审 / 议题清单
    timeline_limit: int = Field(default=8, ge=1, le=30)  # latest timeline lines shown by 议题 <编号>


class PollSettings(_Section):
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


DEFAULT_TEMPLATE_IDS = {
    "general": "TPL_GENERAL",
    "topic_notice": "TPL_TOPIC_NOTICE",
    "meeting_notice": "TPL_MEETING",
    "result_notice": "TPL_RESULT",
    "feedback": "TPL_FEEDBACK",
    "poll": "TPL_POLL",
    "reminder": "TPL_REMINDER",
}


class DeliverySettings(_Section):
    """The outbox senders (issue: notices)."""

    batch_size: int = Field(default=100, ge=1)
    lease_seconds: int = Field(default=60, ge=5)
    # Sends one sender process runs at once (threads); each needs a database connection.
    concurrency: int = Field(default=8, ge=1, le=64)
    # Sends per second for the whole app, shared by every sender on every host (Redis token bucket).
    rate_per_second: float = Field(default=200.0, gt=0)
    # Sends allowed in one burst above the steady rate.
    rate_burst: int = Field(default=50, ge=1)
    # Seconds an idle sender waits before looking for due rows again.
    poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # A copy that still fails after this many attempts is recorded as failed.
    max_attempts: int = Field(default=8, ge=1)
    # Retry delay: base * 2^(attempt-1), at most max, with random jitter.
    retry_base_seconds: float = Field(default=30.0, gt=0)
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    # Customer-service messages only within this many hours of the user's last message (WeChat: 48).
    service_window_hours: float = Field(default=47.5, gt=0, le=48)
    # Template id per notice kind (WeChat MP → 模板消息); a kind not listed uses "general".
    template_ids: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_TEMPLATE_IDS))
    # Mass send to the organisation's WeChat tag for large broadcasts (quota-bound: off by default).
    mass_enabled: bool = False
    # A followers broadcast reaching at least this many people goes by mass send when enabled.
    mass_min_recipients: int = Field(default=500, ge=2)
    # Mass messages one follower may receive per calendar month (service account: 4).
    mass_monthly_limit: int = Field(default=4, ge=0)
    # Default public window (days) of a convenor's general notice.
    general_notice_days: int = Field(default=7, ge=1)
    # Longest notice text a convenor may broadcast (the chat reply limit is about 660 Chinese characters).
    notice_max_chars: int = Field(default=500, ge=20, le=1500)

    @field_validator("template_ids")
    @classmethod
    def _known_kinds(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(DEFAULT_TEMPLATE_IDS))
        if unknown:
            raise ValueError(f"unknown notice kind {unknown[0]!r}; kinds are {', '.join(DEFAULT_TEMPLATE_IDS)}")
        return {**DEFAULT_TEMPLATE_IDS, **value}


class SchedulerSettings(_Section):
    """The scheduler's sweeps (issue: notices)."""

    # Seconds between two runs of each sweep.
    sweep_seconds: int = Field(default=60, ge=5)
    # Meeting reminders to the attendees, hours before the start (R-MEET-2).
    reminder_offsets_hours: list[int] = Field(default_factory=lambda: [72, 24, 2])
    # Meeting reminders to all followers of the organisation, hours before the start.
    follower_reminder_offsets_hours: list[int] = Field(default_factory=lambda: [24])
    # Convenors are reminded this many days before their council is due (R-MEET-1).
    cadence_lead_days: int = Field(default=14, ge=0)
    # Only one scheduler runs a sweep at a time (Redis lock); the database keeps it exactly-once anyway.
    leader_lock: bool = True

    @field_validator("reminder_offsets_hours", "follower_reminder_offsets_hours")
    @classmethod
    def _positive_offsets(cls, value: list[int]) -> list[int]:
        if any(hours <= 0 for hours in value):
            raise ValueError("offsets are hours before the meeting and must be positive")
        return sorted(set(value), reverse=True)


class DialogSettings(_Section):
    ttl_seconds: int = Field(default=1800, ge=30)
    lock_seconds: float = Field(default=5.0, gt=0)


class Settings(_Section):
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
        first = exc.errors()[0]
        msg = first["msg"]
        if first["type"] == "extra_forbidden":
            msg = "unknown key (typo?)"
        raise SettingsError(f"setting {_key_path(first['loc'])}: {msg}") from None
    from domain.settings_checks import contradiction

    problem = contradiction(settings)
    if problem:
        raise SettingsError(f"setting {problem}")
    return settings


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
