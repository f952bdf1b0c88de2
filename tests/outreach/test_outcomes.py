"""The queue holds pending tasks only; decisions live in ``outreach_outcomes``; the invitations'
references to contacts and records are kept by statement triggers (migration 0320)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.intake.models import Contact
from otklik.outreach.models import Invitation, OutreachOutcome, OutreachTask
from otklik.outreach.service import plan
from tests.factories import create_organization, service_record, snils
from tests.outreach.test_planning import adult, send


async def _count(session: AsyncSession, model: type) -> int:  # type: ignore[type-arg]
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_decided_task_leaves_the_queue_for_its_outcome(
    session: AsyncSession, settings: Settings
) -> None:
    org = await create_organization(session)
    records = [service_record(org.ogrn, recipient=adult(snils())) for _ in range(3)]
    records.append(service_record(org.ogrn, recipient=adult(snils(), portal=False)))
    await send(session, records)
    assert await _count(session, OutreachTask) == 4
    assert await plan(session, settings) == 4
    assert await _count(session, OutreachTask) == 0
    outcomes = (
        await session.execute(
            select(OutreachOutcome.status, OutreachOutcome.reason).order_by(
                OutreachOutcome.service_record_id
            )
        )
    ).all()
    assert [tuple(o) for o in outcomes] == [("planned", None)] * 3 + [
        ("skipped", "no_confirmed_account")
    ]
    assert await plan(session, settings) == 0  # nothing is decided twice


async def test_a_deleted_contact_leaves_its_invitation_without_one(
    session: AsyncSession, settings: Settings
) -> None:
    org = await create_organization(session)
    await send(session, [service_record(org.ogrn, recipient=adult(snils())) for _ in range(2)])
    assert await plan(session, settings) == 2
    invitations = (await session.scalars(select(Invitation).order_by(Invitation.id))).all()
    assert all(i.contact_id is not None for i in invitations)
    gone = invitations[0].contact_id
    await session.execute(text("DELETE FROM contacts WHERE id = :id"), {"id": gone})
    session.expire_all()
    after = (await session.scalars(select(Invitation).order_by(Invitation.id))).all()
    assert [i.contact_id for i in after] == [None, invitations[1].contact_id]
    assert await session.get(Contact, invitations[1].contact_id) is not None


async def test_a_record_key_named_by_an_invitation_cannot_go(
    session: AsyncSession, settings: Settings
) -> None:
    org = await create_organization(session)
    await send(session, [service_record(org.ogrn, recipient=adult(snils()))])
    assert await plan(session, settings) == 1
    record = await session.scalar(select(Invitation.service_record_id))
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            await session.execute(
                text("DELETE FROM service_record_keys WHERE id = :id"), {"id": record}
            )


async def test_a_deleted_record_takes_its_outcome(
    session: AsyncSession, settings: Settings
) -> None:
    org = await create_organization(session)
    await send(session, [service_record(org.ogrn, recipient=adult(snils(), portal=False))])
    assert await plan(session, settings) == 1
    record = await session.scalar(select(OutreachOutcome.service_record_id))
    assert record is not None
    await session.execute(text("DELETE FROM service_records WHERE id = :id"), {"id": record})
    assert await _count(session, OutreachOutcome) == 0
