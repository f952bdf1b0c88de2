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


DRAIN_SECONDS = 5.0


async def run_due(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    last_run: dict[str, float],
    *,
    drain_seconds: float = DRAIN_SECONDS,
) -> dict[str, int]:
    """Run each job whose interval has passed, each batch in its own transaction.

    A job that did something runs again at once, for at most ``drain_seconds``.
    """
    done: dict[str, int] = {}
    now = time.monotonic()
    for name, interval, job in SCHEDULE:
        if name in last_run and now - last_run[name] < interval:
            continue
        done[name] = 0
        started = time.monotonic()
        while True:
            async with transaction(factory) as session:
                n = await job(session, settings)
            done[name] += n
            if n == 0 or time.monotonic() - started > drain_seconds:
                break
        last_run[name] = now
        if done[name]:
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
        await asyncio.sleep(1)
