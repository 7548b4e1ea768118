"""Mass send of a large broadcast to the organisation's WeChat tag: claim, quota, and the copies it covers.

WeChat lets a service-account follower receive at most 4 mass messages a month (a verified subscription
account may mass-send once a day), so the quota is counted from the copies already sent by mass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

from sqlalchemy import distinct, func, select, text, update
from sqlalchemy.orm import Session

from domain.notices.content import push_content
from models import Delivery, DeliveryStatus, Notice, Organisation
from models.outbox import DeliveryPlan, WeChatTagMember

if TYPE_CHECKING:
    from domain.settings import Settings

QUOTA_REASON = "群发额度已用完，改为逐条推送"
NO_TAG_REASON = "组织还没有微信标签，改为逐条推送"


@dataclass(frozen=True)
class MassJob:
    """One mass send to make: the notice, its org's tag and the text."""

    notice_id: int
    tag_id: int
    text: str
    client_msg_id: str
    recipients: int


def _tagged(notice: Notice, tag_id: int) -> list:
    return [
        Delivery.notice_id == notice.id,
        Delivery.status == DeliveryStatus.PENDING,
        Delivery.person_id.in_(select(WeChatTagMember.person_id).where(
            WeChatTagMember.org_id == notice.org_id, WeChatTagMember.tag_id == tag_id)),
    ]


def month_start(now: datetime, tz: tzinfo) -> datetime:
    """Midnight on the first day of the local month."""
    local = now.astimezone(tz)
    return datetime.combine(local.date().replace(day=1), time(0, 0), tzinfo=tz)


def quota_left(db: Session, notice: Notice, tag_id: int, now: datetime, settings: Settings) -> bool:
    """Whether every tagged recipient may still receive a mass message (month), or the account may mass-send (day)."""
    tz = settings.tz
    if settings.wechat.account_type == "subscription_verified":
        today = datetime.combine(now.astimezone(tz).date(), time(0, 0), tzinfo=tz)
        sent = db.scalar(select(func.count(distinct(Delivery.notice_id))).where(
            Delivery.channel == "mass", Delivery.sent_at >= today))
        return not sent
    recipients = select(Delivery.person_id).where(*_tagged(notice, tag_id))
    per_person = (
        select(func.count(Delivery.id).label("n"))
        .where(Delivery.channel == "mass", Delivery.sent_at >= month_start(now, tz),
               Delivery.person_id.in_(recipients))
        .group_by(Delivery.person_id)
        .subquery()
    )
    most = db.scalar(select(func.max(per_person.c.n))) or 0
    return most < settings.delivery.mass_monthly_limit


def claim_mass(db: Session, *, worker: str, now: datetime, settings: Settings) -> MassJob | None:
    """Take one notice planned for mass send (or whose mass sender died); decide mass or fall back to direct."""
    row = db.execute(text("""
        SELECT id FROM notices
        WHERE delivery_plan IN ('mass', 'mass_sending') AND (mass_lease_until IS NULL OR mass_lease_until < :now)
        ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
    """), {"now": now}).first()
    if row is None:
        return None
    notice = db.get(Notice, row[0])
    assert notice is not None
    org = db.get(Organisation, notice.org_id)
    tag_id = org.wechat_tag_id if org else None
    if tag_id is None:
        fall_back(db, notice, NO_TAG_REASON)
        return None
    if notice.delivery_plan is DeliveryPlan.MASS and not quota_left(db, notice, tag_id, now, settings):
        fall_back(db, notice, QUOTA_REASON)
        return None
    count = db.scalar(select(func.count(Delivery.id)).where(*_tagged(notice, tag_id))) or 0
    if count == 0:
        fall_back(db, notice, NO_TAG_REASON)
        return None
    notice.delivery_plan = DeliveryPlan.MASS_SENDING
    notice.mass_lease_until = now + timedelta(seconds=settings.delivery.lease_seconds)
    return MassJob(notice.id, tag_id, push_content(db, notice, settings.tz).text, f"n{notice.id}", int(count))


def fall_back(db: Session, notice: Notice, reason: str) -> None:
    """Send this notice's copies one by one instead."""
    notice.delivery_plan = DeliveryPlan.DIRECT
    notice.mass_lease_until = None
    notice.mass_status = reason[:200]


def retry_later(db: Session, notice_id: int, until: datetime, reason: str) -> None:
    """A temporary mass-send error: try the mass send again after ``until``."""
    db.execute(update(Notice).where(Notice.id == notice_id).values(
        delivery_plan=DeliveryPlan.MASS, mass_lease_until=until, mass_status=reason[:200]))


def record_mass_sent(db: Session, job: MassJob, *, msg_id: str | None, now: datetime) -> int:
    """The tag received the mass message: its members' copies are sent; the others go direct."""
    notice = db.get(Notice, job.notice_id)
    assert notice is not None
    covered = db.execute(update(Delivery).where(*_tagged(notice, job.tag_id)).values(
        status=DeliveryStatus.SENT, channel="mass", sent_at=now, wechat_msgid=msg_id, attempts=Delivery.attempts + 1,
    ).execution_options(synchronize_session=False)).rowcount or 0
    notice.delivery_plan = DeliveryPlan.DIRECT
    notice.mass_lease_until = None
    notice.mass_msg_id = msg_id
    notice.mass_status = f"已群发给标签内 {covered} 人"
    return covered


def record_mass_finish(db: Session, *, msg_id: str, status: str, total: int, sent: int, errors: int) -> Notice | None:
    """MASSSENDJOBFINISH: WeChat's counts for a mass send."""
    notice = db.scalar(select(Notice).where(Notice.mass_msg_id == str(msg_id)))
    if notice is not None:
        notice.mass_status = f"{status}：共{total}人，成功{sent}人，失败{errors}人"[:200]
    return notice
