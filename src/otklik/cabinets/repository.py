"""Cabinet queries: organization and region rows, set-based from the rollup.

One statement per page: per-organization sums (current period, year to date, previous year),
the integral index, its empirical-Bayes shrinkage towards the organization's type nationally,
the annual-target status and complementary suppression, all in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.roles import ScopeKind
from otklik.indicators.methodology import Methodology
from otklik.indicators.repository import ORG_SCOPE, counts_source, moscow_bounds
from otklik.intake.models import ServiceRecord
from otklik.kit.pagination import like_pattern
from otklik.kit.scope import Scope, apply_scope
from otklik.registry.models import Organization, OrganizationType, Region
from otklik.surveys.models import Response


@dataclass(frozen=True)
class Window:
    """The days a table covers: the period, the year to date and the previous year."""

    start: date
    end: date
    ytd_start: date
    prev_start: date
    prev_end: date
    elapsed: float


@dataclass(frozen=True)
class Filters:
    q: str = ""
    type_code: str = ""
    region_code: str = ""
    status: str = ""  # below (integral < threshold), behind (annual target), or ""


def _org_filters(f: Filters) -> list[ColumnElement[bool]]:
    """Type and region filters: they keep type x region groups whole (the ranking's prior);
    the name search applies to the finished rows."""
    o = Organization
    cond: list[ColumnElement[bool]] = []
    if f.type_code:
        cond.append(o.type_code == f.type_code)
    if f.region_code:
        cond.append(o.region_code == f.region_code)
    return cond


def _sums(m: Methodology, start: date, end: date, name: str, scope: Scope, f: Filters) -> CTE:
    """Per organization in scope (and filters): responses and the integral items' sums."""
    d = counts_source(start, end).c
    sq = d.n1 + 4 * d.n2 + 9 * d.n3 + 16 * d.n4 + 25 * d.n5
    # Sums of int4 accumulate in int8 (sums of the bigint total would go through numeric, far
    # slower); one organization's period total stays far below 2^31. Exact in float8 too.
    total = cast(d.total, Integer)
    cols: list[Any] = [
        d.organization_id.label("oid"),
        func.coalesce(func.sum(d.n).filter(d.code == "*"), 0).label("resp"),
        cast(func.sum(total).filter(d.code == "overall"), Float).label("s_overall"),
        func.sum(d.n).filter(d.code == "overall").label("n_overall"),
    ]
    for q in m.integral_weights:
        cols += [
            func.coalesce(func.sum(d.n).filter(d.code == q), 0).label(f"n_{q}"),
            cast(func.coalesce(func.sum(total).filter(d.code == q), 0), Float).label(f"s_{q}"),
            func.coalesce(func.sum(sq).filter(d.code == q), 0).label(f"ss_{q}"),
        ]
    respondent = d.code == "*integral"  # respondents' own integrals (ranking's variance)
    cols += [
        func.coalesce(func.sum(d.n).filter(respondent), 0).label("n_resp_integral"),
        func.coalesce(func.sum(d.isum).filter(respondent), 0.0).label("s_resp_integral"),
        func.coalesce(func.sum(d.isumsq).filter(respondent), 0.0).label("ss_resp_integral"),
    ]
    codes = [*m.integral_weights, "overall", "*", "*integral"]
    stmt = select(*cols).where(d.code.in_(codes)).group_by(d.organization_id)
    orgs = apply_scope(select(Organization.id).where(*_org_filters(f)), scope, ORG_SCOPE)
    if orgs.whereclause is not None:  # only restrict when something restricts
        stmt = stmt.where(d.organization_id.in_(orgs))
    return stmt.cte(name)


def integral_expr(c: Any, m: Methodology) -> ColumnElement[Any]:
    """Weighted mean of the integral items with at least ``min_n`` answers; NULL if hidden."""
    num: Any = literal(0.0)
    den: Any = literal(0.0)
    for q, w in m.integral_weights.items():
        ok = c[f"n_{q}"] >= m.min_n
        num = num + case((ok, w * cast(c[f"s_{q}"], Float) / c[f"n_{q}"]), else_=0.0)
        den = den + case((ok, w), else_=0.0)
    return case((and_(c["resp"] >= m.min_n, den > 0), num / func.nullif(den, 0)), else_=null())


def organization_rows(m: Methodology, w: Window, scope: Scope, f: Filters) -> Select[Any]:
    """Every organization in scope with its figures (one row each, not yet ordered)."""
    o, t, r = Organization, OrganizationType, Region
    cur = _sums(m, w.start, w.end, "cur", scope, f)
    ytd = cur if w.ytd_start == w.start else _sums(m, w.ytd_start, w.end, "ytd", scope, f)
    prev = _sums(m, w.prev_start, w.prev_end, "prev", scope, f)
    base = (
        select(
            o.id.label("oid"),
            o.ogrn,
            o.short_name.label("name"),
            o.type_code,
            t.name.label("type_name"),
            o.region_code,
            r.name.label("region_name"),
            func.coalesce(cur.c.resp, 0).label("resp"),
            integral_expr(cur.c, m).label("integral"),
            case(
                (
                    and_(cur.c.resp >= m.min_n, cur.c.n_overall >= m.min_n),
                    cast(cur.c.s_overall, Float) / cur.c.n_overall,
                )
            ).label("overall"),
            integral_expr(ytd.c, m).label("ytd"),
            integral_expr(prev.c, m).label("baseline"),
            cur.c.n_resp_integral,
        )
        .join(t, t.code == o.type_code)
        .join(r, r.code == o.region_code)
        .outerjoin(cur, cur.c.oid == o.id)
        .outerjoin(prev, prev.c.oid == o.id)
    )
    if ytd is not cur:
        base = base.outerjoin(ytd, ytd.c.oid == o.id)
    base = apply_scope(base, scope, ORG_SCOPE).where(*_org_filters(f))
    whole = scope.kind is ScopeKind.country and not _org_filters(f)
    nation = cur if whole else _sums(m, w.start, w.end, "nation", Scope.country(), Filters())
    return _shrunk_and_status(base.cte("base"), type_priors(nation, m), m, w, f)


def type_priors(nation: CTE, m: Methodology) -> CTE:
    """Per organization type, over every organization of the type in the country (whoever
    views): prior mean mu and between-organization variance tau^2 of the integral index, and
    sigma^2, the pooled within-organization variance of respondents' own integrals.

    tau^2 = max(0, var(integrals) - sigma^2 * mean(1/n)): the spread of the integrals beyond
    what sampling alone explains (method of moments)."""
    o = Organization
    rows = (
        select(
            o.type_code,
            integral_expr(nation.c, m).label("x"),
            cast(nation.c.n_resp_integral, Float).label("n"),
            nation.c.s_resp_integral.label("s"),
            nation.c.ss_resp_integral.label("ss"),
        )
        .join(nation, nation.c.oid == o.id)
        .subquery("nation_rows")
    )
    ok = and_(rows.c.x.is_not(None), rows.c.n > 1)
    within = func.sum(rows.c.ss - rows.c.s * rows.c.s / rows.c.n) / func.nullif(
        func.sum(rows.c.n - 1), 0
    )
    return (
        select(
            rows.c.type_code,
            func.avg(rows.c.x).label("mu"),
            within.label("sigma2"),
            func.var_samp(rows.c.x).label("var_between"),
            func.avg(1.0 / rows.c.n).label("inv_n"),
        )
        .where(ok)
        .group_by(rows.c.type_code)
        .cte("type_prior")
    )


def _shrunk_and_status(b: CTE, g: CTE, m: Methodology, w: Window, f: Filters) -> Select[Any]:
    # Empirical Bayes towards the organization's type (see type_priors): the sampling variance
    # of an organization's integral is sigma^2 / n over its respondents with an integral.
    shown = b.c.integral.is_not(None)
    sampling = g.c.sigma2 / func.nullif(b.c.n_resp_integral, 0)
    tau2 = func.greatest(func.coalesce(g.c.var_between - g.c.sigma2 * g.c.inv_n, 0.0), 0.0)
    weight = case((sampling + tau2 > 0, tau2 / (sampling + tau2)), else_=1.0)
    shrunk = case((shown, g.c.mu + weight * (b.c.integral - g.c.mu)), else_=null())
    target = func.least(b.c.baseline + m.annual_step, 5.0)
    status = case(
        (b.c.baseline.is_(None), "no_baseline"),
        (b.c.baseline >= m.improvement_threshold, "not_applicable"),
        (b.c.ytd.is_(None), "insufficient"),
        (b.c.ytd >= target - 1e-9, "met"),
        (b.c.ytd >= b.c.baseline + m.annual_step * w.elapsed - 1e-9, "on_track"),
        else_="behind",
    )
    primary = b.c.resp < m.min_n
    n_primary = func.count().filter(primary).over()
    smallest = func.row_number().over(order_by=(primary, b.c.resp, b.c.oid))
    rows = select(
        b.c.oid,
        b.c.ogrn,
        b.c.name,
        b.c.type_code,
        b.c.type_name,
        b.c.region_code,
        b.c.region_name,
        b.c.resp,
        b.c.integral,
        b.c.overall,
        b.c.baseline,
        case((b.c.baseline < m.improvement_threshold, target)).label("target"),
        b.c.ytd,
        shrunk.label("shrunk"),
        cast(status, String).label("status"),
        or_(primary, and_(n_primary == 1, smallest == 1)).label("hidden"),
    ).outerjoin(g, g.c.type_code == b.c.type_code)
    if f.q:
        rows = rows.where(or_(b.c.name.ilike(like_pattern(f.q)), b.c.ogrn == f.q))
    if f.status == "below":
        rows = rows.where(b.c.integral < m.improvement_threshold)
    elif f.status == "behind":
        rows = rows.where(status == "behind")
    return rows


SORTS = {
    "name": "name",
    "responses": "resp",
    "integral": "integral",
    "shrunk": "shrunk",
    "overall": "overall",
    "region": "region_name",
}


async def organization_page(
    session: AsyncSession,
    stmt: Select[Any],
    sort: str,
    limit: int,
    offset: int,
    edges: list[float] | None = None,
) -> tuple[list[Any], int, dict[int, int] | None]:
    """One page of organization rows, plus the total, in one statement.

    With ``edges``, the same statement also counts the organizations per band of the shown
    integral index over all its rows (as ``band_counts``), so an unfiltered page is computed
    once, not twice; None when the page is past the end (no row to carry the counts).
    """
    sub = stmt.subquery()
    key = SORTS.get(sort.removeprefix("-"), "shrunk")
    col = sub.c[key]
    desc = sort.startswith("-") if sort else True
    order = (col.desc().nulls_last() if desc else col.asc().nulls_last(), sub.c.name)
    extra = [func.count().over().label("full_count")]
    if edges is not None:
        shown = and_(sub.c.integral.is_not(None), sub.c.hidden.is_(False))
        bucket = func.width_bucket(sub.c.integral, edges)
        extra += [
            func.count().filter(and_(shown, bucket == i)).over().label(f"band_{i}")
            for i in range(len(edges) + 1)
        ]
    page = select(sub, *extra).order_by(*order)
    rows = list((await session.execute(page.limit(limit).offset(offset))).all())
    total = int(rows[0].full_count) if rows else 0
    if not rows and offset:
        total = int(await session.scalar(select(func.count()).select_from(sub)) or 0)
    bands = None
    if edges is not None and rows:
        bands = {i: int(rows[0]._mapping[f"band_{i}"]) for i in range(len(edges) + 1)}
    return rows, total, bands


async def band_counts(
    session: AsyncSession, stmt: Select[Any], edges: list[float]
) -> dict[int, int]:
    """Organizations per band of the shown integral index (band i: below edges[i])."""
    sub = stmt.subquery()
    shown = and_(sub.c.integral.is_not(None), sub.c.hidden.is_(False))
    bucket = func.width_bucket(sub.c.integral, edges)
    rows = await session.execute(select(bucket, func.count()).where(shown).group_by(bucket))
    return {int(b): int(n) for b, n in rows}


async def region_rows(session: AsyncSession, m: Methodology, w: Window, scope: Scope) -> list[Any]:
    """Per region (every region, for country-wide roles): pooled integral (summed counts) and
    the unweighted mean of its organizations' values."""
    cur = _sums(m, w.start, w.end, "cur", scope, Filters())
    o, r = Organization, Region
    pooled_c: Any = {"resp": func.sum(cur.c.resp)}
    for q in m.integral_weights:  # float8 sums of integers: exact, and faster than numeric
        for p in ("n", "s", "ss"):
            pooled_c[f"{p}_{q}"] = func.sum(cast(cur.c[f"{p}_{q}"], Float))
    per_org = integral_expr(cur.c, m)
    stmt = (
        select(
            r.code,
            r.name,
            func.count(o.id).label("organizations"),
            func.coalesce(pooled_c["resp"], 0).label("resp"),
            integral_expr(pooled_c, m).label("pooled"),
            func.avg(per_org).label("unweighted"),
            func.count(per_org).label("rated"),
        )
        .select_from(r)
        .outerjoin(o, o.region_code == r.code)
        .outerjoin(cur, cur.c.oid == o.id)
        .group_by(r.code, r.name)
        .order_by(r.code)
    )
    return list((await session.execute(apply_scope(stmt, scope, ORG_SCOPE))).all())


async def coverage_by_org(
    session: AsyncSession, scope: Scope, ids: list[int], start: date, end: date
) -> dict[int, int]:
    """Service records served in the period for the given organizations (one page)."""
    lo, hi = moscow_bounds(start, end)
    sr = ServiceRecord
    stmt = (
        select(sr.organization_id, func.count())
        .join(Organization, Organization.id == sr.organization_id)
        .where(sr.organization_id.in_(ids), sr.served_at >= lo, sr.served_at < hi)
        .group_by(sr.organization_id)
    )
    rows = await session.execute(apply_scope(stmt, scope, ORG_SCOPE))
    return {int(a): int(b) for a, b in rows}


async def filter_options(session: AsyncSession, scope: Scope) -> tuple[list[Any], list[Any]]:
    """Types and regions that occur among the organizations in scope."""
    o = Organization
    types = select(OrganizationType.code, OrganizationType.name).where(
        OrganizationType.code.in_(apply_scope(select(o.type_code), scope, ORG_SCOPE))
    )
    regions = select(Region.code, Region.name).where(
        Region.code.in_(apply_scope(select(o.region_code), scope, ORG_SCOPE))
    )
    return (
        list((await session.execute(types.order_by(OrganizationType.position))).all()),
        list((await session.execute(regions.order_by(Region.code))).all()),
    )


async def other_responding(
    session: AsyncSession, organization: Organization, start: date, end: date
) -> int:
    """How many other organizations of the same type and region were answered about in the
    period (the comparison group is shown only when it cannot single one of them out)."""
    stmt = (
        select(func.count(func.distinct(Response.organization_id)))
        .join(Organization, Organization.id == Response.organization_id)
        .where(
            Organization.type_code == organization.type_code,
            Organization.region_code == organization.region_code,
            Organization.id != organization.id,
            Response.answered_on >= start,
            Response.answered_on <= end,
        )
    )
    return int(await session.scalar(stmt) or 0)
