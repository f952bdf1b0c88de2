"""Batches of answers transferred to ИАС МКГУ and the outbox that delivers them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from otklik.kit.models import Base

STATUSES = ("pending", "retrying", "acknowledged", "split")


class ExchangeBatch(Base):
    """One batch: its JSON Lines body (gzip) is written once and resent byte for byte, so the
    idempotency key (the batch id) always names the same content."""

    __tablename__ = "exchange_batches"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'retrying', 'acknowledged', 'split')", name="status"
        ),
        Index(
            "ix_exchange_batches_due",
            "next_attempt_at",
            postgresql_where="status IN ('pending', 'retrying')",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    receiver: Mapped[str] = mapped_column(String(20))
    format_version: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    answered_from: Mapped[date] = mapped_column(Date)
    answered_to: Mapped[date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(12), server_default="pending")
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_attempt_at: Mapped[datetime | None]
    last_status: Mapped[int | None] = mapped_column(SmallInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    acknowledged_at: Mapped[datetime | None]


class ExchangeItem(Base):
    """Which batch carries an answer; an answer without a row here is not yet packed."""

    __tablename__ = "exchange_items"
    __table_args__ = (Index("ix_exchange_items_batch", "batch_id"),)

    response_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    batch_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("exchange_batches.id", ondelete="CASCADE")
    )
