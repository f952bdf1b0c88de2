"""Intake API: information systems post service records; quality figures for cabinets."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from otklik.errors import PayloadTooLarge, Unauthorized
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.intake import quality
from otklik.intake.formats import parse_body
from otklik.intake.messages import message
from otklik.intake.models import Source
from otklik.intake.schemas import ErrorOut, IngestOut, QualityOut, ServiceRecordIn
from otklik.intake.service import authenticate_source, ingest
from otklik.kit.openapi import SOURCE_SECURITY
from otklik.kit.pagination import PageParams
from otklik.kit.ratelimit import TokenBuckets, limits_of
from otklik.kit.web import DB, settings_of, vault_of

router = APIRouter(prefix="/api/v1", tags=["intake"])

QUALITY_ROLES = (Role.coordinator, Role.analyst, Role.admin, Role.is_operator)
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "invalid_json, not_a_list"},
    401: {"model": ErrorOut, "description": "unauthorized"},
    413: {"model": ErrorOut, "description": "too_many_records, payload_too_large"},
    415: {"model": ErrorOut, "description": "unsupported_media_type"},
    429: {"model": ErrorOut, "description": "rate_limited (заголовок Retry-After)"},
}
BODY_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "maxItems": 10_000,
                    "items": {"$ref": "#/components/schemas/ServiceRecordIn"},
                }
            },
            "application/x-ndjson": {
                "schema": {"type": "string", "description": "одна запись ServiceRecordIn в строке"}
            },
        },
    }
}


def _limiter(request: Request) -> TokenBuckets:
    limiter: TokenBuckets | None = getattr(request.app.state, "intake_limiter", None)
    if limiter is None:
        settings = settings_of(request)
        limiter = limits_of(request.app.state, settings).limiter(
            "intake.source",
            settings.intake_requests_per_minute,
            lambda retry: message("rate_limited", retry=retry),
        )
        request.app.state.intake_limiter = limiter
    return limiter


async def _source(request: Request, session: DB) -> Source:
    auth = request.headers.get("authorization", "")
    key = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    source = await authenticate_source(session, key) if key else None
    if source is None:
        raise Unauthorized(message("unauthorized"))
    return source


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed ``limit`` bytes."""
    too_large = PayloadTooLarge(message("payload_too_large", limit=limit))
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/service-records",
    response_model=IngestOut,
    responses=ERRORS,
    openapi_extra=BODY_SCHEMA | SOURCE_SECURITY,
    summary="Принять записи об оказанных услугах",
)
async def post_service_records(request: Request, session: DB) -> Response:
    """Up to 10 000 records as a JSON array or NDJSON; good records are kept, bad ones listed."""
    settings = settings_of(request)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.intake_max_bytes:
        raise PayloadTooLarge(message("payload_too_large", limit=settings.intake_max_bytes))
    source = await _source(request, session)
    await _limiter(request).take(source.id)
    body = await _body(request, settings.intake_max_bytes)
    items = parse_body(body, request.headers.get("content-type", ""), settings.intake_max_records)
    result = await ingest(
        session,
        source.id,
        items,
        vault=vault_of(request),
        retention_days=settings.retention_days,
        channel="api",
    )
    return Response(orjson.dumps(result.as_dict()), media_type="application/json")


@router.get(
    "/intake/quality",
    response_model=QualityOut,
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        404: {"model": ErrorOut, "description": "нет такого источника"},
        422: {"model": ErrorOut},
    },
    summary="Своевременность и качество передачи записей",
)
async def get_quality(
    session: DB,
    user: Annotated[User, Depends(require_roles(*QUALITY_ROLES, api=True))],
    days: Annotated[int, Query(ge=1, le=366, description="за сколько последних дней")] = 30,
    source: Annotated[str | None, Query(max_length=100, description="имя источника")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
    sort: Annotated[
        str,
        Query(max_length=20, description="records, within, median, p95, name; «-» — по убыванию"),
    ] = "within",
) -> QualityOut:
    params = PageParams.parse(page, per_page, sort, "")
    return await quality.build(session, user, days=days, source_name=source, params=params)


def extend_openapi(schema: dict[str, Any]) -> None:
    """Add the record schema the raw-body endpoint documents but FastAPI cannot see."""
    record = ServiceRecordIn.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(record.pop("$defs", {}))
    components["ServiceRecordIn"] = record
