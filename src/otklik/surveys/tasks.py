"""Surveys jobs for the worker (listed in ``schedule.py``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.surveys import repository, sealing
from otklik.surveys.masking import mask_personal_data

MASK_BATCH = 200


async def mask_comments(session: AsyncSession, settings: Settings, size: int = MASK_BATCH) -> int:
    """Open a batch of sealed comments, mask them and store them in ``response_comments``;
    the sealed rows go in the same transaction. Several workers take disjoint batches
    (``SKIP LOCKED``); the worker repeats while there is a backlog."""
    rows = await repository.take_sealed(session, size)
    if not rows:
        return 0
    masked = [mask_personal_data(sealing.unseal(settings, r.sealed)) for r in rows]
    kept = [(r, text) for r, text in zip(rows, masked, strict=True) if text]
    if kept:
        await repository.insert_comments(
            session,
            [(r.response_id, r.code, text, r.organization_id, r.answered_on) for r, text in kept],
        )
    return len(rows)
