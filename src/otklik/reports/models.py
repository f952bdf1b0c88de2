"""Quarterly reports: one row per (scope, quarter, format) request, with its file."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from otklik.kit.models import Base

STATUSES = ("queued", "running", "done", "failed")
FORMATS = ("pdf", "xlsx")
ORIGINS = ("user", "schedule", "cli", "demo")


class Report(Base):
    """A report and where it lies in the country: ``region_code``, ``founder_id`` and
    ``organization_id`` are what the one scope filter reads. A region's report carries only its
    region, a founder's only its founder, an organization's all three, the country's none, so a
    user sees exactly the reports of units inside their scope."""

    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        CheckConstraint("format IN ('pdf', 'xlsx')", name="format"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),
        Index("ix_reports_queue", "created_at", postgresql_where="status = 'queued'"),
        Index(
            "uq_reports_schedule",
            "unit_kind",
            "unit_key",
            "period",
            "format",
            unique=True,
            postgresql_where="origin = 'schedule'",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    unit_kind: Mapped[str] = mapped_column(String(20))  # country, region, founder, organization
    unit_key: Mapped[str] = mapped_column(String(64))  # RU, region code, founder code, OGRN
    unit_name: Mapped[str] = mapped_column(Text)
    region_code: Mapped[str | None] = mapped_column(String(8), index=True)
    founder_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    organization_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    period: Mapped[str] = mapped_column(String(10))  # 2026-Q3
    format: Mapped[str] = mapped_column(String(4))
    origin: Mapped[str] = mapped_column(String(10))
    requested_by: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(8), server_default="queued")
    progress: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    stage: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    methodology: Mapped[str | None] = mapped_column(String(20))
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
