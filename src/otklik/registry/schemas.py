"""JSON shapes of the registry."""

from __future__ import annotations

from datetime import date
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int
    pages: int


class RegionOut(Out):
    code: str
    okato: str | None
    name: str
    federal_district: str
    timezone: str


class FounderOut(Out):
    code: str
    kind: str
    short_name: str
    name: str
    sector: str | None
    region_code: str | None


class OrganizationTypeOut(Out):
    code: str
    name: str
    sector: str


class OrganizationOut(Out):
    ogrn: str
    inn: str
    full_name: str
    short_name: str
    type_code: str
    region_code: str
    address: str
    participates_from: date | None
    participates_to: date | None


class OrganizationDetailOut(OrganizationOut):
    founder: FounderOut


class ServiceOut(Out):
    code: str
    name: str
    sector: str
    is_mszu: bool
    online: bool
    proactive: bool


class ServiceDetailOut(ServiceOut):
    organization_types: list[str]


class LifeSituationOut(Out):
    code: str
    name: str
    description: str


class LifeSituationDetailOut(LifeSituationOut):
    services: list[ServiceOut]
