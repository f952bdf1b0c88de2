"""The funnel: services reported → eligible → invited → delivered → opened → started → completed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.models import User
from otklik.identity.service import scope_of
from otklik.kit.clock import moscow_date
from otklik.outreach import repository
from otklik.outreach.schemas import FunnelOut, FunnelRowOut
from otklik.outreach.service import REASONS

STAGES = (
    "reported",
    "pending",
    "eligible",
    "invited",
    "failed",
    "delivered",
    "opened",
    "started",
    "completed",
)
ROW_LIMIT = 500


def _row(r: Any) -> FunnelRowOut:
    return FunnelRowOut(
        key=str(r.key),
        label=str(r.label),
        skipped={k: int(getattr(r, k)) for k in repository.SKIP_REASONS},
        **{s: int(getattr(r, s)) for s in STAGES},
    )


async def build(session: AsyncSession, user: User, *, group: str, days: int) -> FunnelOut:
    end = datetime.now(UTC)
    start = end - timedelta(days=days)
    rows = [
        _row(r)
        for r in await repository.funnel(session, scope_of(user), group, start, end, ROW_LIMIT)
    ]
    totals = await repository.funnel(session, scope_of(user), "all", start, end, 1)
    total = (
        _row(totals[0])
        if totals
        else FunnelRowOut(
            key="all",
            label="Всего",
            skipped=dict.fromkeys(repository.SKIP_REASONS, 0),
            **dict.fromkeys(STAGES, 0),
        )
    )
    return FunnelOut(
        group=group,
        date_from=moscow_date(start),
        date_to=moscow_date(end),
        reasons=REASONS,
        total=total,
        rows=rows,
    )
