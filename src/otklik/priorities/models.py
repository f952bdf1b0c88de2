"""Priority criteria versions and information measures (decree 882, popularising the survey)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from otklik.kit.models import Base


class CriteriaVersion(Base):
    """Weights of the priority criteria; a new version on every edit, old ones kept as they were."""

    __tablename__ = "priority_criteria_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    weights: Mapped[dict[str, Any]] = mapped_column(JSONB)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class InformationMeasure(Base):
    """A measure that popularises the assessment in a region (posters, SMS, portal banner...)."""

    __tablename__ = "information_measures"
    __table_args__ = (CheckConstraint("ended_on >= started_on", name="dates"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    channels: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    # coverage within the region: listed organizations, or a filter (types and/or founder);
    # all empty: every organization of the region
    organization_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    type_codes: Mapped[list[str]] = mapped_column(
        ARRAY(String(60)), server_default=text("'{}'::varchar[]")
    )
    founder_id: Mapped[int | None] = mapped_column(ForeignKey("founders.id"))
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
