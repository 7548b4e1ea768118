"""The scheduler process (APScheduler 3): fixed job ids, sweeps that take ``now``.

coalesce=True and misfire_grace_time=None: after downtime each job runs once, and because the sweeps look
at state the one run catches up. A Redis lock per job keeps a second scheduler started by mistake idle.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from redis.exceptions import RedisError

from scheduler import jobs

logger = logging.getLogger(__name__)


def configure(scheduler: Any, services: Any) -> Any:
    """Register every job under its fixed id (re-registering replaces, never duplicates)."""
    for job in jobs.JOBS:
        scheduler.add_job(
            _runner(job, services),
            trigger="interval",
            seconds=job.interval(services.settings),
            id=job.id,
            name=job.description,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(UTC),
            misfire_grace_time=None,
        )
    return scheduler


def _leader(services: Any, job: jobs.Job) -> bool:
    """Take this job's run for this tick; another scheduler holding it makes us skip (Redis down: run anyway)."""
    if not services.settings.scheduler.leader_lock:
        return True
    ttl_ms = max(1000, job.interval(services.settings) * 1000 - 500)
    try:
        return bool(services.redis.set(services.rkey("sched", "lock", job.id), "1", nx=True, px=ttl_ms))
    except RedisError:
        return True


def record_run(services: Any, job_id: str, at: datetime) -> None:
    """Remember when a job last ran (shown by `shangliang jobs list`)."""
    try:
        services.redis.set(services.rkey("sched", "last", job_id), at.isoformat(), ex=7 * 86400)
    except RedisError:
        logger.debug("could not record the last run of %s", job_id)


def last_run(services: Any, job_id: str) -> datetime | None:
    """When a job last ran in any scheduler, if known."""
    try:
        raw = services.redis.get(services.rkey("sched", "last", job_id))
    except RedisError:
        return None
    return datetime.fromisoformat(raw.decode()) if raw else None


def _runner(job: jobs.Job, services: Any) -> Callable[[], None]:
    def run() -> None:
        if not _leader(services, job):
            logger.debug("job %s runs in another scheduler this tick", job.id)
            return
        now = datetime.now(UTC)
        try:
            outcome = job.func(services, now)
        except Exception:  # noqa: BLE001 - one failing sweep must not stop the scheduler
            logger.exception("scheduled job %s failed", job.id)
            return
        record_run(services, job.id, now)
        if outcome:
            logger.info("job %s: %s", job.id, outcome)

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
    """Run the scheduler, and one sender, in threads of this process (development server only)."""
    from bot.sender import Sender

    scheduler = configure(BackgroundScheduler(timezone=services.settings.tz), services)
    scheduler.start()
    sender = Sender(services, worker_id="dev-serve", concurrency=2)
    threading.Thread(target=sender.run, name="dev-sender", daemon=True).start()
    return scheduler
