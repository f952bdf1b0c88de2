"""Shapes of the priorities API for the OpenAPI schema."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RankedOut(BaseModel):
    subject: str = Field(
        examples=["service:health.checkup"], description="service:… или life_situation:…"
    )
    name: str
    rank: int
    score: float
    contributions: dict[str, float] = Field(
        description="вклад каждого критерия: вес × нормированное значение"
    )
    rank_range: list[int] = Field(description="[лучшее, худшее] место при изменении весов на ±20 %")
    no_data: list[str] = Field(description="критерии без данных (вклад 0)")


class PrioritiesOut(BaseModel):
    version: int
    weights: dict[str, float]
    window: str
    items: list[RankedOut]


class CriteriaOut(BaseModel):
    version: int
    weights: dict[str, float]


class RateOut(BaseModel):
    value: float | None = Field(description="null — нет данных")
    n: int = Field(description="доставленных приглашений")
    responses: int
    target: float


class ChangeOut(BaseModel):
    value: float | None
    ci: list[float] | None = Field(description="95 % доверительный интервал")
    mean: float | None
    n: int
    mean_year_before: float | None
    n_year_before: int


class MonthOut(BaseModel):
    month: str
    delivered: int
    responses: int
    response_rate: float | None


class KpisOut(BaseModel):
    """Plus one object per indicator of other domains: {label, value: null, n, note}."""

    model_config = ConfigDict(extra="allow")

    participant: str
    name: str
    period: str
    response_rate: RateOut
    satisfaction_change: ChangeOut
    trend: list[MonthOut]
    peers: int
