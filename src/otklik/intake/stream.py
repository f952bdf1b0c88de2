"""Intake from NATS JetStream: at-least-once delivery made exactly-once by ``record_id``.

Messages are stored, committed, and only then acknowledged. A crash between the commit and the
acknowledgement redelivers them; they come back as duplicates and no second invitation is made.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from nats.aio.client import Client as NATS
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import ConsumerConfig, StreamConfig
from nats.js.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otklik.db import transaction
from otklik.intake import repository
from otklik.intake.service import INVALID_LINE, IngestResult, ingest
from otklik.kit.pii import PiiVault

log = logging.getLogger(__name__)
STREAM = "OTKLIK_INTAKE"
SUBJECTS = "otklik.intake.>"
SEVEN_DAYS = 7 * 24 * 3600.0


def subject_for(source_name: str) -> str:
    return f"otklik.intake.{source_name}"


def durable_for(source_name: str) -> str:
    return "otklik-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in source_name)


async def ensure_stream(nc: NATS) -> None:
    js = nc.jetstream()
    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(StreamConfig(name=STREAM, subjects=[SUBJECTS], max_age=SEVEN_DAYS))


def _load(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return INVALID_LINE


async def consume(
    nc: NATS,
    factory: async_sessionmaker[AsyncSession],
    *,
    vault: PiiVault,
    retention_days: int,
    source_name: str,
    batch: int = 1000,
    idle_rounds: int | None = None,
) -> IngestResult:
    """Pull, store and acknowledge until stopped (or after ``idle_rounds`` empty fetches)."""
    async with transaction(factory) as session:
        source = await repository.get_source_by_name(session, source_name)
        if source is None or not source.is_active:
            raise LookupError(f"source {source_name!r} is unknown or disabled")
        source_id = source.id
    await ensure_stream(nc)
    js = nc.jetstream()
    sub = await js.pull_subscribe(
        subject_for(source_name),
        durable=durable_for(source_name),
        stream=STREAM,
        config=ConsumerConfig(ack_wait=30.0, max_ack_pending=batch * 4),
    )
    total = IngestResult()
    idle = 0
    while idle_rounds is None or idle < idle_rounds:
        try:
            msgs = await sub.fetch(batch, timeout=1.0)
        except NatsTimeout:
            idle += 1
            continue
        idle = 0
        async with transaction(factory) as session:
            result = await ingest(
                session,
                source_id,
                [_load(m.data) for m in msgs],
                vault=vault,
                retention_days=retention_days,
                channel="stream",
            )
        # committed: now the messages may go
        await asyncio.gather(*(m.ack() for m in msgs))
        for e in result.errors:
            payload = {
                "record_id": e.record_id,
                "field": e.field,
                "code": e.code,
                "message": e.message,
            }
            await nc.publish(f"otklik.intake.errors.{source_name}", orjson.dumps(payload))
        log.info(
            "stream batch: %d accepted, %d duplicates, %d rejected",
            result.accepted,
            result.duplicates,
            result.rejected,
        )
        total.accepted += result.accepted
        total.duplicates += result.duplicates
        total.rejected += result.rejected
    await sub.unsubscribe()
    return total
