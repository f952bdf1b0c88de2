"""The shared schedule (one row per periodic job) and the history of its runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from otklik.kit.models import Base


class JobSchedule(Base):
    """When a job is next due, for every worker on every host: claimed by moving ``next_due``."""

    __tablename__ = "job_schedule"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    interval_seconds: Mapped[int] = mapped_column(Integer)
    next_due: Mapped[datetime]
    last_started_at: Mapped[datetime | None]
    last_worker: Mapped[str | None] = mapped_column(String(120))


class JobRun(Base):
    """One run of a job: who ran it, when, how long, how much it did, and how it failed.

    ``error`` is the exception's class and ``error_detail`` a detail that carries no data (a
    SQLSTATE and constraint, a domain error's code, the raising line): never the message.
    """

    __tablename__ = "job_runs"
    __table_args__ = (
        Index("ix_job_runs_started_at", "started_at"),
        Index("ix_job_runs_job_started_at", "job", "started_at"),
        Index("ix_job_runs_failed_started_at", "started_at", postgresql_where=text("failed")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(80))
    worker: Mapped[str] = mapped_column(String(120))
    scheduled_at: Mapped[datetime | None]  # when its period began: started_at minus it is late
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer)
    failed: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(String(120))
    error_detail: Mapped[str | None] = mapped_column(String(200))
