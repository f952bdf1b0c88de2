"""The rollup arithmetic readable in ``indicators/rollup.py`` is what the database runs."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.indicators.rollup import QUEUE_BODIES


def _words(sql: str) -> str:
    return " ".join(sql.split())


async def test_queue_trigger_bodies_are_the_documented_ones(session: AsyncSession) -> None:
    rows = await session.execute(
        text(
            "SELECT proname, prosrc FROM pg_proc "
            "WHERE proname LIKE 'indicator_queue_%' OR proname LIKE 'indicator_rollup_%'"
        )
    )
    installed = {str(name): _words(str(src)) for name, src in rows}
    # the rollup's own per-statement triggers are gone: answers only go into the queue
    assert installed == {name: _words(body) for name, body in QUEUE_BODIES.items()}
