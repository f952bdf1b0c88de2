"""Public pages: organizations, regions, search, open data; sitemap and robots. No sign-in."""

from __future__ import annotations

import re
from typing import Annotated, Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from otklik.errors import NotFound
from otklik.indicators.methodology import ITEM_LABELS
from otklik.indicators.tables import BIN_LABELS
from otklik.kit.clock import moscow_date
from otklik.kit.pagination import PageNo
from otklik.kit.web import ReadDB, render, settings_of
from otklik.opendata import repository, service
from otklik.opendata.api import BadOgrn
from otklik.opendata.service import BadRegion

router = APIRouter(include_in_schema=False)
PeriodQ = Annotated[str, Query(max_length=40)]
Text = Annotated[str, Query(max_length=200)]
Short = Annotated[str, Query(max_length=10)]
SEARCH_PER_PAGE = 20
RANKING_PER_PAGE = 50
_OGRN = re.compile(r"^\d{13}$|^\d{15}$", re.ASCII)
_REGION = re.compile(r"^\d{2}$", re.ASCII)


def _base(request: Request) -> str:
    return settings_of(request).base_url.rstrip("/")


def _canonical(request: Request, path: str) -> str:
    return _base(request) + path


@router.get("/opendata", response_class=HTMLResponse)
async def opendata(request: Request, session: ReadDB) -> Response:
    from otklik.indicators import service as ind

    m = await ind.methodology(session, None)
    first = await repository.first_answer_month(session)
    quarters = service.published_quarters(first, moscow_date())
    per_minute = settings_of(request).opendata_requests_per_minute
    return render(
        request,
        "opendata/opendata.html",
        d=service.dictionary(m, per_minute),
        quarters=quarters,
        canonical=_canonical(request, "/opendata"),
    )


@router.get("/o/{ogrn}", response_class=HTMLResponse)
async def organization(
    request: Request, session: ReadDB, ogrn: str, period: PeriodQ = ""
) -> Response:
    if not _OGRN.match(ogrn):
        raise BadOgrn()
    today = moscow_date()
    p = service.parse_quarter(period, today)
    page = await service.organization_page(session, ogrn, p, today)
    first = await repository.first_answer_month(session)
    return render(
        request,
        "opendata/organization.html",
        page=page,
        d=page.data,
        labels=ITEM_LABELS,
        quarters=service.published_quarters(first, today),
        canonical=_canonical(request, f"/o/{ogrn}" + (f"?period={p.text}" if period else "")),
    )


@router.get("/r", response_class=HTMLResponse)
async def regions(request: Request, session: ReadDB, period: PeriodQ = "") -> Response:
    today = moscow_date()
    p = service.parse_quarter(period, today)
    rows, m = await service.region_tiles(session, p, today)
    ranked = sorted(rows, key=lambda r: (r["pooled"] is None, -(r["pooled"] or 0), str(r["code"])))
    first = await repository.first_answer_month(session)
    return render(
        request,
        "opendata/regions.html",
        rows=rows,
        ranked=ranked,
        period=p,
        m=m,
        bands=BIN_LABELS,
        quarters=service.published_quarters(first, today),
        canonical=_canonical(request, "/r" + (f"?period={p.text}" if period else "")),
    )


@router.get("/r/{code}", response_class=HTMLResponse)
async def region(
    request: Request, session: ReadDB, code: str, period: PeriodQ = "", page: PageNo = 1
) -> Response:
    if not _REGION.match(code):
        raise BadRegion()
    found = await repository.region(session, code)
    if found is None:
        raise NotFound(f"Субъект РФ с кодом {code} не найден.", code="region_not_found")
    today = moscow_date()
    p = service.parse_quarter(period, today)
    rows, m = await service.region_tiles(session, p, today)
    mine = next((r for r in rows if r["code"] == code), None)
    table = await service.region_ranking(session, code, p, today, page, RANKING_PER_PAGE)
    first = await repository.first_answer_month(session)
    query = "&".join(
        x for x in (f"period={p.text}" if period else "", f"page={page}" if page > 1 else "") if x
    )
    return render(
        request,
        "opendata/region.html",
        region=found,
        mine=mine,
        rows=rows,
        table=table,
        period=p,
        m=m,
        bands=BIN_LABELS,
        quarters=service.published_quarters(first, today),
        offset=(page - 1) * RANKING_PER_PAGE,
        canonical=_canonical(request, f"/r/{code}" + (f"?{query}" if query else "")),
    )


@router.get("/search", response_class=HTMLResponse)
async def search(
    request: Request, session: ReadDB, q: Text = "", region: Short = "", page: PageNo = 1
) -> Response:
    q = q.strip()
    if region and not _REGION.match(region):
        raise BadRegion()
    rows: list[Any] = []
    total = 0
    if q or region:
        rows, total = await repository.search(
            session, q, region, SEARCH_PER_PAGE, (page - 1) * SEARCH_PER_PAGE
        )
    return render(
        request,
        "opendata/search.html",
        q=q,
        region=region,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // SEARCH_PER_PAGE)),
        regions=await repository.regions(session),
        canonical=_canonical(request, "/search"),
    )


@router.get("/sitemap.xml")
async def sitemap(request: Request, session: ReadDB) -> Response:
    base = _base(request)
    paths = ["/", "/opendata", "/r", "/search"]
    paths += [f"/r/{r.code}" for r in await repository.regions(session)]
    paths += [f"/o/{ogrn}" for ogrn in await repository.sitemap_ogrns(session)]
    body = "".join(f"<url><loc>{escape(base + p)}</loc></url>" for p in paths)
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{body}</urlset>\n"
    )
    return Response(
        xml, media_type="application/xml", headers={"Cache-Control": "public, max-age=3600"}
    )


@router.get("/robots.txt", response_class=PlainTextResponse)
async def robots(request: Request) -> Response:
    lines = [
        "User-agent: *",
        "Allow: /$",
        "Allow: /o/",
        "Allow: /r",
        "Allow: /search",
        "Allow: /opendata",
        "Allow: /api/open/",
        "Disallow: /s/",
        "Disallow: /cabinet",
        "Disallow: /api/v1/",
        "Disallow: /login",
        "Disallow: /demo",
        f"Sitemap: {_base(request)}/sitemap.xml",
    ]
    return PlainTextResponse(
        "\n".join(lines) + "\n", headers={"Cache-Control": "public, max-age=86400"}
    )
