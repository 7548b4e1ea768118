"""The jobs: each a sweep over database rows, idempotent, taking ``now``.

Sweeps look at state, not at what happened since their last run: after downtime the first run catches up,
and a second run at the same ``now`` (or a second scheduler) makes nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sized
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.wechat import WeChatError
from domain.meetings import cadence, floor, sweeps
from domain.topics import results as result_notices
from models.db import transaction

logger = logging.getLogger(__name__)

TOKEN_REFRESH_SECONDS = 600


@dataclass(frozen=True)
class Job:
    """A scheduled sweep with a fixed id; ``every_seconds`` None means the [scheduler] sweep_seconds setting."""

    id: str
    func: Callable[[Any, datetime], Any]
    description: str
    every_seconds: int | None = None

    def interval(self, settings: Any) -> int:
        """Seconds between two runs."""
        return self.every_seconds or settings.scheduler.sweep_seconds


def refresh_access_token(services: Any, now: datetime) -> bool:
    """Make sure a WeChat access token is in Redis (fetched by one lock holder)."""
    try:
        _ = services.wechat.access_token
    except WeChatError as exc:
        logger.warning("could not refresh the WeChat access token: %s", exc)
        return False
    return True


def _sweep(sweep: Callable[..., Any], *, chunked: bool = False) -> Callable[[Any, datetime], int]:
    """Run a domain sweep in a transaction (``chunked``: committed after each chunk); returns how many it made.

    A chunked sweep killed between chunks keeps the chunks it committed; the next run continues, because every
    notice carries a source_key and the sweep reads its due rows from state.
    """

    def run(services: Any, now: datetime) -> int:
        with transaction(services.sessions) as db:
            if chunked:
                made = sweep(db, now, services.settings, checkpoint=db.commit)
            else:
                made = sweep(db, now, services.settings)
        return len(made) if isinstance(made, Sized) else int(made or 0)

    run.__name__ = getattr(sweep, "__name__", "sweep")
    run.__doc__ = sweep.__doc__
    return run


def sync_wechat_tags(services: Any, now: datetime) -> int:
    """Keep organisations' WeChat tags, and the role tag of the role menu, in step with binding and grants."""
    from bot.wechat_tags import sync_tags

    if services.settings.wechat.account_type not in ("service_verified", "subscription_verified"):
        return 0  # no tag API on unverified accounts
    try:
        counts = sync_tags(services, now)
    except WeChatError as exc:
        logger.warning("tag sync stopped: %s", exc)
        return 0
    return sum(counts[k] for k in ("tagged", "untagged", "tags_created", "role_tagged", "role_untagged"))


JOBS: list[Job] = [
    Job("wechat-token", refresh_access_token, "keep a shared WeChat access token in Redis", TOKEN_REFRESH_SECONDS),
    Job("topic-notices", _sweep(sweeps.publish_topic_notices, chunked=True), "R-TOPIC-6 议题公示 before each meeting"),
    Job("meeting-reminders", _sweep(sweeps.remind_meetings, chunked=True),
        "R-MEET-2 meeting reminders with date, place, material"),
    Job("implementation-summary", _sweep(sweeps.summarise_implementation, chunked=True),
        "R-RES-3 implemented topics told to the next meeting"),
    Job("result-notices", _sweep(result_notices.publish_results, chunked=True),
        "R-RES-2 7-day result notices and feedback"),
    Job("close-notices", _sweep(result_notices.close_expired, chunked=True),
        "R-RES-2 close ended public notices, tell convenors"),
    Job("cadence-watchdog", _sweep(cadence.watch_cadence), "R-MEET-1 remind convenors when their council is due"),
    Job("poll-closing", _sweep(sweeps.close_polls), "close due polls and questionnaires (domain.polls.close_due)"),
    Job("speech-overtime", _sweep(floor.overtime_sweep), "R-MEET-6 tell a speaker and the chair when time is up", 30),
    Job("tag-sync", sync_wechat_tags, "keep organisations' WeChat tags in step with binding"),
]

SWEEP_ORDER = [j.id for j in JOBS if j.id != "wechat-token"]


def job_by_id(job_id: str) -> Job:
    """The job with this id, or KeyError."""
    for job in JOBS:
        if job.id == job_id:
            return job
    raise KeyError(job_id)


def run_due(services: Any, now: datetime, only: list[str] | None = None) -> list[tuple[str, int | str]]:
    """Run every sweep as of ``now`` (operators catching up, tests); returns (job id, count or error)."""
    results: list[tuple[str, int | str]] = []
    for job_id in only or SWEEP_ORDER:
        job = job_by_id(job_id)
        try:
            outcome = job.func(services, now)
        except Exception as exc:  # noqa: BLE001 - report and go on with the next sweep
            logger.exception("job %s failed", job.id)
            results.append((job.id, f"失败：{type(exc).__name__}: {exc}"))
            continue
        results.append((job.id, int(outcome)))
    return results
