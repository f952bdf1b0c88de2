"""Outreach fills its own queue: its trigger on service_records, not intake's statement."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.demo.repository import add_history_records
from otklik.intake.models import ServiceRecord
from otklik.intake.service import ingest
from otklik.kit.clock import now_utc
from otklik.kit.pii import PiiVault
from otklik.outreach.models import OutreachTask
from otklik.outreach.repository import ENQUEUE_BODY, ENQUEUE_FUNCTION
from tests.factories import create_organization, create_source, service_record
from tests.indicators.factories import create_response

OPTIONS = {"vault": PiiVault("p" * 40), "retention_days": 45, "channel": "api"}


def _words(sql: str) -> str:
    return " ".join(sql.split())


async def test_the_installed_trigger_is_outreachs_readable_one(session: AsyncSession) -> None:
    body = await session.scalar(
        text("SELECT prosrc FROM pg_proc WHERE proname = :name"), {"name": ENQUEUE_FUNCTION}
    )
    assert body is not None
    assert _words(str(body)) == _words(ENQUEUE_BODY)
    on = await session.scalar(
        text(
            "SELECT tgrelid::regclass::text FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid"
            " WHERE p.proname = :name"
        ),
        {"name": ENQUEUE_FUNCTION},
    )
    assert on == "service_records"


async def test_a_submission_queues_one_task_per_new_record(session: AsyncSession) -> None:
    org = await create_organization(session)
    source, _ = await create_source(session)
    records = [service_record(org.ogrn) for _ in range(3)]
    before = now_utc()
    result = await ingest(session, source.id, records, **OPTIONS)
    assert result.accepted == 3
    # the same records again: duplicates, no second task
    again = await ingest(session, source.id, records, **OPTIONS)
    assert again.accepted == 0
    rows = (
        await session.execute(
            select(OutreachTask.status, OutreachTask.run_after, ServiceRecord.received_at).join(
                ServiceRecord, ServiceRecord.id == OutreachTask.service_record_id
            )
        )
    ).all()
    assert len(rows) == 3
    for status, run_after, received_at in rows:
        assert status == "pending"
        assert run_after == received_at
        assert run_after >= before - timedelta(seconds=1)


async def test_back_filled_history_gets_invitations_but_no_task(session: AsyncSession) -> None:
    org = await create_organization(session)
    source, _ = await create_source(session)
    for day in (date(2026, 3, 2), date(2026, 4, 6)):
        await create_response(session, org, day, {"overall": 5})
    await add_history_records(session, source.id, date(2026, 5, 1))
    records = (await session.scalars(select(ServiceRecord.channel))).all()
    assert len(records) >= 4
    assert set(records) == {"history"}
    assert (await session.scalars(select(OutreachTask.id))).all() == []
    # an ordinary record in the same database is still queued
    await ingest(session, source.id, [service_record(org.ogrn)], **OPTIONS)
    assert len((await session.scalars(select(OutreachTask.id))).all()) == 1
