"""Indicator jobs: fold the queue into the rollup; rebuild the rollup for a period; flag
significant weekly drops (EWMA)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.indicators import control, repository
from otklik.indicators.periods import Period
from otklik.kit.clock import moscow_date

WEEKS = control.BASELINE_WEEKS + control.MONITORED_WEEKS


async def fold_queue(session: AsyncSession, settings: Settings) -> int:
    """The periodic job: a batch of new and deleted answers added to the rollup and the summary
    (``rollup.FOLD``); returns rollup rows written (the worker runs it again while it finds
    work). Safe in any number of workers: one fold runs at a time, the others return 0."""
    return await repository.fold_queue(session)


async def drain(session: AsyncSession) -> int:
    """Fold until the queue is empty (tests, benchmarks, the CLI); returns rollup rows written."""
    total = 0
    while n := await repository.fold_queue(session):
        total += n
    return total


async def rebuild(
    session: AsyncSession, period: Period, progress: Callable[[int], None] | None = None
) -> int:
    """Rebuild the rollup of the period's years set-based; returns the rollup rows of those days."""
    rows = await repository.rebuild_rollup(session, period.start, period.end)
    if progress:
        progress(period.days())
    return rows


def ewma_drops(weeks: dict[int, dict[int, tuple[int, float, float]]]) -> dict[int, dict[str, Any]]:
    """Charts every unit at once: ``weeks[unit][i]`` = (n, sum, sum of squares) of week i of the
    window (0 = oldest); the first ``BASELINE_WEEKS`` are the baseline. Returns the payload of
    each unit whose EWMA fell below its lower limit."""
    units = list(weeks)
    if not units:
        return {}
    nb, mw = control.BASELINE_WEEKS, control.MONITORED_WEEKS
    base = np.zeros((len(units), 4))
    wn = np.zeros((len(units), mw))
    wt = np.zeros((len(units), mw))
    for r, u in enumerate(units):
        for i, (n, total, sumsq) in weeks[u].items():
            if n < control.MIN_WEEK_N:
                continue
            if i < nb:
                base[r] += (n, total, sumsq, 1)
            else:
                wn[r, i - nb], wt[r, i - nb] = n, total
    chart = control.ewma_chart(base[:, 0], base[:, 1], base[:, 2], base[:, 3], wn, wt)
    return {
        u: {
            "baseline": round(float(chart.baseline[r]), 3),
            "ewma": round(float(chart.ewma[r]), 3),
            "lower_limit": round(float(chart.lower_limit[r]), 3),
            "alpha": control.ALPHA,
        }
        for r, u in enumerate(units)
        if chart.alarm[r]
    }


async def flag_drops(session: AsyncSession, settings: Settings) -> int:
    """Store an ``indicator_drop`` signal per organization whose weekly overall score fell."""
    today = moscow_date()
    this_week = today - timedelta(days=today.weekday())
    start = this_week - timedelta(weeks=WEEKS)
    rows = await repository.weekly_scores(session, "overall", start, this_week - timedelta(days=1))
    by_org: dict[int, dict[int, tuple[int, float, float]]] = {}
    for r in rows:
        i = (r.week.date() if isinstance(r.week, datetime) else r.week) - start
        by_org.setdefault(int(r.organization_id), {})[i.days // 7] = (
            int(r.n),
            float(r.total),
            float(r.sumsq),
        )
    flagged = ewma_drops(by_org)
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
