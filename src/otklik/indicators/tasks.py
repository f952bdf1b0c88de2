"""Indicator jobs: rebuild the rollup for a period; flag significant weekly drops (EWMA)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.indicators import repository
from otklik.indicators.periods import Period
from otklik.kit.clock import moscow_date

EWMA_LAMBDA = 0.3
EWMA_L = 3.0
WEEKS = 16
MIN_WEEK_N = 5


async def rebuild(
    session: AsyncSession, period: Period, progress: Callable[[int], None] | None = None
) -> int:
    """Rebuild the rollup of the period's days in one set-based pass; returns rows written."""
    rows = await repository.rebuild_rollup(session, period.start, period.end)
    if progress:
        progress(period.days())
    return rows


def ewma_drop(weeks: list[tuple[int, float, float]]) -> dict[str, Any] | None:
    """EWMA control chart on weekly means (n, sum, sum of squares per week, oldest first).

    The first half of the weeks sets the baseline mean and per-answer deviation; the chart
    runs over the rest; a drop is flagged when the last EWMA falls below the lower limit.
    """
    weeks = [w for w in weeks if w[0] >= MIN_WEEK_N]
    if len(weeks) < 6:
        return None
    half = len(weeks) // 2
    base, rest = weeks[:half], weeks[half:]
    n0 = sum(w[0] for w in base)
    mu = sum(w[1] for w in base) / n0
    var = max((sum(w[2] for w in base) - n0 * mu * mu) / max(n0 - 1, 1), 1e-6)
    z = mu
    lcl = mu
    for n, total, _ in rest:
        z = EWMA_LAMBDA * (total / n) + (1 - EWMA_LAMBDA) * z
        lcl = mu - EWMA_L * math.sqrt(var / n) * math.sqrt(EWMA_LAMBDA / (2 - EWMA_LAMBDA))
    if z >= lcl:
        return None
    return {"baseline": round(mu, 3), "ewma": round(z, 3), "lower_limit": round(lcl, 3)}


async def flag_drops(session: AsyncSession, settings: Settings) -> int:
    """Store an ``indicator_drop`` signal per organization whose weekly overall score fell."""
    today = moscow_date()
    this_week = today - timedelta(days=today.weekday())
    start = this_week - timedelta(weeks=WEEKS)
    rows = await repository.weekly_scores(session, "overall", start, this_week - timedelta(days=1))
    by_org: dict[int, list[tuple[int, float, float]]] = {}
    for r in rows:
        by_org.setdefault(int(r.organization_id), []).append(
            (int(r.n), float(r.total), float(r.sumsq))
        )
    flagged = {oid: p for oid, w in by_org.items() if (p := ewma_drop(w)) is not None}
    if not flagged:
        return 0
    ogrns = await repository.organization_ogrns(session, list(flagged))
    week = (this_week - timedelta(weeks=1)).isocalendar()
    period = f"{week.year}-W{week.week:02d}"
    signals = [
        {
            "kind": "indicator_drop",
            "unit": f"organization:{ogrns[oid]}",
            "period": period,
            "payload": {"item": "overall", "method": "ewma", **p},
        }
        for oid, p in flagged.items()
        if oid in ogrns
    ]
    return await repository.add_signals(session, signals)
