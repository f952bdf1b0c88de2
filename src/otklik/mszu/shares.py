"""Electronic share of the МСЗУ by service, region, founder and country against the trajectory.

Electronic = portal + proactive applications; the share's n is all applications. The founder
view uses the founder stated on each statistics row (``founder_code``); applications whose
source stated no founder form their own row «учредитель не указан», never spread over founders
by guesswork. The national
trajectory is linear from the 2025 baseline (the country's electronic share in 2025, or
``BASELINE_DEFAULT`` when 2025 has no statistics) to 99 % at the end of 2030, unless a
coordinator uploaded year-end targets (then linear between them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from otklik.identity.models import User
from otklik.identity.service import scope_of
from otklik.indicators.periods import Period
from otklik.kit import fmt
from otklik.kit.scope import ScopeColumns, apply_scope
from otklik.mszu import repository
from otklik.mszu.models import ServiceStatistic as St
from otklik.mszu.service import in_force_codes
from otklik.registry.models import Founder, Region, Service

UNITS = ("service", "region", "founder", "country")
UNIT_LABELS = {
    "service": "по услугам",
    "region": "по субъектам РФ",
    "founder": "по учредителям",
    "country": "по стране",
}
TARGET_2030 = 0.99
BASELINE_YEAR, TARGET_YEAR = 2025, 2030
BASELINE_DEFAULT = 0.5


@dataclass
class ShareRow:
    code: str
    name: str
    applications: int
    electronic: int
    proactive: int
    target: float

    @property
    def electronic_share(self) -> float | None:
        return self.electronic / self.applications if self.applications else None

    @property
    def proactive_share(self) -> float | None:
        return self.proactive / self.applications if self.applications else None

    @property
    def gap(self) -> float | None:
        s = self.electronic_share
        return None if s is None else s - self.target


UNSTATED = "учредитель не указан"


def _founder_of_row() -> Any:
    """The founder the row states (NULL when it states none: no founder scope holds it)."""
    f = aliased(Founder)  # not correlated with the founders of the «by founder» view
    return select(f.id).where(f.code == St.founder_code).scalar_subquery()


async def _codes(session: AsyncSession) -> list[str]:
    codes = await in_force_codes(session)
    if codes is None:
        codes = {s.code for s in await repository.services(session) if s.is_mszu}
    return sorted(codes)


def _base(user: User | None, codes: list[str], start: date, end: date, *key: Any) -> Select[Any]:
    electronic = func.coalesce(
        func.sum(St.applications).filter(St.channel.in_(("portal", "proactive"))), 0
    )
    proactive = func.coalesce(func.sum(St.applications).filter(St.channel == "proactive"), 0)
    stmt = (
        select(*key, func.sum(St.applications), electronic, proactive)
        .join(Service, Service.code == St.service_code)
        .where(St.month >= start, St.month <= end, St.service_code.in_(codes))
    )
    if user is not None:
        scope = scope_of(user)
        cols = ScopeColumns(
            organization_id=literal(None),
            region_code=St.region_code,
            founder_id=_founder_of_row(),
        )
        stmt = apply_scope(stmt, scope, cols)
    return stmt


def _months(period: Period) -> tuple[date, date]:
    return period.start.replace(day=1), period.end.replace(day=1)


async def trajectory_points(session: AsyncSession) -> tuple[dict[int, float], str]:
    """Year-end targets and where they come from."""
    uploaded = await repository.trajectory(session)
    if uploaded:
        return uploaded, "загружена координатором"
    codes = await _codes(session)
    row = (
        await session.execute(
            _base(None, codes, date(BASELINE_YEAR, 1, 1), date(BASELINE_YEAR, 12, 1))
        )
    ).one()
    total, electronic = int(row[0] or 0), int(row[1] or 0)
    base = electronic / total if total else BASELINE_DEFAULT
    points = {
        y: base + (TARGET_2030 - base) * (y - BASELINE_YEAR) / (TARGET_YEAR - BASELINE_YEAR)
        for y in range(BASELINE_YEAR, TARGET_YEAR + 1)
    }
    source = (
        f"линейная от уровня {BASELINE_YEAR} г. ({fmt.pct(base * 100)}) до {fmt.pct(99, 0)} "
        f"в {TARGET_YEAR} г."
    )
    return points, source


def target_at(points: dict[int, float], day: date) -> float:
    """Target share at the end of ``day``'s month, linear between year-end points."""
    years = sorted(points)
    t = day.year - 1 + day.month / 12
    if t <= years[0]:
        return points[years[0]]
    if t >= years[-1]:
        return points[years[-1]]
    lo = max(y for y in years if y <= t)
    hi = min(y for y in years if y > t)
    return points[lo] + (points[hi] - points[lo]) * (t - lo) / (hi - lo)


async def shares(
    session: AsyncSession, user: User | None, unit: str, period: Period
) -> tuple[list[ShareRow], str]:
    """Rows of one unit kind for a period, furthest behind the trajectory first."""
    codes = await _codes(session)
    start, end = _months(period)
    points, source = await trajectory_points(session)
    target = target_at(points, end)
    if unit == "service":
        stmt = _base(user, codes, start, end, Service.code, Service.name).group_by(
            Service.code, Service.name
        )
    elif unit == "region":
        stmt = (
            _base(user, codes, start, end, Region.code, Region.name)
            .join(Region, Region.code == St.region_code)
            .group_by(Region.code, Region.name)
        )
    elif unit == "founder":
        name = func.coalesce(Founder.short_name, literal(UNSTATED))
        stmt = (
            _base(user, codes, start, end, St.founder_code, name)
            .outerjoin(Founder, Founder.code == St.founder_code)
            .group_by(St.founder_code, name)
        )
    else:
        stmt = _base(user, codes, start, end, literal("RU"), literal("Российская Федерация"))
    rows = [
        ShareRow(str(c), str(n), int(t), int(e), int(p), target)
        for c, n, t, e, p in await session.execute(stmt)
        if t is not None
    ]
    # furthest behind first; the row of applications without a stated founder last
    rows.sort(
        key=lambda r: (r.code == "", r.gap is None, r.gap if r.gap is not None else 0, r.code)
    )
    return rows, source


async def monthly(
    session: AsyncSession, user: User | None, period: Period, months: int = 24
) -> list[dict[str, Any]]:
    """The country's (scope's) electronic share by month with the target, ending at the period."""
    codes = await _codes(session)
    end = period.end.replace(day=1)
    start = date(end.year - (months - 1 + 12 - end.month) // 12, (end.month - months) % 12 + 1, 1)
    points, _ = await trajectory_points(session)
    stmt = _base(user, codes, start, end, St.month).group_by(St.month).order_by(St.month)
    got = {m: (int(t), int(e), int(p)) for m, t, e, p in await session.execute(stmt)}
    out = []
    y, m = start.year, start.month
    for _ in range(months):
        day = date(y, m, 1)
        t, e, p = got.get(day, (0, 0, 0))
        out.append(
            {
                "month": day,
                "applications": t,
                "electronic": e / t if t else None,
                "proactive": p / t if t else None,
                "target": target_at(points, day),
            }
        )
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def statistics_year() -> int:
    """The default period: the current year in Moscow."""
    from otklik.mszu.statistics import today_moscow

    return today_moscow().year
