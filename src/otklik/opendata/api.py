"""Open data API: public, unauthenticated, rate-limited per client address, cacheable."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from otklik.db import transaction
from otklik.errors import DomainError
from otklik.indicators import service as ind
from otklik.intake.schemas import ErrorOut
from otklik.kit.clock import moscow_date
from otklik.kit.ratelimit import TokenBuckets, limits_of
from otklik.kit.replica import is_replica, replica_of
from otklik.kit.web import ReadDB, client_key, settings_of
from otklik.opendata import repository, service, store
from otklik.opendata.service import CACHE_CONTROL, LICENCE

PUBLIC: dict[str, Any] = {"security": [{}]}  # anonymous: no credentials
_OGRN = re.compile(r"^\d{13}$|^\d{15}$", re.ASCII)


def _too_many(retry: int) -> str:
    return (
        f"Слишком много запросов к открытым данным с вашего адреса. Повторите через {retry} с; "
        "файлы можно кешировать (ETag, If-None-Match)."
    )


async def rate_limited(request: Request) -> None:
    """One request from the client's address's bucket (429 with Retry-After when empty)."""
    state = request.app.state
    limiter: TokenBuckets | None = getattr(state, "opendata_limiter", None)
    if limiter is None:
        settings = settings_of(request)
        limiter = limits_of(state, settings).limiter(
            "opendata.address", settings.opendata_requests_per_minute, _too_many
        )
        state.opendata_limiter = limiter
    await limiter.take(client_key(request))


router = APIRouter(prefix="/api/open/v1", tags=["open data"], dependencies=[Depends(rate_limited)])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorOut,
        "description": "bad_quarter, bad_region, bad_ogrn, nul_character, out_of_range",
    },
    404: {
        "model": ErrorOut,
        "description": "quarter_not_published (квартал ещё не завершён), region_not_found, "
        "type_not_found, founder_not_found, organization_not_found",
    },
    429: {"model": ErrorOut, "description": "rate_limited (заголовок Retry-After, секунды)"},
}
PeriodQ = Annotated[
    str,
    Query(max_length=40, description="Квартал: 2026-Q3; без параметра — последний завершившийся"),
]
Code = Annotated[str, Query(max_length=60)]


def _matches(request: Request, tag: str) -> bool:
    sent = request.headers.get("if-none-match", "")
    return sent.strip() == "*" or tag in [t.strip().removeprefix("W/") for t in sent.split(",")]


def _headers(tag: str, version: str) -> dict[str, str]:
    return {
        "ETag": tag,
        "Cache-Control": CACHE_CONTROL,
        "Link": f'<{LICENCE["url"]}>; rel="license"',
        "X-Methodology-Version": version,
        "Access-Control-Allow-Origin": "*",
    }


def _json(request: Request, body: dict[str, Any], version: str) -> Response:
    data = json.dumps(body, ensure_ascii=False, sort_keys=True).encode()
    tag = '"' + hashlib.sha256(data).hexdigest()[:40] + '"'
    headers = _headers(tag, version)
    if _matches(request, tag):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="application/json", headers=headers)


TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


async def _file(
    request: Request,
    session: ReadDB,
    name: str,
    fmt: str,
    period: str,
    region: str = "",
    type_code: str = "",
    founder: str = "",
) -> Response:
    today = moscow_date()
    query = await service.prepare(session, name, period, today, region, type_code, founder)
    source = await service.source(session, query.period, query.m)
    tag = service.etag(source, query, fmt)
    headers = _headers(tag, query.m.version)
    if _matches(request, tag):
        return Response(status_code=304, headers=headers)
    factory = request.app.state.sessionmaker
    stored = await store.find(session, query, source)
    if stored is None:  # not built yet or stale: build it once (store.ensure), then stream it
        async with transaction(factory) as s:
            stored = await store.ensure(s, query.period, name, query.m, today)
        headers["ETag"] = service.etag(stored.source, query, fmt)
    elif (replica := replica_of(request)) is not None and is_replica(session):
        factory = replica.factory  # found on the replica: streamed from there too
    suffix = "".join(f"-{v}" for v in query.filters.values())
    filename = f"otklik-{name}-{query.period.text}{suffix}.{fmt}"
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    body = store.chunks(factory, stored, query, fmt, today)
    return StreamingResponse(body, media_type=TYPES[fmt], headers=headers)


Handler = Callable[..., Awaitable[Response]]


def _organizations(fmt: str) -> Handler:
    async def handler(
        request: Request,
        session: ReadDB,
        period: PeriodQ = "",
        region: Annotated[str, Query(max_length=10, description="Код субъекта РФ: 16")] = "",
        type: Annotated[str, Query(max_length=60, description="Код типа организации")] = "",
        founder: Annotated[str, Query(max_length=60, description="Код учредителя")] = "",
    ) -> Response:
        return await _file(request, session, "organizations", fmt, period, region, type, founder)

    return handler


def _aggregate(name: str, fmt: str) -> Handler:
    async def handler(request: Request, session: ReadDB, period: PeriodQ = "") -> Response:
        return await _file(request, session, name, fmt, period)

    return handler


for _fmt in ("csv", "json"):
    router.add_api_route(
        f"/organizations.{_fmt}",
        _organizations(_fmt),
        methods=["GET"],
        summary=f"Показатели организаций за квартал ({_fmt.upper()})",
        description="Все организации с анкетами за квартал; скрытые значения пусты "
        "(suppressed=true). Отбор: region, type, founder. Файл отдаётся потоком.",
        responses={
            **ERRORS,
            200: {"content": {TYPES[_fmt]: {}}},
            304: {"description": "Не изменился"},
        },
        response_class=Response,
        openapi_extra=PUBLIC,
        name=f"opendata_organizations_{_fmt}",
    )
    for _name, _ds in service.DATASETS.items():
        if _name == "organizations":
            continue
        router.add_api_route(
            f"/{_name}.{_fmt}",
            _aggregate(_name, _fmt),
            methods=["GET"],
            summary=f"{_ds.title} за квартал ({_fmt.upper()})",
            responses={
                **ERRORS,
                200: {"content": {TYPES[_fmt]: {}}},
                304: {"description": "Не изменился"},
            },
            response_class=Response,
            openapi_extra=PUBLIC,
            name=f"opendata_{_name}_{_fmt}",
        )


@router.get(
    "/dictionary",
    summary="Словарь данных: наборы, поля, лицензия, ограничения",
    responses={429: ERRORS[429], 304: {"description": "Не изменился"}},
    openapi_extra=PUBLIC,
    response_class=Response,
)
async def dictionary(request: Request, session: ReadDB) -> Response:
    m = await ind.methodology(session, None)
    per_minute = settings_of(request).opendata_requests_per_minute
    return _json(request, service.dictionary(m, per_minute), m.version)


@router.get(
    "/quarters",
    summary="Опубликованные кварталы (новые первыми)",
    responses={429: ERRORS[429], 304: {"description": "Не изменился"}},
    openapi_extra=PUBLIC,
    response_class=Response,
)
async def quarters(request: Request, session: ReadDB) -> Response:
    m = await ind.methodology(session, None)
    first = await repository.first_answer_month(session)
    found = service.published_quarters(first, moscow_date())
    body = {"quarters": [p.text for p in found], "methodology_version": m.version}
    return _json(request, body, m.version)


class BadOgrn(DomainError):
    status_code = 400
    code = "bad_ogrn"
    message = "ОГРН — 13 цифр (или 15 цифр ОГРНИП)."


@router.get(
    "/organizations/{ogrn}",
    summary="Показатели одной организации за квартал: баллы с интервалами, динамика, темы",
    responses={**ERRORS, 304: {"description": "Не изменился"}},
    openapi_extra=PUBLIC,
    response_class=JSONResponse,
)
async def organization(
    request: Request, session: ReadDB, ogrn: str, period: PeriodQ = ""
) -> Response:
    if not _OGRN.match(ogrn):
        raise BadOgrn()
    p = service.parse_quarter(period, moscow_date())
    page = await service.organization_page(session, ogrn, p, moscow_date())
    return _json(request, service.organization_json(page), page.data.methodology)
