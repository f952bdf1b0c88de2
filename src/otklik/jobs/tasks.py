"""The history's own periodic job."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.jobs import partitions, repository
from otklik.kit.clock import now_utc


async def prune_history(session: AsyncSession, settings: Settings) -> int:
    """Runs older than 30 days, a batch at a time (the worker drains while there are more)."""
    return await repository.prune(session)


async def maintain_partitions(session: AsyncSession, settings: Settings) -> int:
    """Monthly partitions: created ahead, strays moved, months past retention dropped."""
    report = await partitions.maintain(session, now_utc(), settings.retention_months)
    return report.done
