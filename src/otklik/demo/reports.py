"""Demo: the last finished quarter's reports of every demo login's scope, queued for the
worker (building them in the seeding would cost more than a few seconds on a small machine)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.kit.clock import moscow_date
from otklik.kit.scope import Scope
from otklik.reports import repository, service
from otklik.reports.models import FORMATS


async def seed(session: AsyncSession, first_ogrn: str) -> int:
    """Queue PDF and XLSX for the country, region 16, founder minzdrav and the first clinic."""
    period = service.last_complete_quarter(moscow_date())
    if await repository.scheduled(session, period, "demo"):
        return 0
    specs = ("country", "region:16", "founder:minzdrav", f"organization:{first_ogrn}")
    n = 0
    for spec in specs:
        for fmt in FORMATS:
            await service.request(session, Scope.country(), spec, period, fmt, None, "demo")
            n += 1
    return n
