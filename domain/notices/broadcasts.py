"""Convenors' broadcasts (preview, then confirm), notices in force, one notice, and closing (R-ROLE-4)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from domain.errors import Conflict, InvalidInput, NotBound, NotFound, PermissionDenied
from domain.notices.outbox import create_notice, public_window_end
from domain.notices.reach import reach
from domain.notices.texts import LEVEL_PREFIX, WITHDRAWN_REASON, title_from_text
from domain.orgs.people import has_role, require_role, supervises
from domain.orgs.tree import ancestors, get_org
from models import (
    Audience,
    Delivery,
    DeliveryStatus,
    Notice,
    NoticeKind,
    Organisation,
    Person,
    Role,
    RoleGrant,
)
from models.outbox import DeliveryPlan

if TYPE_CHECKING:
    from domain.settings import Settings

BROADCAST_AUDIENCES = (Audience.FOLLOWERS, Audience.MEMBERS)
MAX_PUBLIC_DAYS = 366
REF_RE = re.compile(r"^(?P<prefix>[^\d\s]*)\s*-?\s*(?P<seq>\d{1,6})$")
MASS_ACCOUNT_TYPES = ("service_verified", "subscription_verified")


@dataclass(frozen=True)
class BroadcastPreview:
    """What a broadcast would do, shown before the convenor confirms."""

    org_id: int
    org_name: str
    title: str
    text: str
    audience: str
    total: int
    reachable: int
    public_days: int
    public_until: datetime
    audience_words: str = ""  # '东风村的群众，共 36 人', said as every preview says it (domain/notices/reach.py)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (kept in the dialog state between preview and confirm)."""
        data = asdict(self)
        data["public_until"] = self.public_until.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BroadcastPreview:
        """Rebuild a preview from ``to_dict``."""
        return cls(**{**data, "public_until": datetime.fromisoformat(data["public_until"])})


def convenor_org(db: Session, person: Person) -> Organisation:
    """The organisation a convenor acts for: their home organisation if they convene it, else their first."""
    orgs = list(db.scalars(
        select(Organisation).join(RoleGrant, RoleGrant.org_id == Organisation.id)
        .where(RoleGrant.person_id == person.id, RoleGrant.role == Role.CONVENOR, RoleGrant.revoked_at.is_(None))
        .order_by(Organisation.id)
    ))
    if not orgs:
        raise PermissionDenied("只有召集人可以这样做。")
    return next((o for o in orgs if o.id == person.home_org_id), orgs[0])


def preview_broadcast(
    db: Session, *, person: Person, org: Organisation, text: str, now: datetime, settings: Settings,
    audience: Audience | str = Audience.FOLLOWERS, public_days: int | None = None, title: str | None = None,
) -> BroadcastPreview:
    """Check a convenor's broadcast and count its audience; nothing is written."""
    require_role(db, person, org, Role.CONVENOR)
    text = (text or "").strip()
    if not text:
        raise InvalidInput("请在“发布通知”后面写上通知内容，例如：发布通知 周六上午9点村委会议室开会。")
    limit = settings.delivery.notice_max_chars
    if len(text) > limit:
        raise InvalidInput(f"通知太长了（{len(text)}字），请控制在{limit}字以内。")
    try:
        audience = Audience(audience)
    except ValueError:
        raise InvalidInput("接收人只能是 followers（全体群众）或 members（议事会成员）。") from None
    if audience not in BROADCAST_AUDIENCES:
        raise InvalidInput("接收人只能是全体群众或议事会成员。")
    days = settings.delivery.general_notice_days if public_days is None else public_days
    if not 1 <= days <= MAX_PUBLIC_DAYS:
        raise InvalidInput(f"公示天数要在1到{MAX_PUBLIC_DAYS}天之间。")
    counted = reach(db, org, audience)
    return BroadcastPreview(
        org_id=org.id, org_name=org.name, title=(title or title_from_text(text)).strip()[:200], text=text,
        audience=audience.value, total=counted.total, reachable=counted.reachable,
        public_days=days, public_until=public_window_end(now, days, settings.tz), audience_words=counted.words,
    )


