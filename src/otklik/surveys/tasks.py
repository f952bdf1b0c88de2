"""Surveys jobs for the worker (listed in ``schedule.py``)."""

from __future__ import annotations

import asyncio

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
    # CPU-bound (8-15 ms a comment at a load average of 11: a batch of 200 held the event loop
    # for 2-3 s, a process's first call 6 s more): in a thread, so that the worker's loop goes
    # on claiming the other jobs' periods on time meanwhile
    masked = await asyncio.to_thread(_open_and_mask, settings, [r.sealed for r in rows])
    kept = [(r, text) for r, text in zip(rows, masked, strict=True) if text]
    if kept:
        await repository.insert_comments(
            session,
            [(r.response_id, r.code, text, r.organization_id, r.answered_on) for r, text in kept],
        )
    return len(rows)


def _open_and_mask(settings: Settings, sealed: list[bytes]) -> list[str]:
    return [mask_personal_data(sealing.unseal(settings, s)) for s in sealed]
