"""Settings sections that tune how the service runs (delivery, scheduler, dialogs), and the base they share.

``domain.settings`` assembles them with the rules' sections into one ``Settings``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.functional_validators import BeforeValidator


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


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


DEFAULT_TEMPLATE_IDS = {
    "general": "TPL_GENERAL",
    "topic_notice": "TPL_TOPIC_NOTICE",
    "meeting_notice": "TPL_MEETING",
    "result_notice": "TPL_RESULT",
    "feedback": "TPL_FEEDBACK",
    "poll": "TPL_POLL",
    "reminder": "TPL_REMINDER",
}


class DeliverySettings(Section):
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


class SchedulerSettings(Section):
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


class DialogSettings(Section):
    ttl_seconds: int = Field(default=1800, ge=30)
    lock_seconds: float = Field(default=5.0, gt=0)
