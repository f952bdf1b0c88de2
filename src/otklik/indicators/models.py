"""Methodology versions (data), the rollup (month, year) the indicators read, and signals."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Computed,
    Date,
    Float,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from otklik.indicators.rollup import SUMMARY_CODES, summary_integral_sql
from otklik.kit.models import Base


class MethodologyVersion(Base):
    """Items, integral items and weights, thresholds: everything a formula may vary by."""

    __tablename__ = "methodology_versions"

    version: Mapped[str] = mapped_column(String(20), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    is_default: Mapped[bool] = mapped_column(server_default="false")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class IndicatorRollup(Base):
    """Per grain (m month, y year), period start, organization and item: value counts.

    ``n`` answers, ``total`` their sum, ``n0``..``n5`` the count of each value (yes/no items:
    ``n1`` yes, ``n0`` no); code ``*`` counts completed questionnaires; code ``*served``
    counts them by the month (year) of the service instead of the answer; code ``*integral``
    holds respondent-level integral moments (``isum``, ``isumsq``). Kept by the worker's fold
    of ``indicator_queue`` (both grains at once, a second or so after the answers);
    ``otklik indicators compute`` rebuilds it set-based. A year's view of 20 000
    organizations reads the ``y`` rows only; ranges that are not whole months read the answers.
    """

    __tablename__ = "indicator_rollup"
    __table_args__ = (Index("ix_indicator_rollup_organization", "organization_id", "grain", "day"),)

    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    organization_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(BigInteger)
    n0: Mapped[int] = mapped_column(Integer)
    n1: Mapped[int] = mapped_column(Integer)
    n2: Mapped[int] = mapped_column(Integer)
    n3: Mapped[int] = mapped_column(Integer)
    n4: Mapped[int] = mapped_column(Integer)
    n5: Mapped[int] = mapped_column(Integer)
    # code "*integral": n respondents with an integral, the sum and sum of squares of their own
    # integrals (weighted mean of the integral items each answered; default version's weights)
    isum: Mapped[float] = mapped_column(Float, server_default="0")
    isumsq: Mapped[float] = mapped_column(Float, server_default="0")


# New and deleted answers waiting for the worker's fold into the rollup
# (``rollup.FOLD``): appended by statement-level triggers on ``responses`` (code ``*``, no value)
# and ``response_items``; ``sign`` +1 inserted, -1 deleted. No key: rows go by questionnaire.
indicator_queue = Table(
    "indicator_queue",
    Base.metadata,
    Column("response_id", Uuid, nullable=False, index=True),
    Column("answered_on", Date, nullable=False),
    Column("organization_id", BigInteger, nullable=False),
    Column("code", String(40), nullable=False),
    Column("value", SmallInteger),
    Column("sign", SmallInteger, nullable=False),
)


class IndicatorSummary(Base):
    """Per grain, period start and organization: the rollup's rows of ``rollup.SUMMARY_CODES``
    pivoted into columns (``resp`` questionnaires; ``ri_*`` the respondents' integral moments;
    ``n_q``, ``s_q``, ``ss_q`` per item). Kept by statement-level triggers on
    ``indicator_rollup`` in the same transaction; the published tables read it (one row per
    organization) instead of pivoting the rollup. Columns: ``rollup.SUMMARY_COLUMNS``."""

    __tablename__ = "indicator_summary"
    # the per-code columns n_q, s_q, ss_q (Table accepts extra columns among its arguments)
    __table_args__ = (
        *(
            Column(f"{p}_{code}", Integer, nullable=False)
            for code in SUMMARY_CODES
            for p in ("n", "s", "ss")
        ),
        # a region's or a founder's months: one index range per organization (migration 0280)
        Index("ix_indicator_summary_organization", "organization_id", "grain", "day"),
    )

    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    organization_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    resp: Mapped[int] = mapped_column(Integer)
    ri_n: Mapped[int] = mapped_column(Integer)
    ri_s: Mapped[float] = mapped_column(Float)
    ri_ss: Mapped[float] = mapped_column(Float)
    # the row's integral index for the default methodology, kept by PostgreSQL
    x: Mapped[Decimal | None] = mapped_column(
        Numeric, Computed(summary_integral_sql(), persisted=True)
    )


class IndicatorCountry(Base):
    """Per grain, period start and code: the rollup's rows summed over every organization (the
    whole country's counts, ``rollup.COUNTRY_COLUMNS``). Kept by the rollup's triggers in the
    same transaction as the summary (``rollup.SUMMARY_BODIES``); rebuilt with it. The country's
    landing reads a few dozen of these rows instead of every organization's month rows."""

    __tablename__ = "indicator_country"

    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    n0: Mapped[int] = mapped_column(BigInteger)
    n1: Mapped[int] = mapped_column(BigInteger)
    n2: Mapped[int] = mapped_column(BigInteger)
    n3: Mapped[int] = mapped_column(BigInteger)
    n4: Mapped[int] = mapped_column(BigInteger)
    n5: Mapped[int] = mapped_column(BigInteger)
    isum: Mapped[float] = mapped_column(Float)
    isumsq: Mapped[float] = mapped_column(Float)


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
