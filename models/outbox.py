"""Notices (通知/公示) and their per-recipient deliveries: the durable outbox every push goes through."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, CreatedAt, enum_type
from models.orgs import Organisation


class NoticeKind(enum.StrEnum):
    """What a notice is; decides its template and wording."""

    GENERAL = "general"  # 通知
    TOPIC_NOTICE = "topic_notice"  # 议题公示 (R-TOPIC-6)
    MEETING_NOTICE = "meeting_notice"  # 会议通知 / 提醒 (R-MEET-2)
    RESULT_NOTICE = "result_notice"  # 结果公示 (R-RES-2)
    FEEDBACK = "feedback"  # 落实反馈 / 进展推送给提议人 (R-RES-2)
    POLL = "poll"  # 投票、问卷通知
    REMINDER = "reminder"  # 给召集人的提醒 (R-MEET-1, R-RES-2)

    @property
    def label(self) -> str:
        """The Chinese word shown before a notice's title."""
        return NOTICE_KIND_LABELS[self]


NOTICE_KIND_LABELS = {
    NoticeKind.GENERAL: "通知",
    NoticeKind.TOPIC_NOTICE: "议题公示",
    NoticeKind.MEETING_NOTICE: "会议通知",
    NoticeKind.RESULT_NOTICE: "结果公示",
    NoticeKind.FEEDBACK: "进展反馈",
    NoticeKind.POLL: "投票问卷",
    NoticeKind.REMINDER: "工作提醒",
}


class Audience(enum.StrEnum):
    """Who receives a notice."""

    FOLLOWERS = "followers"  # all bound followers of the organisation (and of the organisations below it)
    MEMBERS = "members"  # council members
    ATTENDEES = "attendees"  # a meeting's expected attendees
    TOPIC_PEOPLE = "topic_people"  # a topic's proposer and co-signers
    NAMED = "named"  # listed people
    MEETING_PUBLIC = "meeting_public"  # a meeting's attendees plus the organisation's followers


class DeliveryStatus(enum.StrEnum):
    """Where one recipient's copy stands."""

    PENDING = "pending"
    SENDING = "sending"  # an attempt is under way (attempts counts it); result not yet known
    SENT = "sent"
    FAILED = "failed"  # final, with a reason
    SKIPPED = "skipped"  # never sent (unfollowed, no openid, acted already, stale)


class DeliveryPlan(enum.StrEnum):
    """How a notice's copies go out."""

    DIRECT = "direct"  # one message per recipient (template or customer-service)
    MASS = "mass"  # first one mass send to the organisation's WeChat tag, the rest direct
    MASS_SENDING = "mass_sending"  # the mass send is under way (see mass_lease_until)


class Notice(CreatedAt, Base):
    """One message to an audience; public notices have a window they stay in force."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("org_id", "seq"),
        # The close-notices sweep reads only notices still open: flat however many closed ones pile up.
        Index("ix_notices_open_until", "public_until", postgresql_where=text("closed_at IS NULL")),
        # Only mass sends carry an id: a partial index costs nothing for every other notice.
        Index("ix_notices_mass_msg_id", "mass_msg_id", postgresql_where=text("mass_msg_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))  # indexed by (org_id, seq)
    seq: Mapped[int]  # number per organisation, shown as 通知 <seq>
    kind: Mapped[NoticeKind] = mapped_column(enum_type(NoticeKind))
    audience: Mapped[Audience] = mapped_column(enum_type(Audience))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), index=True)
    # The meeting version a reminder was written for; the sender skips it once the meeting moved.
    meeting_version: Mapped[int | None]
    # "meeting:<id>" / "poll:<id>": recipients who already acted there are skipped at send time.
    skip_if_acted: Mapped[str | None] = mapped_column(String(40))
    public_from: Mapped[datetime | None]
    public_until: Mapped[datetime | None] = mapped_column(index=True)
    closed_at: Mapped[datetime | None]
    closed_reason: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    source_key: Mapped[str | None] = mapped_column(String(120), unique=True)  # idempotency of made-by-job notices
    delivery_plan: Mapped[DeliveryPlan] = mapped_column(enum_type(DeliveryPlan), default=DeliveryPlan.DIRECT)
    mass_lease_until: Mapped[datetime | None]
    mass_msg_id: Mapped[str | None] = mapped_column(String(32))
    mass_status: Mapped[str | None] = mapped_column(String(200))
    qr_scene: Mapped[str | None] = mapped_column(String(64))  # the scene the printed QR code carries
    qr_url: Mapped[str | None] = mapped_column(String(300))  # what the QR image encodes (WeChat's url)

    org: Mapped[Organisation] = relationship()

    @property
    def is_public(self) -> bool:
        """Whether the notice has a public window (公示期) at all."""
        return self.public_until is not None

    def in_force(self, now: datetime) -> bool:
        """Whether the notice is public right now (window open, not closed)."""
        return (
            self.public_until is not None and self.closed_at is None
            and (self.public_from is None or self.public_from <= now) and now < self.public_until
        )


class Delivery(Base):
    """One recipient's copy of a notice, unique per (notice, person)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("notice_id", "person_id"),
        # The senders' claim walks this in order and stops after one batch, however many copies wait.
        Index("ix_deliveries_claim", "next_attempt_at", "id", postgresql_where=text("status IN ('pending', 'sending')")),
        # Set once a copy was sent (TEMPLATESENDJOBFINISH looks it up): partial, so queuing a copy skips it.
        Index("ix_deliveries_wechat_msgid", "wechat_msgid", postgresql_where=text("wechat_msgid IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))  # indexed by (notice_id, person_id)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    openid: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[DeliveryStatus] = mapped_column(enum_type(DeliveryStatus), default=DeliveryStatus.PENDING)
    channel: Mapped[str | None] = mapped_column(String(16))  # template | custom | mass
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)  # the reason of a failure or a skip, in Chinese
    wechat_msgid: Mapped[str | None] = mapped_column(String(32))
    final_status: Mapped[str | None] = mapped_column(String(64))  # from TEMPLATESENDJOBFINISH
    sent_at: Mapped[datetime | None]

    notice: Mapped[Notice] = relationship()


class WeChatTagMember(Base):
    """Which organisation's WeChat tag a person carries on WeChat's side (kept in step by the tag_sync job)."""

    __tablename__ = "wechat_tag_members"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    tag_id: Mapped[int]
    openid: Mapped[str] = mapped_column(String(64))
    synced_at: Mapped[datetime]
