"""Two tabs (and two representatives) submitting at once: exactly one response per record.

Runs on committed data through a separate engine, so the two requests hold two real
connections and really wait for each other's locks; everything made is deleted afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from otklik.app import create_app
from otklik.config import Settings
from otklik.db import create_engine
from otklik.intake.models import IntakeBatch, IntakeRejection, ServiceRecord, Source
from otklik.outreach.models import Delivery, Invitation, OutboxMessage
from otklik.registry.models import Organization
from otklik.surveys.models import Response
from tests.factories import create_organization
from tests.surveys.helpers import child, form, invite

ROUNDS = 4


@pytest.fixture
async def real_engine(database_url: str, engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """Not the test's rolled-back connection: a pool of its own (``engine`` seeds the data)."""
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def _cleanup(factory: async_sessionmaker[AsyncSession], org_id: int, keys: list) -> None:  # type: ignore[type-arg]
    async with factory() as s:
        await s.execute(delete(Response).where(Response.organization_id == org_id))
        await s.execute(delete(OutboxMessage).where(OutboxMessage.idempotency_key.in_(keys)))
        sources = select(ServiceRecord.source_id).where(ServiceRecord.organization_id == org_id)
        source_ids = list((await s.scalars(sources)).all())
        await s.execute(delete(ServiceRecord).where(ServiceRecord.organization_id == org_id))
        await s.execute(delete(IntakeBatch).where(IntakeBatch.source_id.in_(source_ids)))
        await s.execute(delete(IntakeRejection).where(IntakeRejection.source_id.in_(source_ids)))
        await s.execute(delete(Source).where(Source.id.in_(source_ids)))
        await s.execute(delete(Organization).where(Organization.id == org_id))
        await s.commit()


async def test_two_tabs_and_two_representatives_at_once(
    real_engine: AsyncEngine, settings: Settings
) -> None:
    factory = async_sessionmaker(real_engine, expire_on_commit=False)
    async with factory() as s:
        org = await create_organization(s)
        tokens = await invite(s, settings, [child(org.ogrn) for _ in range(ROUNDS)], org=org)
        keys = list(
            (
                await s.scalars(
                    select(Delivery.idempotency_key)
                    .join(Invitation, Invitation.id == Delivery.invitation_id)
                    .where(Invitation.organization_id == org.id)
                )
            ).all()
        )
        await s.commit()
    try:
        app = create_app(settings)
        app.state.sessionmaker = factory
        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with (
            AsyncClient(transport=transport, base_url="http://a") as tab1,
            AsyncClient(transport=transport, base_url="http://b") as tab2,
        ):
            pairs = list(zip(tokens[0::2], tokens[1::2], strict=True))
            for n, (first, second) in enumerate(pairs):
                # even rounds: one person, two tabs; odd rounds: two representatives
                other = first if n % 2 == 0 else second
                a, b = await asyncio.gather(
                    tab1.post(f"/s/{first}", data=form(overall="5")),
                    tab2.post(f"/s/{other}", data=form(overall="1")),
                )
                codes = sorted([a.status_code, b.status_code])
                assert codes == ([200, 200] if other == first else [200, 410]), codes
        async with factory() as s:
            per_record = (
                await s.execute(
                    select(func.count())
                    .select_from(Response)
                    .where(Response.organization_id == org.id)
                )
            ).scalar_one()
            completed = (
                await s.scalar(
                    select(func.count())
                    .select_from(Invitation)
                    .where(Invitation.organization_id == org.id, Invitation.status == "completed")
                )
            ) or 0
        assert per_record == len(pairs)
        assert completed == len(pairs)
    finally:
        await _cleanup(factory, org.id, keys)
