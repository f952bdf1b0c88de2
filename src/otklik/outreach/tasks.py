"""Outreach jobs for the worker (listed in ``schedule.py``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.kit.pii import PiiVault
from otklik.outreach import service
from otklik.outreach.channels import Channel, RateLimiter, enabled_channels


@dataclass
class Runtime:
    """What a worker process keeps between batches: an HTTP client, channels, rate limits."""

    loop: asyncio.AbstractEventLoop
    vault: PiiVault
    channels: dict[str, Channel]
    limiter: RateLimiter


_runtime: Runtime | None = None


def runtime(settings: Settings) -> Runtime:
    global _runtime  # one per worker process and event loop
    loop = asyncio.get_running_loop()
    if _runtime is None or _runtime.loop is not loop:
        client = httpx.AsyncClient(timeout=settings.channel_timeout_seconds)
        _runtime = Runtime(
            loop,
            PiiVault(settings.pii_key),
            enabled_channels(settings, client, keep_open=True),
            RateLimiter(settings.channel_rate_per_second, settings.channel_rates),
        )
    return _runtime


async def plan_invitations(session: AsyncSession, settings: Settings) -> int:
    return await service.plan(session, settings)


async def deliver_messages(session: AsyncSession, settings: Settings) -> int:
    rt = runtime(settings)
    return await service.deliver(
        session, settings, vault=rt.vault, channels=rt.channels, limiter=rt.limiter
    )


async def queue_reminders(session: AsyncSession, settings: Settings) -> int:
    return await service.queue_reminders(session, settings)
