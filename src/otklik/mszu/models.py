"""The МСЗУ list (versions, items) and the application statistics behind its electronic share."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from otklik.kit.models import Base

STATUSES = ("draft", "agreed", "approved", "superseded")
MODES = ("electronic", "proactive", "on_request")
CHANNELS = ("portal", "proactive", "in_person", "other")


class MszuListVersion(Base):
    """One version of the list: drafted by the analyst, agreed by Минцифры, approved by the
    subcommission (its secretary records the protocol and date). Approved versions never change."""

    __tablename__ = "mszu_list_versions"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'agreed', 'approved', 'superseded')", name="status"),
    )

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    agreed_by: Mapped[str | None] = mapped_column(String(200))
    agreed_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None]
    protocol_number: Mapped[str | None] = mapped_column(String(60))
    decision_date: Mapped[date | None] = mapped_column(Date)
    returned_reason: Mapped[str | None] = mapped_column(Text)


class MszuListItem(Base):
    __tablename__ = "mszu_list_items"
    __table_args__ = (
        CheckConstraint("mode IN ('electronic', 'proactive', 'on_request')", name="mode"),
    )

    version_number: Mapped[int] = mapped_column(
        ForeignKey("mszu_list_versions.number", ondelete="CASCADE"), primary_key=True
    )
    service_code: Mapped[str] = mapped_column(ForeignKey("services.code"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(12))


class ServiceStatistic(Base):
    """Applications one source reports for a service, region, founder, month and channel
    (replaceable). ``founder_code`` is '' when the source does not state the founder."""

    __tablename__ = "service_statistics"
    __table_args__ = (
        CheckConstraint("applications >= 0", name="applications_non_negative"),
        CheckConstraint("channel IN ('portal', 'proactive', 'in_person', 'other')", name="channel"),
        CheckConstraint("extract(day FROM month) = 1", name="month_first_day"),
        Index("ix_service_statistics_month", "month"),
        Index(
            "ix_service_statistics_founder_rows",
            "source_id",
            "service_code",
            "region_code",
            "month",
            postgresql_where=text("founder_code <> ''"),
        ),
    )

    source_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_code: Mapped[str] = mapped_column(String(100), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    founder_code: Mapped[str] = mapped_column(String(60), primary_key=True, server_default="")
    applications: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ServiceStatisticChange(Base):
    """The audit of a replaced value: what a source sent before and after."""

    __tablename__ = "service_statistic_changes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(Integer, index=True)
    service_code: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str] = mapped_column(String(2))
    founder_code: Mapped[str] = mapped_column(String(60), server_default="")
    month: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(10))
    old_applications: Mapped[int] = mapped_column(BigInteger)
    new_applications: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class StatisticsClosure(Base):
    """A reported quarter: its statistics no longer change."""

    __tablename__ = "service_statistic_closures"

    quarter_start: Mapped[date] = mapped_column(Date, primary_key=True)
    closed_by: Mapped[str] = mapped_column(String(200))
    closed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class TrajectoryPoint(Base):
    """An uploaded national trajectory (target electronic share at a year's end)."""

    __tablename__ = "mszu_trajectory"
    __table_args__ = (CheckConstraint("target >= 0 AND target <= 1", name="target_share"),)

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    target: Mapped[float] = mapped_column(Float)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(server_default=func.now())
