"""Intake from NATS JetStream: at-least-once delivery made exactly-once by ``record_id``.

Messages are stored, committed, and only then acknowledged. A crash between the commit and the
acknowledgement redelivers them; they come back as duplicates and no second invitation is made.
A rejected message is counted once too: its stream sequence is marked in the same transaction
(``intake_stream_rejections``), and a redelivered one is reported again but not counted again.

Any number of consumer processes, on any hosts, may share a source's durable consumer: each
message goes to one of them at a time, and should two hold the same record (a redelivery after
``ack_wait`` while the first is still at work, or the same record published twice), the unique
``record_id`` and the rejection mark make one of them wait for the other and find it done.
A batch is stored in ``record_id`` order, so two batches never lock each other's rows in
opposite orders; a deadlock or serialization failure all the same retries the batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

import orjson
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otklik.db import transaction
from otklik.intake import repository
from otklik.intake.service import INVALID_LINE, IngestResult, ingest
from otklik.kit.pii import PiiVault

log = logging.getLogger(__name__)
STREAM = "OTKLIK_INTAKE"
SUBJECTS = "otklik.intake.>"
SEVEN_DAYS = 7 * 24 * 3600.0
ACK_WAIT = 30.0
RETRIES = 5
TOP_UP_SECONDS = 0.05  # how long a short batch waits for more messages
# deadlock_detected, serialization_failure: the batch is tried again
TRANSIENT = {"40P01", "40001"}


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
    subject, durable = subject_for(source_name), durable_for(source_name)
    config = ConsumerConfig(ack_wait=ACK_WAIT, max_ack_pending=batch * 16)
    try:
        sub = await js.pull_subscribe(subject, durable=durable, stream=STREAM, config=config)
    except BadRequestError:
        # another consumer process created the durable consumer at the same moment: share it
        sub = await js.pull_subscribe_bind(durable=durable, stream=STREAM)
    total = IngestResult()
    idle = 0
    while idle_rounds is None or idle < idle_rounds:
        try:
            msgs = await sub.fetch(batch, timeout=1.0)
        except TimeoutError:  # nats.errors.TimeoutError, or a bare one from nats-py's fetch
            idle += 1
            continue
        idle = 0
        msgs += await _top_up(sub, batch - len(msgs))
        result = await store_batch(factory, source_id, msgs, vault, retention_days)
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


async def _top_up(sub: Any, wanted: int) -> list[Msg]:
    """More messages for a short batch: a fetch returns what the server had at hand (a few
    dozen while a producer publishes), and each batch is a transaction of its own."""
    more: list[Msg] = []
    deadline = time.monotonic() + TOP_UP_SECONDS
    while len(more) < wanted and (left := deadline - time.monotonic()) > 0.005:
        try:
            more += await sub.fetch(wanted - len(more), timeout=left)
        except TimeoutError:  # nats.errors.TimeoutError, or a bare one from nats-py's fetch
            break
    return more


def _record_order(pair: tuple[Any, tuple[int, datetime]]) -> str:
    item = pair[0]
    record_id = item.get("record_id") if isinstance(item, dict) else None
    return record_id if isinstance(record_id, str) else ""


def _message_key(m: Msg) -> tuple[int, datetime]:
    meta = m.metadata
    return meta.sequence.stream, meta.timestamp  # the time the stream stored it


async def store_batch(
    factory: async_sessionmaker[AsyncSession],
    source_id: int,
    msgs: list[Msg],
    vault: PiiVault,
    retention_days: int,
) -> IngestResult:
    """One batch in one transaction, tried again after a deadlock with another consumer."""
    loaded = sorted(((_load(m.data), _message_key(m)) for m in msgs), key=_record_order)
    items = [item for item, _ in loaded]
    keys = [key for _, key in loaded]
    for attempt in range(1, RETRIES + 1):
        try:
            async with transaction(factory) as session:
                return await ingest(
                    session,
                    source_id,
                    items,
                    vault=vault,
                    retention_days=retention_days,
                    channel="stream",
                    messages=keys,
                )
        except DBAPIError as exc:
            code = getattr(exc.orig, "sqlstate", None)
            if code not in TRANSIENT or attempt == RETRIES:
                raise
            log.warning("stream batch: %s, trying again (%d)", code, attempt)
            await asyncio.sleep(0.05 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover
