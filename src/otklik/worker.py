"""The background worker: runs the jobs of ``schedule.py`` when they are due."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otklik.config import Settings
from otklik.db import transaction
from otklik.schedule import SCHEDULE

log = logging.getLogger("otklik.worker")


async def run_due(
    factory: async_sessionmaker[AsyncSession], settings: Settings, last_run: dict[str, float]
) -> dict[str, int]:
    """Run each job whose interval has passed, each in its own transaction."""
    done: dict[str, int] = {}
    now = time.monotonic()
    for name, interval, job in SCHEDULE:
        if name in last_run and now - last_run[name] < interval:
            continue
        async with transaction(factory) as session:
            done[name] = await job(session, settings)
        last_run[name] = now
        log.info("job %s done: %s", name, done[name])
    return done


async def run_forever(
    factory: async_sessionmaker[AsyncSession], settings: Settings, *, once: bool = False
) -> None:
    last_run: dict[str, float] = {}
    while True:
        try:
            await run_due(factory, settings, last_run)
        except Exception:
            log.exception("worker cycle failed; retrying")
        if once:
            return
        await asyncio.sleep(5)
