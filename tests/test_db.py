"""``otklik.db`` helpers that talk to the database."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.db import refresh_statistics


async def test_refresh_statistics_gives_the_planner_the_loaded_rows(session: AsyncSession) -> None:
    # A table filled in bulk is planned as empty (reltuples -1: never analysed) until ANALYZE.
    await session.execute(text("CREATE TABLE bulk_loaded (n int)"))
    await session.execute(text("INSERT INTO bulk_loaded SELECT generate_series(1, 5000)"))
    reltuples = text("SELECT reltuples FROM pg_class WHERE relname = 'bulk_loaded'")
    assert (await session.execute(reltuples)).scalar_one() < 0

    await refresh_statistics(session)

    assert (await session.execute(reltuples)).scalar_one() == 5000
