"""The periodic job that builds the open-data files (listed in ``schedule.py``; see ``store``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.indicators import service as ind
from otklik.indicators.periods import parse_period
from otklik.kit.clock import moscow_date
from otklik.opendata import repository, service, store


async def build_files(session: AsyncSession, settings: Settings) -> int:
    """Build one missing or stale file (the last published quarter first, then every quarter
    with stored files); 1 if one was built, so the worker runs the job again at once."""
    today = moscow_date()
    m = await ind.methodology(session, None)
    quarters = {service.last_published(today).text, *await repository.stored_quarters(session)}
    for text in sorted(quarters, reverse=True):
        for dataset in service.DATASETS:
            if (await store.ensure(session, parse_period(text), dataset, m, today)).built:
                return 1
    return 0
