"""Registry pages: lists with search, sorting and pagination; detail pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from otklik.errors import NotFound
from otklik.identity.deps import PageUser, scope_of
from otklik.kit.pagination import PageNo, PageParams
from otklik.kit.web import DB, render
from otklik.registry import repository

router = APIRouter(prefix="/registry", include_in_schema=False)

Text = Annotated[str, Query(max_length=200)]
Short = Annotated[str, Query(max_length=60)]


def _params(page: int, sort: str, q: str) -> PageParams:
    return PageParams.parse(page, 50, sort, q)


@router.get("", response_class=HTMLResponse)
async def index(request: Request, user: PageUser) -> Response:
    return render(request, "registry/index.html")


@router.get("/regions", response_class=HTMLResponse)
async def regions(
    request: Request, session: DB, user: PageUser, page: PageNo = 1, sort: Short = "", q: Text = ""
) -> Response:
    result = await repository.list_regions(session, _params(page, sort, q))
    counts = await repository.count_organizations_by(session, scope_of(user), "region")
    return render(request, "registry/regions.html", page=result, counts=counts)


@router.get("/regions/{code}", response_class=HTMLResponse)
async def region(request: Request, session: DB, user: PageUser, code: str) -> Response:
    item = await repository.get_region(session, code)
    if item is None:
        raise NotFound("Субъект РФ не найден.")
    founders = await repository.list_founders(session, PageParams(per_page=50), region_code=code)
    count = (await repository.count_organizations_by(session, scope_of(user), "region")).get(
        code, 0
    )
    return render(
        request, "registry/region.html", region=item, founders=founders.items, count=count
    )


@router.get("/founders", response_class=HTMLResponse)
async def founders(
    request: Request,
    session: DB,
    user: PageUser,
    page: PageNo = 1,
    sort: Short = "",
    q: Text = "",
    kind: Short = "",
) -> Response:
    kind = kind if kind in ("federal", "regional") else ""
    result = await repository.list_founders(session, _params(page, sort, q), kind=kind)
    return render(request, "registry/founders.html", page=result, kind=kind)


@router.get("/founders/{code}", response_class=HTMLResponse)
async def founder(request: Request, session: DB, user: PageUser, code: str) -> Response:
    item = await repository.get_founder(session, code)
    if item is None:
        raise NotFound("Учредитель не найден.")
    orgs = await repository.list_organizations(
        session, scope_of(user), PageParams(per_page=20), founder_code=code
    )
    return render(request, "registry/founder.html", founder=item, orgs=orgs)


@router.get("/types", response_class=HTMLResponse)
async def types(request: Request, session: DB, user: PageUser) -> Response:
    items = await repository.list_types(session)
    counts = await repository.count_organizations_by(session, scope_of(user), "type")
    return render(request, "registry/types.html", types=items, counts=counts)


@router.get("/types/{code}", response_class=HTMLResponse)
async def type_detail(request: Request, session: DB, user: PageUser, code: str) -> Response:
    item = await repository.get_type(session, code)
    if item is None:
        raise NotFound("Тип организации не найден.")
    services = await repository.list_services(session, PageParams(per_page=200), sector=item.sector)
    count = (await repository.count_organizations_by(session, scope_of(user), "type")).get(code, 0)
    return render(request, "registry/type.html", type=item, services=services.items, count=count)


@router.get("/organizations", response_class=HTMLResponse)
async def organizations(
    request: Request,
    session: DB,
    user: PageUser,
    page: PageNo = 1,
    sort: Short = "",
    q: Text = "",
    region: Short = "",
    type: Short = "",
) -> Response:
    result = await repository.list_organizations(
        session, scope_of(user), _params(page, sort, q), region_code=region, type_code=type
    )
    return render(
        request,
        "registry/organizations.html",
        page=result,
        region=region,
        type=type,
        regions=await repository.all_regions(session),
        types=await repository.list_types(session),
    )


@router.get("/organizations/{ogrn}", response_class=HTMLResponse)
async def organization(request: Request, session: DB, user: PageUser, ogrn: str) -> Response:
    item = await repository.get_organization(session, scope_of(user), ogrn)
    if item is None:
        raise NotFound("Организация не найдена.")
    return render(request, "registry/organization.html", org=item)


@router.get("/services", response_class=HTMLResponse)
async def services(
    request: Request,
    session: DB,
    user: PageUser,
    page: PageNo = 1,
    sort: Short = "",
    q: Text = "",
    sector: Short = "",
) -> Response:
    result = await repository.list_services(session, _params(page, sort, q), sector=sector)
    return render(request, "registry/services.html", page=result, sector=sector)


@router.get("/services/{code}", response_class=HTMLResponse)
async def service(request: Request, session: DB, user: PageUser, code: str) -> Response:
    item = await repository.get_service(session, code)
    if item is None:
        raise NotFound("Услуга не найдена.")
    types = await repository.service_types(session, code)
    return render(request, "registry/service.html", service=item, types=types)


@router.get("/life-situations", response_class=HTMLResponse)
async def life_situations(
    request: Request, session: DB, user: PageUser, page: PageNo = 1, sort: Short = "", q: Text = ""
) -> Response:
    result = await repository.list_life_situations(session, _params(page, sort, q))
    return render(request, "registry/life_situations.html", page=result)


@router.get("/life-situations/{code}", response_class=HTMLResponse)
async def life_situation(request: Request, session: DB, user: PageUser, code: str) -> Response:
    item = await repository.get_life_situation(session, code)
    if item is None:
        raise NotFound("Жизненная ситуация не найдена.")
    services = await repository.life_situation_services(session, code)
    return render(request, "registry/life_situation.html", situation=item, services=services)
