"""Cabinet data: what each role's pages show, assembled from the indicator engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.cabinets import repository
from otklik.cabinets.repository import Filters, Window
from otklik.errors import NotFound
from otklik.identity.models import User
from otklik.identity.service import scope_of
from otklik.indicators import repository as ind_repo
from otklik.indicators import service as ind
from otklik.indicators.methodology import Methodology
from otklik.indicators.periods import Period
from otklik.indicators.repository import UnitFilter
from otklik.indicators.schemas import IndicatorsOut
from otklik.indicators.stats import STATUS_LABELS, complementary_hidden
from otklik.kit.scope import Scope
from otklik.registry.models import Organization

PER_PAGE = 25
COMMENTS_PER_PAGE = 20
MIN_OTHERS = 3  # other organizations answered about, for a comparison group to be shown
BINS = ((1.0, 3.5), (3.5, 4.0), (4.0, 4.5), (4.5, 4.8), (4.8, 5.01))
BIN_LABELS = ("ниже 3,5", "3,5–4,0", "4,0–4,5", "4,5–4,8", "4,8 и выше")
EDGES = [hi for _, hi in BINS[:-1]]


def window(period: Period, today: date) -> Window:
    y = period.year
    start = date(y, 1, 1)
    days = (date(y, 12, 31) - start).days + 1
    elapsed = max(0.0, min(1.0, ((min(period.end, today) - start).days + 1) / days))
    return Window(period.start, period.end, start, date(y - 1, 1, 1), date(y - 1, 12, 31), elapsed)


@dataclass
class Dashboard:
    data: IndicatorsOut
    trend: list[dict[str, Any]]
    group: IndicatorsOut
    organization_id: int
    comments: list[Any] = field(default_factory=list)
    comments_total: int = 0
    comments_shown: bool = False


def withheld(out: IndicatorsOut) -> IndicatorsOut:
    """``out`` with every score hidden ("недостаточно данных")."""
    gone = {
        "mean": None,
        "ci_low": None,
        "ci_high": None,
        "csat": None,
        "csat_ci_low": None,
        "csat_ci_high": None,
        "suppressed": True,
    }
    return out.model_copy(
        update={
            "items": [i.model_copy(update=gone) for i in out.items],
            "integral": out.integral.model_copy(
                update={"value": None, "ci_low": None, "ci_high": None, "suppressed": True}
            ),
        }
    )


async def trend(
    session: AsyncSession, scope: Scope, unit: UnitFilter, period: Period, m: Methodology
) -> list[dict[str, Any]]:
    """Monthly overall and integral-item means over the twelve months to the period's end."""
    end = period.end
    start = date(end.year - (end.month < 12), end.month % 12 + 1, 1)  # 12 months, end's included
    codes = ["*", "overall", *m.integral_weights]
    rows = await ind_repo.monthly_counts(session, scope, unit, start, period.end, codes)
    by_month: dict[date, dict[str, tuple[int, int]]] = {}
    for r in rows:
        by_month.setdefault(r.month, {})[r.code] = (int(r.n), int(r.total))
    out = []
    for month, c in sorted(by_month.items()):
        resp = c.get("*", (0, 0))[0]
        means = {
            q: t / n for q, (n, t) in c.items() if q != "*" and n >= m.min_n and resp >= m.min_n
        }
        out.append(
            {
                "month": month,
                "responses": resp,
                "overall": means.get("overall"),
                "integral": ind.integral(means, m),
            }
        )
    return out


