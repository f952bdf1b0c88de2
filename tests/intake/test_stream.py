"""The NATS JetStream consumer against the real server (skipped where there is none)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import orjson
from nats.aio.client import Client as NATS
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otklik.db import transaction
from otklik.intake.models import IntakeBatch, IntakeRejection, ServiceRecord
from otklik.intake.service import ingest
from otklik.intake.stream import (
    STREAM,
    consume,
    durable_for,
    store_batch,
    subject_for,
)
from otklik.kit.pii import PiiVault
from otklik.outreach.models import OutreachTask
from tests.factories import create_organization, create_source, service_record

VAULT = PiiVault("p" * 40)


async def count(session: AsyncSession, model: type[object]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_redelivered_and_republished_records_are_stored_once(
    nc: NATS, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org = await create_organization(session)
    source, _ = await create_source(session, f"nats-{secrets.token_hex(4)}")
    await session.commit()
    js = nc.jetstream()
    records = [service_record(org.ogrn) for _ in range(4)]
    payloads = [orjson.dumps(r) for r in records]
    payloads.append(payloads[0])  # the producer retried one publish
    payloads.append(b'{"record_id": "broken"')  # truncated
    errors: list[bytes] = []

    async def on_error(msg: object) -> None:
        errors.append(msg.data)  # type: ignore[attr-defined]

    await nc.subscribe(f"otklik.intake.errors.{source.name}", cb=on_error)
    for p in payloads:
        await js.publish(subject_for(source.name), p)

    # A consumer that stores a batch and dies before acknowledging it.
    sub = await js.pull_subscribe(
        subject_for(source.name), durable=durable_for(source.name), stream=STREAM
    )
    crashed = await sub.fetch(3, timeout=5)
    async with transaction(sessionmaker) as s:
        await ingest(
            s,
            source.id,
            [orjson.loads(m.data) for m in crashed],
            vault=VAULT,
            retention_days=45,
            channel="stream",
        )
    await sub.unsubscribe()
    # the messages come back after ack_wait; make it immediate for the test
    for m in crashed:
        await m.nak()

    total = await consume(
        nc, sessionmaker, vault=VAULT, retention_days=45, source_name=source.name, idle_rounds=1
    )
    await asyncio.sleep(0.2)
    assert total.accepted == 1
    assert total.duplicates == 4  # three redelivered, one republished
    assert total.rejected == 1
    assert await count(session, ServiceRecord) == 4
    assert await count(session, OutreachTask) == 4
    assert [orjson.loads(e)["code"] for e in errors] == ["invalid_line"]
    info = await js.consumer_info(STREAM, durable_for(source.name))
    assert info.num_pending == 0
    assert info.num_ack_pending == 0
    await js.delete_consumer(STREAM, durable_for(source.name))


async def test_a_rejection_redelivered_after_its_commit_is_counted_once(
    nc: NATS, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    org = await create_organization(session)
    source, _ = await create_source(session, f"nats-{secrets.token_hex(4)}")
    await session.commit()
    js = nc.jetstream()
    good = service_record(org.ogrn)
    refused = service_record(org.ogrn, service_code="no.such_service")
    for p in (orjson.dumps(good), orjson.dumps(refused), b'{"record_id": "cut'):
        await js.publish(subject_for(source.name), p)

    # A consumer stores the batch (committed) and dies before acknowledging it.
    sub = await js.pull_subscribe(
        subject_for(source.name), durable=durable_for(source.name), stream=STREAM
    )
    first: list[Any] = []
    while len(first) < 3:  # a fetch returns what has arrived; the machine may be busy
        first += await sub.fetch(3 - len(first), timeout=30)
    stored = await store_batch(sessionmaker, source.id, first, VAULT, 45)
    assert (stored.accepted, stored.duplicates, stored.rejected) == (1, 0, 2)
    await sub.unsubscribe()
    for m in first:
        await m.nak()

    again = await consume(
        nc, sessionmaker, vault=VAULT, retention_days=45, source_name=source.name, idle_rounds=1
    )
    assert (again.accepted, again.duplicates, again.rejected) == (0, 3, 0)
    assert len(again.errors) == 0  # the consumer's total keeps counts; the errors went out
    rejections = await session.scalar(select(func.sum(IntakeRejection.count)))
    assert rejections == 2
    batches = (
        await session.execute(
            select(func.sum(IntakeBatch.rejected), func.sum(IntakeBatch.duplicates))
        )
    ).one()
    assert tuple(batches) == (2, 3)
    info = await js.consumer_info(STREAM, durable_for(source.name))
    assert info.num_pending == 0
    assert info.num_ack_pending == 0
    await js.delete_consumer(STREAM, durable_for(source.name))
