"""The weekly EWMA job stores a drop signal once, and none for a steady organization."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.indicators.models import Signal
from otklik.indicators.repository import MOSCOW
from otklik.indicators.tasks import flag_drops
from tests.factories import create_organization
from tests.indicators.factories import create_responses


async def test_drop_is_flagged_once(session: AsyncSession, settings: Settings) -> None:
    today = datetime.now(MOSCOW).date()
    monday = today - timedelta(days=today.weekday())
    dropping = await create_organization(session)
    steady = await create_organization(session)
    for w in range(1, 11):
        day = monday - timedelta(weeks=w) + timedelta(days=2)
        low = w <= 2  # the last two complete weeks
        await create_responses(session, dropping, day, [2] * 6 if low else [5, 5, 5, 4, 5, 5])
        await create_responses(session, steady, day, [5, 5, 5, 4, 5, 5])
    assert await flag_drops(session, settings) == 1
    assert await flag_drops(session, settings) == 0  # the same week is not flagged twice
    signal = (await session.scalars(select(Signal))).one()
    assert signal.kind == "indicator_drop"
    assert signal.unit == f"organization:{dropping.ogrn}"
    assert signal.payload["ewma"] < signal.payload["lower_limit"]
