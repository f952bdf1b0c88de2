"""Insights jobs for the worker (listed in ``schedule.py``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.insights import service


async def analyse_comments(session: AsyncSession, settings: Settings) -> int:
    """Analyse a batch of new comments; the worker repeats while there is a backlog."""
    return await service.analyse_pending(session)


async def triage_urgent(session: AsyncSession, settings: Settings) -> list[dict[str, Any]]:
    """Queue new urgent flags; the e-mails to the authorities (schedule.py hands them to
    improvement's outbox, a layer above insights)."""
    from otklik.insights.triage import enqueue
    from otklik.kit.clock import now_utc

    return await enqueue(session, now_utc())
