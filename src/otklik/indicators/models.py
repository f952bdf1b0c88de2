"""Methodology versions (data), the daily rollup the indicators read, and signals."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Integer, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from otklik.kit.models import Base


class MethodologyVersion(Base):
    """Items, integral items and weights, thresholds: everything a formula may vary by."""

    __tablename__ = "methodology_versions"

    version: Mapped[str] = mapped_column(String(20), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    is_default: Mapped[bool] = mapped_column(server_default="false")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class IndicatorDaily(Base):
    """Per organization, day and item: counts of each value 1-5 (yes/no items use n1 for yes).

    Maintained by statement-level triggers on ``response_items`` (and ``responses`` for the
    code ``*``, the number of completed questionnaires) in the answer's own transaction;
    ``otklik indicators compute`` rebuilds it set-based.
    """

    __tablename__ = "indicator_daily"

    organization_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(BigInteger)
    n0: Mapped[int] = mapped_column(Integer)
    n1: Mapped[int] = mapped_column(Integer)
    n2: Mapped[int] = mapped_column(Integer)
    n3: Mapped[int] = mapped_column(Integer)
    n4: Mapped[int] = mapped_column(Integer)
    n5: Mapped[int] = mapped_column(Integer)


class Signal(Base):
    """Something worth a look (a significant drop, later incidents and insights)."""

    __tablename__ = "signals"
    __table_args__ = (UniqueConstraint("kind", "unit", "period"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(80))
    period: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
