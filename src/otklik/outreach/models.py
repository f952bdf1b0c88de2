"""The invitation pipeline's work queue (the pipeline itself is built on top of it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from otklik.kit.models import Base


class OutreachTask(Base):
    """Created with its service record in one transaction; claimed with SKIP LOCKED."""

    __tablename__ = "outreach_tasks"
    __table_args__ = (
        Index(
            "ix_outreach_tasks_due",
            "run_after",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    service_record_id: Mapped[int] = mapped_column(
        ForeignKey("service_records.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(12), server_default="pending")
    run_after: Mapped[datetime] = mapped_column(server_default=func.now())
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
