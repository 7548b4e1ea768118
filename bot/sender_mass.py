"""The mass-send step of a sender: one call to WeChat's mass/sendall per large broadcast, by tag_id."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.ratelimit import TokenBucket
from bot.wechat import WeChatError
from domain.notices import mass_send
from domain.notices.delivery_results import error_reason, retry_delay
from models import Notice
from models.db import transaction

if TYPE_CHECKING:
    from bot.services import Services

logger = logging.getLogger(__name__)

DUPLICATE_MASS = 45065  # clientmsgid already used: the first attempt went through
NO_MASS_QUOTA = 45028
LOOK_SECONDS = 2.0  # how often a sender looks for mass sends (they are rare)


class MassSender:
    """Looks for notices planned for mass send at most once per poll interval."""

    def __init__(self, services: Services, bucket: TokenBucket, worker_id: str) -> None:
        self.services = services
        self.bucket = bucket
        self.worker_id = worker_id
        self._next_look = 0.0

    def run_due(self, now: datetime) -> int:
        """Make every mass send that is due; returns how many were made."""
        if time.monotonic() < self._next_look:
            return 0
        self._next_look = time.monotonic() + max(self.services.settings.delivery.poll_seconds, LOOK_SECONDS)
        made = 0
        while True:
            with transaction(self.services.sessions) as db:
                job = mass_send.claim_mass(db, worker=self.worker_id, now=now, settings=self.services.settings)
            if job is None:
                return made
            self.send(job)
            made += 1
            now = datetime.now(UTC)

    def send(self, job: mass_send.MassJob) -> None:
        """Call WeChat once for the job and record what happened."""
        self.bucket.acquire()
        msg_id: str | None = None
        try:
            answer = self.services.wechat.send_mass_text_to_tag(job.tag_id, job.text, job.client_msg_id)
            msg_id = str(answer.get("msg_id")) if answer.get("msg_id") is not None else None
        except WeChatError as exc:
            if exc.errcode != DUPLICATE_MASS:
                self._failed(job, exc)
                return
            logger.info("mass send of notice %s was already accepted (45065)", job.notice_id)
        with transaction(self.services.sessions) as db:
            covered = mass_send.record_mass_sent(db, job, msg_id=msg_id, now=datetime.now(UTC))
        logger.info("mass-sent notice %s to tag %s (%d copies)", job.notice_id, job.tag_id, covered)

    def _failed(self, job: mass_send.MassJob, exc: WeChatError) -> None:
        reason = error_reason(exc.errcode, exc.errmsg)
        with transaction(self.services.sessions) as db:
            notice = db.get(Notice, job.notice_id)
            if notice is None:
                return
            if exc.retryable and exc.errcode != NO_MASS_QUOTA:
                delay = retry_delay(1, self.services.settings)
                mass_send.retry_later(db, job.notice_id, datetime.now(UTC) + max(delay, timedelta(seconds=1)),
                                      f"群发暂时失败：{reason}")
            else:
                mass_send.fall_back(db, notice, f"群发失败，改为逐条推送：{reason}")
        logger.warning("mass send of notice %s failed: %s", job.notice_id, exc)