def confirm_broadcast(
    db: Session, *, person: Person, preview: BroadcastPreview, now: datetime, settings: Settings, token: str,
) -> Notice:
    """Queue a previewed broadcast; the same ``token`` twice gives the same notice."""
    org = db.get(Organisation, preview.org_id)
    if org is None:
        raise NotFound("这个村（社区）已经不存在了。")
    require_role(db, person, org, Role.CONVENOR)
    audience = Audience(preview.audience)
    plan = DeliveryPlan.MASS if mass_eligible(db, org, audience, preview.reachable, settings) else DeliveryPlan.DIRECT
    return create_notice(
        db, org=org, kind=NoticeKind.GENERAL, audience=audience, title=preview.title, body=preview.text,
        now=now, public_until=public_window_end(now, preview.public_days, settings.tz), created_by=person,
        source_key=f"broadcast:{token}"[:120], delivery_plan=plan,
    )


def mass_eligible(db: Session, org: Organisation, audience: Audience, reachable: int, settings: Settings) -> bool:
    """Whether a broadcast should go by one mass send to the organisation's WeChat tag."""
    return (
        settings.delivery.mass_enabled
        and settings.wechat.account_type in MASS_ACCOUNT_TYPES
        and audience is Audience.FOLLOWERS
        and reachable >= settings.delivery.mass_min_recipients
        and org.wechat_tag_id is not None
        and not org.children
    )


def readable_orgs(db: Session, person: Person) -> list[Organisation]:
    """The organisations whose notices a person reads: home and the levels above it (else where they hold a role)."""
    if person.home_org is not None:
        return [person.home_org, *ancestors(person.home_org)]
    held = list(db.scalars(
        select(Organisation).join(RoleGrant, RoleGrant.org_id == Organisation.id)
        .where(RoleGrant.person_id == person.id, RoleGrant.revoked_at.is_(None)).distinct()
    ))
    if not held:
        raise NotBound()
    seen: dict[int, Organisation] = {}
    for org in held:
        for node in (org, *ancestors(org)):
            seen.setdefault(node.id, node)
    return list(seen.values())


def in_force(db: Session, person: Person, now: datetime) -> list[tuple[Notice, Organisation]]:
    """Public notices in force now for the person's organisation and the levels above, newest first."""
    orgs = {o.id: o for o in readable_orgs(db, person)}
    stmt = (
        select(Notice)
        .where(Notice.org_id.in_(list(orgs)), Notice.public_until > now, Notice.closed_at.is_(None),
               Notice.public_from <= now)
        .order_by(Notice.public_from.desc(), Notice.id.desc())
    )
    return [(n, orgs[n.org_id]) for n in db.scalars(stmt)]


def recent_personal(db: Session, person: Person, now: datetime, *, days: int = 7,
                    limit: int = 5) -> list[tuple[Notice, Organisation]]:
    """Pushes addressed to the person (reminders, feedback) in the last ``days``, newest first."""
    stmt = (
        select(Notice, Organisation)
        .join(Delivery, Delivery.notice_id == Notice.id).join(Organisation, Organisation.id == Notice.org_id)
        .where(Delivery.person_id == person.id, Notice.public_until.is_(None),
               Notice.created_at > now - timedelta(days=days), Notice.created_at <= now)
        .order_by(Notice.created_at.desc(), Notice.id.desc())
        .limit(limit)
    )
    return [(n, o) for n, o in db.execute(stmt)]


def find_notice(db: Session, person: Person, ref: str) -> tuple[Notice, Organisation]:
    """The notice a person means by 通知 <ref> (3 = home organisation's, 镇3 = the township's)."""
    match = REF_RE.match(ref.strip())
    if not match:
        raise InvalidInput("请发送“通知 编号”，例如：通知 3。发送“通知”查看正在公示的通知。")
    prefix, seq = match["prefix"], int(match["seq"])
    for org in readable_orgs(db, person):
        if LEVEL_PREFIX.get(org.kind, "") == prefix:
            notice = db.scalar(select(Notice).where(Notice.org_id == org.id, Notice.seq == seq))
            if notice is not None and can_read(db, person, notice, org):
                return notice, org
    raise NotFound(f"没有找到通知 {ref}。发送“通知”查看正在公示的通知。")


