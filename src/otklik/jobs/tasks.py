"""The history's own periodic job."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.jobs import repository


async def prune_history(session: AsyncSession, settings: Settings) -> int:
    """Runs older than 30 days, a batch at a time (the worker drains while there are more)."""
    return await repository.prune(session)
