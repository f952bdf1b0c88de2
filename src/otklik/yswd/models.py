"""«Вы сказали — мы сделали»: an organization's own entries, reviewed by its authority."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from otklik.kit.models import Base


class YswdEntry(Base):
    """What citizens said (a topic of their comments) and what the organization did about it.

    ``state``: ``review`` (waiting for the authority) → ``approved`` (public) or ``returned``
    (with ``return_reason``; the organization may correct it and send it again)."""

    __tablename__ = "yswd_entries"
    __table_args__ = (
        Index("ix_yswd_entries_org_state", "organization_id", "state"),
        CheckConstraint("state IN ('review', 'approved', 'returned')", name="state"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    topic: Mapped[str] = mapped_column(String(60))
    said: Mapped[str] = mapped_column(Text)
    done: Mapped[str] = mapped_column(Text)
    done_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10), server_default="review")
    return_reason: Mapped[str] = mapped_column(Text, server_default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
