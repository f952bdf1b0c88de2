"""Shapes of the МСЗУ API for the OpenAPI schema."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class StatisticIn(BaseModel):
    """One row: applications of a service in a region and month through one channel."""

    model_config = ConfigDict(extra="forbid")

    service_code: str = Field(examples=["health.appointment_online"])
    region_code: str = Field(examples=["16"], description="двузначный код субъекта РФ")
    founder_code: str | None = Field(
        default=None,
        max_length=60,
        examples=["r16-health"],
        description="необязательно: код учредителя организаций, принявших заявления (из реестра); "
        "входит в ключ идемпотентности; без него заявления попадают в строку «учредитель не "
        "указан». Для одних услуги, субъекта и месяца источник указывает учредителя во всех "
        "строках (всех каналов) или ни в одной",
    )
    month: str = Field(examples=["2026-10"], description="ГГГГ-ММ, закончившийся месяц")
    channel: Literal["portal", "proactive", "in_person", "other"]
    applications: int = Field(ge=0, description="число заявлений")


class StatisticErrorOut(BaseModel):
    index: int = Field(description="номер строки в запросе, с нуля")
    field: str
    code: str
    message: str


class StatisticsOut(BaseModel):
    accepted: int = Field(description="новые строки")
    replaced: int = Field(description="строки, заменившие прежнее значение (старое — в журнале)")
    duplicates: int = Field(description="строки с тем же значением, что уже хранится")
    rejected: int
    errors: list[StatisticErrorOut]


class ShareOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # plus the unit's key: "service", "region"...

    name: str
    applications: int
    electronic_share: float | None
    proactive_share: float | None
    target_share: float


class SharesOut(BaseModel):
    unit: str
    period: str
    trajectory: str
    items: list[ShareOut]


class ListItemOut(BaseModel):
    service: str
    name: str
    mode: str


class ListVersionOut(BaseModel):
    number: int
    status: str
    protocol_number: str | None
    decision_date: str | None
    items: list[ListItemOut]
