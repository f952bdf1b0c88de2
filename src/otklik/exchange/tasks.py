"""The periodic transfer job (listed in ``schedule.py``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.exchange import service
from otklik.kit.clock import now_utc

PACK_PER_RUN = 10  # batches packed per run: the worker runs the job again while it finds work


async def transfer_to_iasmkgu(session: AsyncSession, settings: Settings) -> int:
    """Pack new answers into batches and send the batches that are due."""
    if not settings.iasmkgu_url:
        return 0
    packed = await service.pack(session, settings, limit=PACK_PER_RUN * settings.iasmkgu_batch)
    sent = await service.send_due(session, settings, now_utc())
    return packed.batches + sent
