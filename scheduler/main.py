"""The scheduler process (APScheduler 3): fixed job ids, sweeps that take ``now``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from scheduler import jobs

logger = logging.getLogger(__name__)


def configure(scheduler: Any, services: Any) -> Any:
    """Register every job under its fixed id (re-registering replaces, never duplicates)."""
    for job in jobs.JOBS:
        scheduler.add_job(
            _runner(job.func, services),
            trigger="interval",
            seconds=job.every_seconds,
            id=job.id,
            name=job.description,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(UTC),
            misfire_grace_time=None,
        )
    return scheduler


def _runner(func: Callable[[Any, datetime], Any], services: Any) -> Callable[[], None]:
    def run() -> None:
        try:
            func(services, datetime.now(UTC))
        except Exception:  # noqa: BLE001 - one failing sweep must not stop the scheduler
            logger.exception("scheduled job %s failed", getattr(func, "__name__", func))

    return run


def run_forever(services: Any) -> None:
    """Run the scheduler in the foreground until interrupted."""
    scheduler = configure(BlockingScheduler(timezone=services.settings.tz), services)
    logger.info("scheduler started with %d jobs", len(jobs.JOBS))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        logger.info("scheduler stopped")


def start_background(services: Any) -> BackgroundScheduler:
    """Run the scheduler in a thread of this process (development server only)."""
    scheduler = configure(BackgroundScheduler(timezone=services.settings.tz), services)
    scheduler.start()
    return scheduler
