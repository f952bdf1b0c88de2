"""Roadmaps of decree 923: measures, dependencies, baselines, progress reports, risk, alerts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from otklik.improvement.models import ChangeRequest
from otklik.kit.models import Base, TimestampMixin


class Roadmap(TimestampMixin, Base):
    __tablename__ = "roadmaps"
    __table_args__ = (
        CheckConstraint(
            "state IN ('draft', 'wg_approved', 'subcommission_approved', 'active', 'completed')",
            name="state",
        ),
        CheckConstraint("subject_kind IN ('service', 'life_situation')", name="subject_kind"),
        CheckConstraint("report_every_days BETWEEN 1 AND 92", name="report_every"),
        CheckConstraint("risk IS NULL OR risk BETWEEN 0 AND 1", name="risk"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_code: Mapped[str] = mapped_column(String(100))
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # where the roadmap sits in the country (the scope filter reads these; all null = national)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    founder_id: Mapped[int | None] = mapped_column(ForeignKey("founders.id"), index=True)
    state: Mapped[str] = mapped_column(String(30), default="draft", index=True)
    report_every_days: Mapped[int] = mapped_column(Integer, default=14)
    approved_at: Mapped[datetime | None]
    activated_at: Mapped[datetime | None]
    risk: Mapped[float | None] = mapped_column(Float)
    # the critical path (measure ids, first to last) and what drove ``risk``
    risk_factors: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    risk_computed_at: Mapped[datetime | None]


class Measure(Base):
    __tablename__ = "roadmap_measures"
    __table_args__ = (
        CheckConstraint("planned_start <= planned_due", name="planned_order"),
        CheckConstraint("baseline_start <= baseline_due", name="baseline_order"),
        CheckConstraint("weight > 0 AND weight <= 1000", name="weight"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),
        CheckConstraint("risk IS NULL OR risk BETWEEN 0 AND 1", name="risk"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    roadmap_id: Mapped[int] = mapped_column(
        ForeignKey("roadmaps.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    planned_start: Mapped[date] = mapped_column(Date)
    planned_due: Mapped[date] = mapped_column(Date)
    # the approved plan, copied when the subcommission approves; re-planning leaves it
    baseline_start: Mapped[date | None] = mapped_column(Date)
    baseline_due: Mapped[date | None] = mapped_column(Date)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    # the latest progress report, kept here so the list and the risk job read one row
    progress: Mapped[int] = mapped_column(Integer, default=0)
    forecast_due: Mapped[date | None] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    last_report_at: Mapped[datetime | None]
    risk: Mapped[float | None] = mapped_column(Float)
    risk_factors: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class MeasureDependency(Base):
    __tablename__ = "roadmap_measure_dependencies"
    __table_args__ = (CheckConstraint("measure_id <> depends_on_id", name="not_self"),)

    measure_id: Mapped[int] = mapped_column(
        ForeignKey("roadmap_measures.id", ondelete="CASCADE"), primary_key=True
    )
    depends_on_id: Mapped[int] = mapped_column(
        ForeignKey("roadmap_measures.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class MeasureChangeRequest(Base):
    """A change request a measure delivers (owned by ``improvement``; linked here)."""

    __tablename__ = "roadmap_measure_change_requests"

    measure_id: Mapped[int] = mapped_column(
        ForeignKey("roadmap_measures.id", ondelete="CASCADE"), primary_key=True
    )
    change_request_id: Mapped[int] = mapped_column(
        ForeignKey(ChangeRequest.id, ondelete="CASCADE"), primary_key=True, index=True
    )


class MeasureReport(Base):
    __tablename__ = "roadmap_measure_reports"
    __table_args__ = (CheckConstraint("percent BETWEEN 0 AND 100", name="percent"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    measure_id: Mapped[int] = mapped_column(
        ForeignKey("roadmap_measures.id", ondelete="CASCADE"), index=True
    )
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reported_at: Mapped[datetime] = mapped_column(server_default=func.now())
    percent: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    problems: Mapped[str] = mapped_column(Text, default="")
    forecast_due: Mapped[date] = mapped_column(Date)


class RoadmapEvent(Base):
    """The timeline: creation, transitions, re-planning, reports, risk alerts."""

    __tablename__ = "roadmap_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    roadmap_id: Mapped[int] = mapped_column(
        ForeignKey("roadmaps.id", ondelete="CASCADE"), index=True
    )
    measure_id: Mapped[int | None] = mapped_column(
        ForeignKey("roadmap_measures.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(server_default=func.now())
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str | None] = mapped_column(String(30))
    comment: Mapped[str] = mapped_column(Text, default="")


class RiskAlert(Base):
    """An in-app notification: a measure's deadline risk rose above the threshold."""

    __tablename__ = "roadmap_risk_alerts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    roadmap_id: Mapped[int] = mapped_column(ForeignKey("roadmaps.id", ondelete="CASCADE"))
    measure_id: Mapped[int] = mapped_column(ForeignKey("roadmap_measures.id", ondelete="CASCADE"))
    risk_before: Mapped[float | None] = mapped_column(Float)
    risk_after: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    read_at: Mapped[datetime | None]
