"""JSON shapes of the change-request API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SubjectOut(BaseModel):
    kind: str = Field(description="service или life_situation")
    code: str


class HypothesisIO(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    indicator: str = Field(max_length=60, description="код показателя, например overall")
    unit: str = Field(default="", max_length=40, description="единица: балл, доля, дней")
    from_: float = Field(alias="from", description="исходное значение")
    to: float = Field(description="ожидаемое значение")
    by: date = Field(description="к какой дате")


class EvidenceIO(BaseModel):
    kind: str = Field(max_length=30)
    ref: str = Field(max_length=200)


class EvidenceOut(EvidenceIO):
    snapshot: dict[str, Any] = Field(default_factory=dict)


class ChangeRequestOut(BaseModel):
    id: int
    title: str
    state: str
    outcome: str | None = None
    subject: SubjectOut
    owner: str
    hypothesis: HypothesisIO | None
    evidence: list[EvidenceOut]
    planned_release: date | None
    version: int


class ChangeRequestList(BaseModel):
    items: list[ChangeRequestOut]
    total: int


class EventOut(BaseModel):
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str | None
    comment: str


class ChangeRequestDetail(ChangeRequestOut):
    problem: str
    change: dict[str, Any]
    timeline: list[EventOut]


class ChangeRequestIn(BaseModel):
    subject_kind: str = Field(max_length=20)
    subject_code: str = Field(max_length=100)
    title: str = Field(min_length=1, max_length=300)
    problem: str = Field(min_length=1, max_length=20000)
    evidence: list[EvidenceIO] = Field(default_factory=list, max_length=50)
    hypothesis: HypothesisIO | None = None
    change: dict[str, Any] = Field(default_factory=dict)
    planned_release: date | None = None
    organization_id: int | None = None
    region_code: str | None = Field(default=None, max_length=2)


class TransitionIn(BaseModel):
    to: str = Field(max_length=40)
    comment: str = Field(default="", max_length=4000)
    outcome: str | None = Field(default=None, description="для closed: confirmed, ...")
    version: int | None = Field(default=None, description="ожидаемая версия (защита от гонок)")
