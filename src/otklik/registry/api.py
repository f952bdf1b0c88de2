"""Registry JSON endpoints (authenticated; organizations are scoped)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from otklik.errors import NotFound
from otklik.identity.deps import ApiUser, api_user, scope_of
from otklik.kit.pagination import Page, PageParams
from otklik.kit.web import DB
from otklik.registry import repository
from otklik.registry.schemas import (
    FounderOut,
    LifeSituationDetailOut,
    LifeSituationOut,
    OrganizationDetailOut,
    OrganizationOut,
    OrganizationTypeOut,
    PageOut,
    RegionOut,
    ServiceDetailOut,
    ServiceOut,
)

router = APIRouter(prefix="/api/v1", tags=["registry"], dependencies=[Depends(api_user)])
M = TypeVar("M", bound=BaseModel)


def page_params(
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
    sort: Annotated[str, Query(max_length=40)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
) -> PageParams:
    return PageParams.parse(page, per_page, sort, q)


Params = Annotated[PageParams, Depends(page_params)]


def _out(page: Page[Any], model: type[M], convert: Callable[[Any], M] | None = None) -> PageOut[M]:
    items = [convert(i) if convert else model.model_validate(i) for i in page.items]
    return PageOut[M](
        items=items,
        total=page.total,
        page=page.params.page,
        per_page=page.params.per_page,
        pages=page.pages,
    )


@router.get("/regions", response_model=PageOut[RegionOut])
async def regions(session: DB, params: Params) -> PageOut[RegionOut]:
    return _out(await repository.list_regions(session, params), RegionOut)


@router.get("/regions/{code}", response_model=RegionOut, responses={404: {}})
async def region(session: DB, code: str) -> RegionOut:
    item = await repository.get_region(session, code)
    if item is None:
        raise NotFound("Субъект РФ не найден.")
    return RegionOut.model_validate(item)


@router.get("/founders", response_model=PageOut[FounderOut])
async def founders(
    session: DB,
    params: Params,
    kind: Annotated[str, Query(pattern="^(|federal|regional)$")] = "",
    region: Annotated[str, Query(max_length=2)] = "",
) -> PageOut[FounderOut]:
    result = await repository.list_founders(session, params, kind=kind, region_code=region)
    return _out(result, FounderOut)


@router.get("/founders/{code}", response_model=FounderOut, responses={404: {}})
async def founder(session: DB, code: str) -> FounderOut:
    item = await repository.get_founder(session, code)
    if item is None:
        raise NotFound("Учредитель не найден.")
    return FounderOut.model_validate(item)


@router.get("/organization-types", response_model=list[OrganizationTypeOut])
async def organization_types(session: DB) -> list[OrganizationTypeOut]:
    return [OrganizationTypeOut.model_validate(t) for t in await repository.list_types(session)]


@router.get("/organizations", response_model=PageOut[OrganizationOut])
async def organizations(
    session: DB,
    user: ApiUser,
    params: Params,
    region: Annotated[str, Query(max_length=2)] = "",
    type: Annotated[str, Query(max_length=60)] = "",
    founder: Annotated[str, Query(max_length=60)] = "",
) -> PageOut[OrganizationOut]:
    result = await repository.list_organizations(
        session, scope_of(user), params, region_code=region, type_code=type, founder_code=founder
    )
    return _out(result, OrganizationOut)


@router.get("/organizations/{ogrn}", response_model=OrganizationDetailOut, responses={404: {}})
async def organization(session: DB, user: ApiUser, ogrn: str) -> OrganizationDetailOut:
    item = await repository.get_organization(session, scope_of(user), ogrn)
    if item is None:
        raise NotFound("Организация не найдена.")
    return OrganizationDetailOut.model_validate(item)


@router.get("/services", response_model=PageOut[ServiceOut])
async def services(
    session: DB,
    params: Params,
    sector: Annotated[str, Query(max_length=20)] = "",
    mszu: bool | None = None,
) -> PageOut[ServiceOut]:
    return _out(
        await repository.list_services(session, params, sector=sector, mszu=mszu), ServiceOut
    )


@router.get("/services/{code}", response_model=ServiceDetailOut, responses={404: {}})
async def service(session: DB, code: str) -> ServiceDetailOut:
    item = await repository.get_service(session, code)
    if item is None:
        raise NotFound("Услуга не найдена.")
    types = [t.code for t in await repository.service_types(session, code)]
    return ServiceDetailOut(
        **ServiceOut.model_validate(item).model_dump(), organization_types=types
    )


@router.get("/life-situations", response_model=PageOut[LifeSituationOut])
async def life_situations(session: DB, params: Params) -> PageOut[LifeSituationOut]:
    return _out(await repository.list_life_situations(session, params), LifeSituationOut)


@router.get("/life-situations/{code}", response_model=LifeSituationDetailOut, responses={404: {}})
async def life_situation(session: DB, code: str) -> LifeSituationDetailOut:
    item = await repository.get_life_situation(session, code)
    if item is None:
        raise NotFound("Жизненная ситуация не найдена.")
    items = [
        ServiceOut.model_validate(s)
        for s in await repository.life_situation_services(session, code)
    ]
    return LifeSituationDetailOut(
        **LifeSituationOut.model_validate(item).model_dump(), services=items
    )
