"""Shapes of the indicators API. Shares are percentages (0-100), scores are points (1-5)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class UnitOut(BaseModel):
    kind: str = Field(
        description="organization, region, type, sector, founder, service, life_situation, country"
    )
    id: str
    name: str


class PeriodOut(BaseModel):
    text: str = Field(description="как в запросе: 2026, 2026-Q3, 2026-11, 2026-11-01..2026-11-30")
    start: date
    end: date
    label: str


class CountsOut(BaseModel):
    service_recipients: int | None = Field(
        description="получателей услуг за период (разных людей); null, если меньше порога"
    )
    invitations_delivered: int | None = Field(
        description="приглашений, доставленных за период (по дате доставки); null, если меньше "
        "порога"
    )
    responses: int = Field(
        description="заполненных анкет по дате ответа (ответили в периоде): основа оценок и "
        "доли ответов"
    )
    responses_by_service_date: int | None = Field(
        default=None,
        description="заполненных анкет по дате услуги (услуга оказана в периоде, ответ — когда "
        "угодно): основа охвата; null, если меньше порога",
    )


class ItemOut(BaseModel):
    code: str
    label: str
    n: int = Field(description="ответов (при aggregation=unweighted — организаций)")
    mean: float | None = Field(description="средний балл; null, если данные скрыты")
    ci_low: float | None
    ci_high: float | None
    csat: float | None = Field(description="доля оценок 4–5, %")
    csat_ci_low: float | None
    csat_ci_high: float | None
    suppressed: bool = Field(description="n меньше порога: «недостаточно данных»")


class ShareOut(BaseModel):
    n: int = Field(description="знаменатель")
    value: float | None = Field(description="%")
    ci_low: float | None
    ci_high: float | None
    suppressed: bool


class IntegralOut(BaseModel):
    value: float | None
    ci_low: float | None = Field(
        default=None, description="95 % интервал по интегральным оценкам самих респондентов"
    )
    ci_high: float | None = None
    items: list[str] = Field(description="показатели, вошедшие в индекс")
    suppressed: bool


class TargetOut(BaseModel):
    code: str
    label: str
    baseline: float | None = Field(description="значение за прошлый год")
    target: float | None = Field(description="цель на год: прошлый год + шаг, если ниже порога")
    current: float | None = Field(description="значение с начала года")
    status: str = Field(
        description="met, on_track, behind, not_applicable, no_baseline, insufficient"
    )
    status_label: str


class DelayOut(BaseModel):
    median_hours: float | None
    p95_hours: float | None


class IndicatorsOut(BaseModel):
    unit: UnitOut
    period: PeriodOut
    methodology: str = Field(description="версия методики, по которой рассчитаны значения")
    aggregation: str = Field(
        description="pooled (по ответам) или unweighted (среднее значений организаций, как в 344н)"
    )
    min_n: int = Field(description="порог малых чисел")
    counts: CountsOut
    response_rate: float | None = Field(description="анкеты ÷ доставленные приглашения, %")
    coverage: float | None = Field(description="анкеты ÷ получатели услуг (разные люди), %")
    coverage_target: float = Field(description="цель охвата, %")
    timeliness: float | None = Field(description="доля записей, поступивших вовремя, %")
    invitation_delay: DelayOut
    items: list[ItemOut]
    integral: IntegralOut
    recommendation: ShareOut
    improvement_zone: list[str] = Field(description="показатели ниже порога (4,5 балла)")
    targets: list[TargetOut]
