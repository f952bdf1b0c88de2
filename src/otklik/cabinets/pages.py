"""Cabinet pages: an organization's indicators, the organizations and regions in scope."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from otklik.cabinets import exports, scope_page, service
from otklik.cabinets.repository import Filters
from otklik.cabinets.svg import line_chart
from otklik.errors import NotFound
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import INDICATOR_READERS, Role
from otklik.indicators import repository as ind_repo
from otklik.indicators import service as ind
from otklik.indicators.methodology import ITEM_LABELS
from otklik.indicators.periods import MONTHS, parse_period
from otklik.indicators.regional import PARTICIPATION_MIN
from otklik.indicators.stats import STATUS_LABELS
from otklik.kit.clock import moscow_date
from otklik.kit.pagination import PageNo
from otklik.kit.web import ReadDB, render
from otklik.outreach import funnel

router = APIRouter(prefix="/cabinet/indicators", include_in_schema=False)
AUTHORITY = (Role.regional_authority, Role.federal_authority)
COUNTRY = (Role.coordinator, Role.analyst, Role.wg_secretary, Role.admin)
CabinetUser = Annotated[User, Depends(require_roles(*INDICATOR_READERS))]
ListUser = Annotated[User, Depends(require_roles(*AUTHORITY, *COUNTRY))]
PeriodQ = Annotated[str, Query(max_length=40)]
Text = Annotated[str, Query(max_length=200)]
Short = Annotated[str, Query(max_length=60)]
Fmt = Literal["csv", "xlsx"]
TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _today() -> date:
    return moscow_date()


def _period(text: str) -> Any:
    return parse_period(text or str(_today().year))


@router.get("", response_class=HTMLResponse)
async def home(
    session: ReadDB, user: CabinetUser, period: PeriodQ = "", methodology: Short = ""
) -> Response:
    """Each role lands on its own cabinet, for the period (and methodology) asked for."""
    _period(period)  # a bad period is a 400 here, not on the page redirected to
    kept = urlencode({k: v for k, v in (("period", period), ("methodology", methodology)) if v})
    query = f"?{kept}" if kept else ""
    if user.role == Role.organization:
        ogrns = await ind_repo.organization_ogrns(session, [user.scope_organization_id or 0])
        if not ogrns:
            raise NotFound()
        return RedirectResponse(
            f"/cabinet/indicators/organization/{next(iter(ogrns.values()))}{query}", 303
        )
    if user.role in AUTHORITY:
        return RedirectResponse(f"/cabinet/indicators/organizations{query}", 303)
    return RedirectResponse(f"/cabinet/indicators/regions{query}", 303)


def _export(
    fmt: str,
    title: str,
    version: str,
    period: str,
    table: tuple[list[str], list[list[Any]]],
    name: str,
) -> Response:
    maker = exports.to_csv if fmt == "csv" else exports.to_xlsx
    body = maker(title, version, period, *table)
    return Response(
        body,
        media_type=TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}-{period}.{fmt}"'},
    )


@router.get("/organization/{ogrn}", response_class=HTMLResponse)
async def organization(
    request: Request,
    session: ReadDB,
    user: CabinetUser,
    ogrn: str,
    period: PeriodQ = "",
    methodology: Short = "",
    q: Text = "",
    score: Annotated[Literal["", "1", "2", "3", "4", "5"], Query()] = "",
    page: PageNo = 1,
    export: Literal["", "items", "trend"] = "",
    fmt: Fmt = "csv",
) -> Response:
    p = _period(period)
    m = await ind.methodology(session, methodology or None)
    dash = await service.organization_dashboard(
        session, user, ogrn, p, m, _today(), q=q, score=int(score) if score else None, page=page
    )
    if export == "items":
        return _export(
            fmt,
            f"Показатели: {dash.data.unit.name}",
            m.version,
            p.text,
            exports.organization_rows(dash.data),
            f"indicators-{ogrn}",
        )
    if export == "trend":
        return _export(
            fmt,
            f"Динамика по месяцам: {dash.data.unit.name}",
            m.version,
            p.text,
            exports.trend_rows(dash.trend),
            f"trend-{ogrn}",
        )
    report = (
        # the page's period by service date: its last stage is the questionnaires about the
        # period's services shown beside it (issue 16)
        await funnel.build(session, user, group="all", start=p.start, end=p.end)
        if user.role == Role.organization
        else None
    )
    return render(
        request,
        "cabinets/organization.html",
        d=dash.data,
        dash=dash,
        group=dash.group,
        period=p,
        m=m,
        labels=ITEM_LABELS,
        funnel=report,
        q=q,
        score=int(score) if score else None,
        page=page,
        comment_pages=max(1, -(-dash.comments_total // service.COMMENTS_PER_PAGE)),
        chart=line_chart(dash.trend, ("integral", "overall")),
    )


@router.get("/organizations", response_class=HTMLResponse)
async def organizations(
    request: Request,
    session: ReadDB,
    user: ListUser,
    period: PeriodQ = "",
    methodology: Short = "",
    q: Text = "",
    type: Short = "",
    region: Short = "",
    status: Literal["", "below", "behind"] = "",
    sort: Short = "-shrunk",
    page: PageNo = 1,
    export: Literal["", "table", "distribution"] = "",
    fmt: Fmt = "csv",
) -> Response:
    p = _period(period)
    m = await ind.methodology(session, methodology or None)
    f = Filters(q=q, type_code=type, region_code=region, status=status)
    today = _today()
    if export == "table":
        full = await service.organization_table(session, user, p, m, today, f, sort, 1, 100_000)
        return _export(
            fmt, "Организации", m.version, p.text, exports.table_rows(full.rows), "organizations"
        )
    if export == "distribution":
        dist = await service.distribution(session, user, p, m, today)
        return _export(
            fmt,
            "Распределение по интегральному индексу",
            m.version,
            p.text,
            (["Интервал", "Организаций"], [list(x) for x in dist]),
            "distribution",
        )
    table = await service.organization_table(session, user, p, m, today, f, sort, page)
    dist = table.bands or await service.distribution(session, user, p, m, today)
    types, regions = await service.filter_options(session, user)
    return render(
        request,
        "cabinets/organizations.html",
        table=table,
        dist=dist,
        top=max((n for _, n in dist), default=0),
        period=p,
        m=m,
        f=f,
        sort=sort,
        types=types,
        regions=regions,
        statuses=STATUS_LABELS,
    )


@router.get("/regions", response_class=HTMLResponse)
async def regions(
    request: Request,
    session: ReadDB,
    user: ListUser,
    period: PeriodQ = "",
    methodology: Short = "",
    export: Literal["", "table"] = "",
    fmt: Fmt = "csv",
) -> Response:
    if user.role in AUTHORITY:  # an authority's own region or founder, never the list
        return await _own_scope(session, user, period, methodology)
    p = _period(period)
    m = await ind.methodology(session, methodology or None)
    rows = await service.regions(session, user, p, m, _today())
    if export == "table":
        return _export(fmt, "Субъекты РФ", m.version, p.text, exports.region_rows(rows), "regions")
    for r in rows:
        r["band"] = service.band(r["pooled"])
    return render(
        request, "cabinets/regions.html", rows=rows, period=p, m=m, bands=service.BIN_LABELS
    )


# --- the page of a region or a founder as a whole (issue 16) ---

RegionUser = Annotated[User, Depends(require_roles(Role.regional_authority, *COUNTRY))]
FounderUser = Annotated[User, Depends(require_roles(Role.federal_authority, *COUNTRY))]
ScopeExport = Literal["", "table", "participation", "rates", "distribution", "trend"]


async def _own_scope(session: ReadDB, user: User, period: str, methodology: str) -> Response:
    kept = urlencode({k: v for k, v in (("period", period), ("methodology", methodology)) if v})
    query = f"?{kept}" if kept else ""
    if user.role == Role.regional_authority and user.scope_region_code:
        return RedirectResponse(f"/cabinet/indicators/region/{user.scope_region_code}{query}", 303)
    code = await ind_repo.founder_code(session, user.scope_founder_id or 0)
    if code is None:
        raise NotFound()
    return RedirectResponse(f"/cabinet/indicators/founder/{code}{query}", 303)


async def _scope_page(
    request: Request,
    session: ReadDB,
    user: User,
    kind: str,
    key: str,
    period: str,
    methodology: str,
    sort: str,
    page: int,
    export: str,
    fmt: str,
) -> Response:
    unit = await scope_page.unit_scope(session, user, kind, key)
    p = _period(period)
    m = await ind.methodology(session, methodology or None)
    per_page = 100_000 if export == "table" else scope_page.PER_PAGE
    data = await scope_page.build(
        session, user, unit, p, m, _today(), sort, 1 if export else page, per_page
    )
    name = f"{kind}-{key}"
    tables_ = {
        "table": ("Организации", exports.scope_table_rows(data.table.rows)),
        "participation": (
            "Участие организаций (постановление 882)",
            exports.participation_rows(data.participation),
        ),
        "rates": ("Доля ответов по типам организаций", exports.rate_rows(data.rates)),
        "distribution": (
            "Распределение по интегральному индексу",
            (["Интервал", "Организаций"], [list(x) for x in data.bands]),
        ),
        "trend": ("Динамика по месяцам", exports.trend_rows(data.trend)),
    }
    if export:
        title, table = tables_[export]
        return _export(fmt, f"{title}: {unit.name}", m.version, p.text, table, f"{export}-{name}")
    return render(
        request,
        "cabinets/region.html",
        s=data,
        d=data.figures,
        period=p,
        m=m,
        sort=sort if sort in scope_page.SORTS else "shrunk",
        kind=kind,
        minimum=PARTICIPATION_MIN,
        months=MONTHS,
    )


@router.get("/region/{code}", response_class=HTMLResponse)
async def region_page(
    request: Request,
    session: ReadDB,
    user: RegionUser,
    code: Annotated[str, Path(max_length=10)],
    period: PeriodQ = "",
    methodology: Short = "",
    sort: Short = "shrunk",
    page: PageNo = 1,
    export: ScopeExport = "",
    fmt: Fmt = "xlsx",
) -> Response:
    """A region as a whole: its figures, organizations, types, problems and participation."""
    return await _scope_page(
        request, session, user, "region", code, period, methodology, sort, page, export, fmt
    )


@router.get("/founder/{code}", response_class=HTMLResponse)
async def founder_page(
    request: Request,
    session: ReadDB,
    user: FounderUser,
    code: Annotated[str, Path(max_length=60)],
    period: PeriodQ = "",
    methodology: Short = "",
    sort: Short = "shrunk",
    page: PageNo = 1,
    export: ScopeExport = "",
    fmt: Fmt = "xlsx",
) -> Response:
    """A founder's organizations as a whole (the same page as a region's)."""
    return await _scope_page(
        request, session, user, "founder", code, period, methodology, sort, page, export, fmt
    )
