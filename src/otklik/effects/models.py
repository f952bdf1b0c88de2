"""Effect assessments: the hypothesis of a released change and its measured effect."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from otklik.kit.models import Base


class EffectAssessment(Base):
    """One assessment of one change: inputs (the hypothesis, the release) and the result."""

    __tablename__ = "effect_assessments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    change_request_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    title: Mapped[str] = mapped_column(String(300))
    indicator: Mapped[str] = mapped_column(String(40))
    direction: Mapped[int] = mapped_column(SmallInteger)  # +1 rise hoped, -1 fall hoped
    released_on: Mapped[date] = mapped_column(Date)
    window_days: Mapped[int] = mapped_column(Integer)
    organization_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    region_code: Mapped[str | None] = mapped_column(String(2), index=True)
    founder_id: Mapped[int | None] = mapped_column(Integer)
    organization_id: Mapped[int | None] = mapped_column(BigInteger)
    method: Mapped[str | None] = mapped_column(String(20))
    estimate: Mapped[float | None] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    n_treated: Mapped[int] = mapped_column(Integer, server_default="0")
    n_control: Mapped[int] = mapped_column(Integer, server_default="0")
    answers_treated: Mapped[int] = mapped_column(Integer, server_default="0")
    answers_control: Mapped[int] = mapped_column(Integer, server_default="0")
    pretrend_estimate: Mapped[float | None] = mapped_column(Float)
    pretrend_p: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(16), server_default="pending")
    reason: Mapped[str] = mapped_column(Text, server_default="")
    caveat: Mapped[str] = mapped_column(Text, server_default="")
    data_date: Mapped[date | None] = mapped_column(Date)
    computed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class PracticeAdoption(Base):
    """A confirmed change (a best practice) adopted elsewhere as a linked change request."""

    __tablename__ = "practice_adoptions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("effect_assessments.id", ondelete="CASCADE"), index=True
    )
    region_code: Mapped[str | None] = mapped_column(String(2))
    change_request_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    adopted_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
