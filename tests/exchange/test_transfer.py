"""Transfer to ИАС МКГУ: every answer reaches a real HTTP receiver exactly once, whatever the
receiver does (fails, times out, answers 5xx or garbage, refuses the size, acknowledges twice)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
import uvicorn
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.exchange import service
from otklik.exchange.models import ExchangeBatch
from otklik.exchange.receiver import ReceiverState, create_receiver
from otklik.exchange.tasks import transfer_to_iasmkgu
from otklik.identity.roles import Role
from otklik.identity.service import now_utc
from tests.factories import create_organization, create_user, free_port, login
from tests.indicators.factories import create_response

FIELDS = {
    "response_key",
    "organization_ogrn",
    "service_code",
    "life_situation_code",
    "region_code",
    "answered_on",
    "questionnaire_version",
    "methodology_version",
    "items",
    "comments",
}


@pytest.fixture
def receiver() -> Iterator[tuple[str, ReceiverState]]:
    """A real receiver over real HTTP, in a thread with its own event loop."""
    state = ReceiverState(token="receiver-token", slow_seconds=2.0)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_receiver(state), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "receiver did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/batches", state
    server.should_exit = True
    thread.join(timeout=10)


def configured(settings: Settings, url: str, batch: int = 10) -> Settings:
    return settings.model_copy(
        update={
            "iasmkgu_url": url,
            "iasmkgu_token": "receiver-token",
            "iasmkgu_batch": batch,
            "channel_timeout_seconds": 0.5,
        }
    )


async def answers(session: AsyncSession, n: int) -> list[uuid.UUID]:
    org = await create_organization(session)
    ids = []
    for i in range(n):
        day = date(2026, 10, 1) + timedelta(days=i % 20)
        comment = "Врач [ИМЯ] внимательный" if i % 3 == 0 else None
        r = await create_response(session, org, day, {"overall": 1 + i % 5}, comment=comment)
        ids.append(r.id)
    return ids


async def drain(session: AsyncSession, settings: Settings, rounds: int = 30) -> datetime:
    """Run the job, then move the clock past every back-off, until nothing is left."""
    now = now_utc()
    for _ in range(rounds):
        await service.pack(session, settings)
        await service.send_due(session, settings, now)
        left = await session.scalar(
            select(func.count()).where(ExchangeBatch.status.in_(("pending", "retrying")))
        )
        if not left:
            break
        now += timedelta(hours=2)
    return now


async def test_every_answer_arrives_exactly_once_through_receiver_failures(
    session: AsyncSession, settings: Settings, receiver: tuple[str, ReceiverState]
) -> None:
    url, state = receiver
    ids = await answers(session, 47)
    state.faults = ["error", "lost", "slow", "garbage", "too_large", "error", "lost"]
    s = configured(settings, url)
    await drain(session, s)

    assert sorted(state.accepted) == sorted(str(i) for i in ids)
    assert set(state.accepted.values()) == {1}, "an answer was stored twice"
    summary = await service.reconciliation(session, s)
    assert (summary.acknowledged, summary.in_flight, summary.queued) == (47, 0, 0)
    statuses = dict(
        (
            await session.execute(
                select(ExchangeBatch.status, func.count()).group_by(ExchangeBatch.status)
            )
        ).all()
    )
    assert statuses.get("split") == 1  # the 413 batch became two
    assert state.requests > len(state.receipts)  # retries happened and were idempotent


async def test_a_batch_is_resent_byte_for_byte_under_its_key(
    session: AsyncSession, settings: Settings, receiver: tuple[str, ReceiverState]
) -> None:
    url, state = receiver
    await answers(session, 5)
    s = configured(settings, url)
    await service.pack(session, s)
    batch = (await session.scalars(select(ExchangeBatch))).one()
    body, sha = batch.body, batch.sha256
    state.faults = ["lost"]  # stored, but the reply is lost: we must resend the same batch
    await service.send_due(session, s, now_utc())
    assert batch.status == "retrying"
    await service.send_due(session, s, now_utc() + timedelta(hours=1))
    assert batch.status == "acknowledged"
    assert (batch.body, batch.sha256) == (body, sha)
    assert list(state.receipts) == [str(batch.id)]
    assert batch.receipt == state.receipts[str(batch.id)]


async def test_lines_carry_the_documented_fields_and_no_identity(
    session: AsyncSession, settings: Settings, receiver: tuple[str, ReceiverState]
) -> None:
    url, _ = receiver
    ids = await answers(session, 4)
    await service.pack(session, configured(settings, url))
    batch = (await session.scalars(select(ExchangeBatch))).one()
    head, lines = service.decode(batch.body)
    assert head["count"] == 4
    assert head["batch_id"] == str(batch.id)
    assert head["format"] == service.FORMAT_VERSION
    records = [json.loads(line) for line in lines]
    assert {r["response_key"] for r in records} == {str(i) for i in ids}
    for r in records:
        assert set(r) == FIELDS
        assert set(r["items"]) == {"overall"}
    assert records[0]["comments"] == {"comment": "Врач [ИМЯ] внимательный"}
    assert [r["answered_on"] for r in records] == sorted(r["answered_on"] for r in records)


async def test_without_a_receiver_answers_wait_in_the_queue(
    session: AsyncSession, settings: Settings
) -> None:
    await answers(session, 3)
    assert settings.iasmkgu_url is None
    assert await transfer_to_iasmkgu(session, settings) == 0
    summary = await service.reconciliation(session, settings)
    assert (summary.queued, summary.in_flight, summary.acknowledged) == (3, 0, 0)


async def test_a_receiver_that_never_answers_loses_nothing(
    session: AsyncSession, settings: Settings
) -> None:
    await answers(session, 6)
    s = configured(settings, f"http://127.0.0.1:{free_port()}/batches")  # nobody listens
    await service.pack(session, s)
    await asyncio.wait_for(service.send_due(session, s, now_utc()), timeout=30)
    summary = await service.reconciliation(session, s)
    assert (summary.in_flight, summary.acknowledged) == (6, 0)
    assert summary.rows[0].last_error is not None
    assert "нет соединения" in summary.rows[0].last_error


async def test_reconciliation_page_is_for_country_roles(
    session: AsyncSession, client: AsyncClient
) -> None:
    await answers(session, 2)
    org = await create_organization(session)
    await create_user(session, Role.organization, f"organization:{org.ogrn}", "org@x.ru")
    await create_user(session, Role.coordinator, None, "coord@x.ru")
    await session.commit()
    await login(client, "org@x.ru")
    assert (await client.get("/exchange/iasmkgu")).status_code == 403
    await client.post("/logout")
    client.cookies.clear()
    await login(client, "coord@x.ru")
    page = await client.get("/exchange/iasmkgu?status=retrying")
    assert page.status_code == 200
    assert "передача выключена" in page.text
    assert (await client.get("/exchange/iasmkgu?status=bogus")).status_code in (400, 422)
