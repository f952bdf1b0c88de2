"""Shapes of the intake API, for the OpenAPI schema (the handler validates records itself)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    snils: str = Field(
        description="СНИЛС, 11 цифр, с разделителями или без", examples=["112-233-445 95"]
    )
    birth_date: date
    portal_account_confirmed: bool = False
    email: str | None = None
    phone: str | None = Field(default=None, examples=["+79001234567"])


class RepresentativeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    snils: str
    relation: Literal["parent", "adoptive_parent", "guardian", "trustee", "other"]
    portal_account_confirmed: bool = False
    email: str | None = None
    phone: str | None = None


class ServiceRecordIn(BaseModel):
    """One service a citizen received (unknown fields are rejected with ``unknown_field``)."""

    model_config = ConfigDict(extra="forbid")

    record_id: str = Field(max_length=100, examples=["MIS-77-000123"])
    organization_ogrn: str = Field(examples=["1027700132195"])
    service_code: str = Field(examples=["health.outpatient_visit"])
    served_at: datetime = Field(description="ISO 8601 с часовым поясом")
    recipient: PersonIn
    representatives: list[RepresentativeIn] = Field(
        default_factory=list, max_length=5, description="обязательно для получателя младше 18 лет"
    )
    life_situation_code: str | None = None


class RecordErrorOut(BaseModel):
    index: int = Field(description="номер записи в запросе, с нуля")
    record_id: str | None
    field: str = Field(description="путь к полю, например recipient.snils; пусто — вся запись")
    code: str
    message: str


class IngestOut(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    errors: list[RecordErrorOut]


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail


class SourceQualityOut(BaseModel):
    source: str
    records: int
    within_3_days: float | None = Field(description="доля записей, полученных не позже 3 дней")
    median_delay_hours: float | None
    p95_delay_hours: float | None
    duplicates: int
    rejected: int


class OrganizationQualityOut(BaseModel):
    ogrn: str
    name: str
    records: int
    within_3_days: float | None
    median_delay_hours: float | None
    p95_delay_hours: float | None
    rejected: int = Field(description="отклонённые записи с ОГРН этой организации")
    rejections: dict[str, int] = Field(description="отклонённые по кодам ошибок")


class RejectionOut(BaseModel):
    code: str
    message: str
    count: int


class DayVolumeOut(BaseModel):
    day: date
    accepted: int
    duplicates: int
    rejected: int


class QualityOut(BaseModel):
    date_from: date
    date_to: date
    sources: list[SourceQualityOut]
    organizations_total: int
    organizations_sort: str
    organizations: list[OrganizationQualityOut]
    rejections: list[RejectionOut]
    days: list[DayVolumeOut]
