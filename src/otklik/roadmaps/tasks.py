"""Roadmap jobs: recompute deadline risk (listed in ``otklik.schedule``)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.indicators.repository import MOSCOW
from otklik.roadmaps import risk


async def recompute_risk(session: AsyncSession, settings: Settings) -> int:
    """Every active measure and roadmap in one pass; returns the alerts it raised."""
    now = datetime.now(UTC)
    _, alerts = await risk.recompute(session, now, now.astimezone(MOSCOW).date())
    return alerts
