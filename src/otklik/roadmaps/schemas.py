"""Roadmap JSON shapes: what the API accepts and returns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

SubjectKind = Literal["service", "life_situation"]


class SubjectIn(BaseModel):
    kind: SubjectKind
    code: str = Field(min_length=1, max_length=100)


class MeasureIn(BaseModel):
    key: str = Field(min_length=1, max_length=40, description="reference for depends_on")
    title: str = Field(min_length=3, max_length=300)
    owner: str = Field(min_length=3, max_length=320, description="owner's e-mail (a participant)")
    planned_start: date
    planned_due: date
    weight: float = Field(default=1.0, gt=0, le=1000)
    depends_on: list[str] = Field(default_factory=list, max_length=50)
    change_requests: list[int] = Field(default_factory=list, max_length=50)


class RoadmapIn(BaseModel):
    title: str = Field(min_length=3, max_length=300)
    subject: SubjectIn
    scope: str | None = Field(
        default=None,
        max_length=80,
        description="where the roadmap sits: region:<код>, founder:<код>, organization:<ОГРН> "
        "or country; a participant's roadmap sits in the participant's own scope",
    )
    report_every_days: int = Field(default=14, ge=1, le=92)
    measures: list[MeasureIn] = Field(min_length=1, max_length=500)


class TransitionIn(BaseModel):
    to: str = Field(min_length=1, max_length=30)
    comment: str = Field(default="", max_length=4000)


class ReportIn(BaseModel):
    percent: int = Field(ge=0, le=100)
    text: str = Field(min_length=1, max_length=4000)
    problems: str = Field(default="", max_length=4000)
    forecast_due: date


class ReplanIn(BaseModel):
    planned_start: date
    planned_due: date
    comment: str = Field(min_length=1, max_length=4000)


class SubjectOut(BaseModel):
    kind: str
    code: str


class MeasureOut(BaseModel):
    id: int
    title: str
    owner: str
    planned_start: date
    planned_due: date
    baseline_start: date | None
    baseline_due: date | None
    forecast_due: date
    progress: int
    weight: float
    depends_on: list[int]
    change_requests: list[int]
    last_report_at: datetime | None
    report_overdue: bool
    risk: float | None = Field(description="probability (0-1) of missing planned_due")
    risk_reasons: list[str]


class EventOut(BaseModel):
    at: datetime
    actor: str
    kind: str
    measure_id: int | None
    from_state: str | None
    to_state: str | None
    comment: str


class RoadmapSummaryOut(BaseModel):
    id: int
    title: str
    state: str
    subject: SubjectOut
    owner: str
    measures: int
    due: date | None
    risk: float | None


class RoadmapOut(BaseModel):
    id: int
    title: str
    state: str
    subject: SubjectOut
    owner: str
    report_every_days: int
    risk: float | None = Field(
        description="the larger of the critical path's highest measure risk and the weighted "
        "mean risk of the unfinished measures (weights: the measures' weights)"
    )
    risk_reasons: list[str]
    critical_path: list[int]
    risk_computed_at: datetime | None
    measures: list[MeasureOut]
    timeline: list[EventOut]


class RoadmapPageOut(BaseModel):
    items: list[RoadmapSummaryOut]
    total: int


class StateOut(BaseModel):
    id: int
    state: str
