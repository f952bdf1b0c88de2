"""Effect API shape: the issue's fields plus n of answers, placebo, caveat and data date."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from otklik.effects.models import EffectAssessment


class EffectOut(BaseModel):
    id: int
    change_request_id: int | None
    title: str
    indicator: str
    direction: int
    released_on: date
    window_days: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n_treated: int
    n_control: int
    answers_treated: int
    answers_control: int
    pretrend_estimate: float | None
    pretrend_p: float | None
    method: str | None
    verdict: str
    reason: str
    caveat: str
    data_date: date | None
    computed_at: datetime | None

    @classmethod
    def of(cls, a: EffectAssessment) -> EffectOut:
        return cls.model_validate(a, from_attributes=True)
