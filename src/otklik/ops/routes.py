"""``/healthz`` (the process answers), ``/readyz`` (it can do its work) and ``/metrics``.

``/readyz`` answers 503 when the database does not answer (within a few seconds), its schema is
not at this release's migration head, no delivery channel is configured, or a queue's oldest due
item has waited longer than ``OTKLIK_READY_MAX_LAG_SECONDS``; the body says which check failed.
``/metrics`` is the Prometheus text format, for the addresses in ``OTKLIK_METRICS_ALLOW``
(default: this machine) or with ``Authorization: Bearer <OTKLIK_METRICS_TOKEN>``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otklik.config import Settings
from otklik.errors import Forbidden
from otklik.kit import metrics
from otklik.kit.proxy import in_networks
from otklik.ops import repository
from otklik.outreach.service import enabled_names

router = APIRouter(include_in_schema=False)
log = logging.getLogger("otklik.ops")
DB_TIMEOUT = 3.0


def _factory(request: Request) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return factory


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive (it says nothing about the database: see /readyz)."""
    return {"status": "ok"}


async def _database_checks(
    factory: async_sessionmaker[AsyncSession],
) -> tuple[str | None, list[repository.Queue]]:
    """The schema version, and the queues when the schema is this release's (else none)."""
    async with factory() as session:
        await repository.ping(session)
        version = await repository.schema_version(session)
        if version != repository.head_version():
            return version, []
        return version, await repository.queues(session)


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    checks: dict[str, Any] = {}
    ready = True
    try:
        version, queues = await asyncio.wait_for(
            _database_checks(_factory(request)), timeout=DB_TIMEOUT
        )
    except Exception as exc:  # any failure to reach or read the database: not ready
        log.warning("readiness: database unavailable (%s)", exc.__class__.__name__)
        checks["database"] = {"ok": False, "error": exc.__class__.__name__}
        return JSONResponse({"status": "unavailable", "checks": checks}, status_code=503)
    checks["database"] = {"ok": True}
    head = repository.head_version()
    at_head = version == head
    checks["migrations"] = {"ok": at_head, "current": version, "head": head}
    ready &= at_head
    channels = sorted(enabled_names(settings))
    checks["channels"] = {"ok": bool(channels), "enabled": channels}
    ready &= bool(channels)
    limit = settings.ready_max_lag_seconds
    lag = {q.name: {"depth": q.depth, "lag_seconds": round(q.age_seconds, 1)} for q in queues}
    # analysis of comments is not time-critical (answers are stored; only insights wait)
    late = [q.name for q in queues if q.name != "analysis" and q.age_seconds > limit]
    checks["queues"] = {"ok": not late, "max_lag_seconds": limit, "late": late, **lag}
    ready &= not late
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )


def _allowed(request: Request, settings: Settings) -> bool:
    if settings.metrics_token:
        sent = request.headers.get("authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {settings.metrics_token}".encode()):
            return True
    host = request.client.host if request.client else ""
    return in_networks(host, settings.metrics_networks)


@router.get("/metrics")
async def metrics_page(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if not _allowed(request, settings):
        raise Forbidden(
            "Метрики доступны только с адресов OTKLIK_METRICS_ALLOW или с токеном "
            "OTKLIK_METRICS_TOKEN."
        )
    from prometheus_client.core import GaugeMetricFamily

    up = GaugeMetricFamily("otklik_database_up", "1 when the database answered this scrape")
    depth = GaugeMetricFamily("otklik_queue_depth", "Items waiting in a queue", labels=["queue"])
    age = GaugeMetricFamily(
        "otklik_queue_oldest_age_seconds",
        "How long the oldest due item of a queue has waited",
        labels=["queue"],
    )
    deliveries = GaugeMetricFamily(
        "otklik_deliveries",
        "Messages by channel and status (all time)",
        labels=["channel", "status"],
    )
    families: list[Any] = [up]
    try:
        async with _factory(request)() as session:
            queues = await asyncio.wait_for(repository.queues(session), timeout=DB_TIMEOUT)
            by_channel = await asyncio.wait_for(
                repository.deliveries_by_channel(session), timeout=DB_TIMEOUT
            )
    except Exception as exc:
        log.warning("metrics: database unavailable (%s)", exc.__class__.__name__)
        up.add_metric([], 0)
    else:
        up.add_metric([], 1)
        for q in queues:
            depth.add_metric([q.name], q.depth)
            age.add_metric([q.name], q.age_seconds)
        for channel, status, n in by_channel:
            deliveries.add_metric([channel, status], n)
        families += [depth, age, deliveries]
    body, content_type = metrics.exposition(families)
    return Response(body, media_type=content_type)
