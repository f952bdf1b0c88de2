"""Signals for incident tests, written through the owners' repositories or models."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.indicators.repository import add_signals
from otklik.registry.models import Organization


async def drop_signals(
    session: AsyncSession,
    orgs: list[Organization],
    period: str = "2026-W48",
    baseline: float = 4.6,
    ewma: float = 4.3,
) -> int:
    rows: list[dict[str, Any]] = [
        {
            "kind": "indicator_drop",
            "unit": f"organization:{o.ogrn}",
            "period": period,
            "payload": {
                "item": "overall",
                "method": "ewma",
                "baseline": baseline,
                "ewma": ewma,
                "lower_limit": baseline - 0.2,
            },
        }
        for o in orgs
    ]
    return await add_signals(session, rows)
