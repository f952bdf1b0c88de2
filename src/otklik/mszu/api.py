"""МСЗУ API: application statistics from information systems, shares, list versions."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from otklik.errors import NotFound
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.indicators.periods import parse_period
from otklik.intake.api import ERRORS, _body, _limiter, _source
from otklik.intake.formats import parse_body
from otklik.intake.schemas import ErrorOut
from otklik.kit.web import DB, settings_of
from otklik.mszu import repository, shares
from otklik.mszu.schemas import ListVersionOut, SharesOut, StatisticIn, StatisticsOut
from otklik.mszu.statistics import ingest_statistics

router = APIRouter(prefix="/api/v1", tags=["mszu"])
VIEW_ROLES = (
    Role.coordinator,
    Role.analyst,
    Role.portal_operator,
    Role.subcommission_secretary,
    Role.wg_secretary,
    Role.admin,
    Role.regional_authority,
    Role.federal_authority,
    Role.participant,
)
Viewer = Annotated[User, Depends(require_roles(*VIEW_ROLES, api=True))]
BODY_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "maxItems": 10_000,
                    "items": {"$ref": "#/components/schemas/StatisticIn"},
                }
            },
            "application/x-ndjson": {
                "schema": {"type": "string", "description": "одна строка StatisticIn в строке"}
            },
        },
    }
}


@router.post(
    "/service-statistics",
    response_model=StatisticsOut,
    responses=ERRORS,
    openapi_extra=BODY_SCHEMA,
    summary="Принять статистику заявлений по услугам",
)
async def post_service_statistics(request: Request, session: DB) -> Response:
    """Up to 10 000 rows (JSON array or NDJSON); idempotent by (source, service, region,
    founder, month, channel), the founder being optional: the same value is a duplicate, another
    value replaces it (audited). A source states the founder on all rows of a (service, region,
    month), whatever the channel, or on none."""
    settings = settings_of(request)
    source = await _source(request, session)
    await _limiter(request).take(source.id)
    body = await _body(request, settings.intake_max_bytes)
    items = parse_body(body, request.headers.get("content-type", ""), settings.intake_max_records)
    result = await ingest_statistics(session, source.id, items)
    return Response(orjson.dumps(result.as_dict()), media_type="application/json")


@router.get(
    "/mszu/shares",
    response_model=SharesOut,
    responses={400: {"model": ErrorOut}, 401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
    summary="Доля МСЗУ в электронном виде и проактивно против траектории к 99 % в 2030 г.",
)
async def get_shares(
    session: DB,
    user: Viewer,
    unit: Annotated[str, Query(pattern="^(service|region|founder|country)$")] = "region",
    period: Annotated[str, Query(max_length=40)] = "",
) -> dict[str, Any]:
    p = parse_period(period or str(shares.statistics_year()))
    rows, source = await shares.shares(session, user, unit, p)
    return {
        "unit": unit,
        "period": p.text,
        "trajectory": source,
        "items": [
            {
                unit: r.code or None,
                "name": r.name,
                "applications": r.applications,
                "electronic_share": r.electronic_share,
                "proactive_share": r.proactive_share,
                "target_share": round(r.target, 4),
            }
            for r in rows
        ],
    }


@router.get(
    "/mszu/list/{number}",
    response_model=ListVersionOut,
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
    summary="Версия перечня МСЗУ",
)
async def get_list_version(session: DB, user: Viewer, number: int) -> dict[str, Any]:
    v = await repository.version(session, number)
    if v is None:
        raise NotFound(f"Версии перечня МСЗУ № {number} нет.")
    items = await repository.items_with_names(session, number)
    return {
        "number": v.number,
        "status": v.status,
        "protocol_number": v.protocol_number,
        "decision_date": v.decision_date.isoformat() if v.decision_date else None,
        "items": [{"service": c, "name": n, "mode": m} for c, n, _, m in items],
    }


def extend_openapi(schema: dict[str, Any]) -> None:
    row = StatisticIn.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.setdefault("components", {}).setdefault("schemas", {})["StatisticIn"] = row