async def organization_dashboard(
    session: AsyncSession,
    user: User,
    ogrn: str,
    period: Period,
    m: Methodology,
    today: date,
    *,
    q: str = "",
    score: int | None = None,
    page: int = 1,
) -> Dashboard:
    """Headline indicators, trend, comparison group and masked comments of one organization."""
    scope = scope_of(user)
    unit = await ind.resolve_unit(session, f"organization:{ogrn}")
    await ind.check_scope(session, scope, unit)
    data = await ind.compute(session, scope, unit, period, m, today)
    org = await session.get(Organization, int(unit.target_id))
    if org is None:
        raise NotFound()
    # The comparison group is an aggregate of the whole type and region, suppressed like any
    # unit; it is read country-wide on purpose (it shows no organization's own figures), and
    # withheld when the viewer could subtract its own answers and single another one out.
    group_filter = UnitFilter(
        and_(Organization.type_code == org.type_code, Organization.region_code == org.region_code)
    )
    group_unit = ind.Unit("group", f"{org.type_code}:{org.region_code}", "", group_filter)
    group = await ind.compute(session, Scope.country(), group_unit, period, m, today)
    others = await repository.other_responding(session, org, period.start, period.end)
    if others < MIN_OTHERS or group.counts.responses - data.counts.responses < m.min_n:
        group = withheld(group)
    dash = Dashboard(data, await trend(session, scope, unit.filter, period, m), group, org.id)
    if data.counts.responses >= m.min_n:
        dash.comments_shown = True
        dash.comments, dash.comments_total = await ind_repo.comments(
            session,
            scope,
            org.id,
            period.start,
            period.end,
            q=q,
            score=score,
            limit=COMMENTS_PER_PAGE,
            offset=(page - 1) * COMMENTS_PER_PAGE,
        )
    return dash


@dataclass
class OrgTable:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    bands: list[tuple[str, int]] | None = None  # the distribution, when computed alongside


def _row(r: Any, recipients: dict[int, int]) -> dict[str, Any]:
    row = dict(r._mapping)
    rec = recipients.get(int(r.oid), 0)
    row["recipients"] = rec
    row["coverage"] = round(100 * r.resp / rec, 1) if rec else None
    row["status_label"] = STATUS_LABELS[r.status]
    if r.hidden:
        for k in ("integral", "overall", "shrunk", "ytd"):
            row[k] = None
    return row


async def organization_table(
    session: AsyncSession,
    user: User,
    period: Period,
    m: Methodology,
    today: date,
    f: Filters,
    sort: str,
    page: int,
    per_page: int = PER_PAGE,
) -> OrgTable:
    """One page of the organizations in scope with their figures (set-based, one query)."""
    scope = scope_of(user)
    stmt = repository.organization_rows(m, window(period, today), scope, f)
    edges = EDGES if f == Filters() else None  # unfiltered: the distribution comes along
    rows, total, bands = await repository.organization_page(
        session, stmt, sort, per_page, (page - 1) * per_page, edges
    )
    recipients = await repository.coverage_by_org(
        session, scope, [int(r.oid) for r in rows], period.start, period.end
    )
    pages = max(1, -(-total // per_page))
    table = OrgTable([_row(r, recipients) for r in rows], total, page, pages)
    table.bands = None if bands is None else _bands(bands)
    return table


def _bands(counts: dict[int, int]) -> list[tuple[str, int]]:
    return [(label, counts.get(i, 0)) for i, label in enumerate(BIN_LABELS)]


async def distribution(
    session: AsyncSession, user: User, period: Period, m: Methodology, today: date
) -> list[tuple[str, int]]:
    """How many organizations fall into each band of the integral index."""
    stmt = repository.organization_rows(m, window(period, today), scope_of(user), Filters())
    return _bands(await repository.band_counts(session, stmt, EDGES))


async def regions(
    session: AsyncSession, user: User, period: Period, m: Methodology, today: date
) -> list[dict[str, Any]]:
    """Regions as units: pooled and unweighted integral, with complementary suppression."""
    rows = await repository.region_rows(session, m, window(period, today), scope_of(user))
    hidden = complementary_hidden([int(r.resp) for r in rows], m.min_n)
    out = []
    for i, r in enumerate(rows):
        d = dict(r._mapping)
        d["hidden"] = i in hidden
        if d["hidden"]:
            d["pooled"] = d["unweighted"] = None
        out.append(d)
    return out


def band(value: float | None) -> int | None:
    if value is None:
        return None
    return next(i for i, (lo, hi) in enumerate(BINS) if value < hi or i == len(BINS) - 1)


async def filter_options(session: AsyncSession, user: User) -> tuple[list[Any], list[Any]]:
    return await repository.filter_options(session, scope_of(user))
