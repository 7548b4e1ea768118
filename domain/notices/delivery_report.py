"""送达: how a notice's copies stand (sent, confirmed, waiting, failed, skipped) with the reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.notices.texts import fmt_time, notice_ref, shorten
from models import Delivery, DeliveryStatus, Notice, NoticeKind, Organisation, Person, Role, RoleGrant

REASONS_SHOWN = 5
RECENT_SHOWN = 3  # other notices offered after the newest one's report (送达 without a number)


@dataclass
class DeliveryReport:
    """Counts of a notice's copies."""

    total: int = 0
    sent: int = 0  # WeChat accepted them
    confirmed: int = 0  # of which WeChat later confirmed delivery (TEMPLATESENDJOBFINISH success)
    waiting: int = 0  # pending or being sent
    failed: int = 0
    skipped: int = 0
    reasons: list[tuple[str, int]] = field(default_factory=list)  # failures and skips, most common first
    channels: dict[str, int] = field(default_factory=dict)


def delivery_report(db: Session, notice: Notice) -> DeliveryReport:
    """Count a notice's copies by status and reason."""
    report = DeliveryReport()
    rows = db.execute(
        select(Delivery.status, Delivery.channel, Delivery.final_status, func.count(Delivery.id))
        .where(Delivery.notice_id == notice.id)
        .group_by(Delivery.status, Delivery.channel, Delivery.final_status)
    )
    for status, channel, final, count in rows:
        report.total += count
        if status is DeliveryStatus.SENT:
            report.sent += count
            report.channels[channel or "?"] = report.channels.get(channel or "?", 0) + count
            if final and final.lower() == "success":
                report.confirmed += count
        elif status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
            report.waiting += count
        elif status is DeliveryStatus.FAILED:
            report.failed += count
        else:
            report.skipped += count
    reasons = db.execute(
        select(Delivery.last_error, func.count(Delivery.id))
        .where(Delivery.notice_id == notice.id,
               Delivery.status.in_([DeliveryStatus.FAILED, DeliveryStatus.SKIPPED]))
        .group_by(Delivery.last_error)
        .order_by(func.count(Delivery.id).desc())
    )
    report.reasons = [(reason or "未知原因", int(count)) for reason, count in reasons]
    return report


CHANNEL_LABELS = {"template": "模板消息", "custom": "客服消息", "mass": "群发"}


def report_text(notice: Notice, org: Organisation, report: DeliveryReport, tz: tzinfo) -> str:
    """The report as a convenor reads it."""
    lines = [
        f"通知 {notice_ref(notice, org)}“{shorten(notice.title, 20)}”，{fmt_time(notice.created_at, tz)}发布",
        f"共 {report.total} 人：已发出 {report.sent}（微信确认送达 {report.confirmed}），"
        f"待发送 {report.waiting}，失败 {report.failed}，未发送 {report.skipped}。",
    ]
    if report.channels:
        lines.append("发送方式：" + "，".join(f"{CHANNEL_LABELS.get(c, c)} {n}" for c, n in report.channels.items()))
    if report.reasons:
        lines.append("原因：" + "；".join(f"{r} {n}人" for r, n in report.reasons[:REASONS_SHOWN]))
    if report.channels.get("custom") and report.confirmed < report.sent:
        lines.append("（微信只对模板消息回送达确认；客服消息发出就算送到。）")
    if notice.mass_status:
        lines.append(f"群发：{notice.mass_status}")
    if report.waiting:
        lines.append("还有人在排队发送，过几分钟再发“送达 编号”看看。")
    return "\n".join(lines)


def latest_broadcasts(db: Session, person: Person, limit: int = RECENT_SHOWN + 1) -> list[tuple[Notice, Organisation]]:
    """The newest notices (通知) of the organisations the person convenes, newest first."""
    convened = select(RoleGrant.org_id).where(RoleGrant.person_id == person.id, RoleGrant.role == Role.CONVENOR,
                                              RoleGrant.revoked_at.is_(None))
    rows = db.execute(select(Notice, Organisation).join(Organisation, Organisation.id == Notice.org_id)
                      .where(Notice.org_id.in_(convened), Notice.kind == NoticeKind.GENERAL)
                      .order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit))
    return [(notice, org) for notice, org in rows]
