"""Insights jobs for the worker (listed in ``schedule.py``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.insights import service


async def analyse_comments(session: AsyncSession, settings: Settings) -> int:
    """Analyse a batch of new comments; the worker repeats while there is a backlog."""
    return await service.analyse_pending(session)