def can_read(db: Session, person: Person, notice: Notice, org: Organisation) -> bool:
    """Public notices are for everyone; others for their recipients, the council's officers and supervisors."""
    if notice.is_public:
        return True
    received = db.scalar(
        select(Delivery.id).where(Delivery.notice_id == notice.id, Delivery.person_id == person.id)
    )
    return received is not None or has_role(db, person, org, Role.CONVENOR, Role.SECRETARY, Role.CHAIR) \
        or supervises(db, person, org)


def get_notice(db: Session, org: Organisation, seq: int) -> Notice:
    """An organisation's notice by its number, or NotFound."""
    notice = db.scalar(select(Notice).where(Notice.org_id == org.id, Notice.seq == seq))
    if notice is None:
        raise NotFound(f"{org.name}没有编号为 {seq} 的通知。")
    return notice


def notice_by_code(db: Session, org_code: str, seq: int) -> tuple[Notice, Organisation]:
    """A notice by organisation code and number (CLI)."""
    org = get_org(db, org_code)
    return get_notice(db, org, seq), org


def close_notice(
    db: Session, *, person: Person | None, org: Organisation, seq: int, now: datetime, settings: Settings,
    reason: str = WITHDRAWN_REASON,
) -> Notice:
    """Withdraw a notice: it leaves the list and unsent copies are not sent. Public notices keep their minimum days."""
    if person is not None:
        require_role(db, person, org, Role.CONVENOR)
    notice = get_notice(db, org, seq)
    if notice.closed_at is not None:
        raise Conflict(f"通知 {seq} 已经撤回了。")
    minimum = {NoticeKind.TOPIC_NOTICE: settings.rules.topic_notice_days,
               NoticeKind.RESULT_NOTICE: settings.rules.result_notice_days}.get(notice.kind)
    if minimum and notice.public_from is not None and now < public_window_end(notice.public_from, minimum, settings.tz):
        raise Conflict(f"{notice.kind.label}至少要公示{minimum}天，不能提前撤下。")
    notice.closed_at = now
    notice.closed_reason = reason[:200]
    stop_unsent(db, notice, reason)
    return notice


def stop_unsent(db: Session, notice: Notice, reason: str) -> int:
    """Mark a notice's copies not yet sent as skipped; returns how many."""
    stmt = (
        update(Delivery)
        .where(Delivery.notice_id == notice.id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SKIPPED, last_error=reason, lease_until=None)
    )
    return db.execute(stmt).rowcount or 0


def notice_for_scene(db: Session, invite_code: str, seq_text: str) -> tuple[Notice, Organisation]:
    """The public notice a printed QR code (scene n_<invite>_<seq>) points at."""
    org = db.scalar(select(Organisation).where(Organisation.invite_code == invite_code.strip().upper()))
    if org is None or not seq_text.isdigit():
        raise NotFound("这个二维码已经失效了（可能换了新的邀请码）。发送“通知”查看正在公示的通知。")
    notice = get_notice(db, org, int(seq_text))
    if not notice.is_public:
        raise NotFound("这个二维码对应的通知不公开。发送“通知”查看正在公示的通知。")
    return notice, org


def convenor_notice(db: Session, person: Person, ref: str) -> tuple[Notice, Organisation]:
    """A notice of an organisation the person convenes, by 编号 (3, or 镇3 for a township's)."""
    match = REF_RE.match(ref.strip())
    if not match:
        raise InvalidInput("请在后面写上通知编号，例如：送达 3。")
    convened = list(db.scalars(
        select(Organisation).join(RoleGrant, RoleGrant.org_id == Organisation.id)
        .where(RoleGrant.person_id == person.id, RoleGrant.role == Role.CONVENOR, RoleGrant.revoked_at.is_(None))
        .order_by(Organisation.id)
    ))
    if not convened:
        raise PermissionDenied("只有召集人可以这样做。")
    convened.sort(key=lambda o: o.id != person.home_org_id)
    for org in convened:
        if LEVEL_PREFIX.get(org.kind, "") == match["prefix"]:
            notice = db.scalar(select(Notice).where(Notice.org_id == org.id, Notice.seq == int(match["seq"])))
            if notice is not None:
                return notice, org
    raise NotFound(f"您召集的议事会没有编号为 {ref.strip()} 的通知。")
