"""Incident job for the worker (listed in ``schedule.py``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.identity.service import now_utc
from otklik.incidents import service


async def open_incidents(session: AsyncSession, settings: Settings) -> int:
    """Group new signals into incidents and flag SLA warnings; repeats while signals remain."""
    found = await service.detect(session, now_utc())
    return found["signals"]
