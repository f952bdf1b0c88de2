"""The funnel: services reported → eligible → invited → delivered → opened → started → completed."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import DomainError
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


class BadWindow(DomainError):
    status_code = 400
    code = "bad_window"
    message = "Укажите обе даты периода: начало не позже конца, не больше 366 дней."


def window(days: int, date_from: date | None, date_to: date | None) -> tuple[date, date]:
    """The days asked for: ``date_from``..``date_to`` when given, else the last ``days``."""
    if date_from is None and date_to is None:
        return last_days(days)
    if date_from is None or date_to is None or not 0 <= (date_to - date_from).days < 366:
        raise BadWindow()
    if date_from.year < 2000 or date_to.year > 2100:
        raise BadWindow("Даты периода — с 2000 по 2100 год.")
    return date_from, date_to


def last_days(days: int, today: date | None = None) -> tuple[date, date]:
    """The ``days`` days to today (Moscow), inclusive."""
    end = today or moscow_date()
    return end - timedelta(days=days - 1), end


async def build(
    session: AsyncSession,
    user: User,
    *,
    group: str,
    days: int = 30,
    start: date | None = None,
    end: date | None = None,
) -> FunnelOut:
    """The funnel of the services provided ``start``..``end`` (default: the last ``days``
    days), by the day of the service: the same window and population as the indicators'
    questionnaires by service date (``counts.responses_by_service_date``)."""
    if start is None or end is None:
        start, end = last_days(days)
    scope = scope_of(user)
    rows = [_row(r) for r in await repository.funnel(session, scope, group, start, end, ROW_LIMIT)]
    totals = await repository.funnel(session, scope, "all", start, end, 1)
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
        date_from=start,
        date_to=end,
        reasons=REASONS,
        total=total,
        rows=rows,
    )
