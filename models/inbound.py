"""Inbound messages: the database half of exactly-once handling and of the replay guard."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAt


class InboundMessage(CreatedAt, Base):
    """One handled WeChat message, unique by its dedup key, with the reply it got."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    msg_type: Mapped[str] = mapped_column(String(40))
    reply: Mapped[str | None] = mapped_column(Text)


class SeenNonce(Base):
    """A (timestamp, nonce) pair seen while Redis was unreachable."""

    __tablename__ = "seen_nonces"

    timestamp: Mapped[str] = mapped_column(String(20), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    body_hash: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime]
