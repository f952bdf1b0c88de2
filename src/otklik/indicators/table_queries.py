"""Queries behind the published tables (organizations, regions), set-based from the rollup.

One statement per page: per-organization sums (current period, year to date, previous year),
the integral index (in ``numeric``, rounded half-up like every shown figure), its empirical-Bayes
shrinkage towards the organization's type nationally, and the annual-target status. Which rows
are hidden is decided beforehand over the whole population (``tables.hidden_organizations``)
and passed in as ids: no filter, search, sort or page can change it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Numeric,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.indicators.methodology import Methodology
from otklik.indicators.models import IndicatorSummary
from otklik.indicators.repository import (
    ORG_SCOPE,
    counts_source,
    grain_for,
    moscow_bounds,
    remembered_in,
)
from otklik.indicators.rollup import (
    SUMMARY_CODES,
    SUMMARY_INTEGRAL_MIN_N,
    SUMMARY_INTEGRAL_WEIGHTS,
)
from otklik.intake.models import ServiceRecord
from otklik.kit.pagination import like_pattern
from otklik.kit.scope import Scope, ScopeKind, apply_scope
from otklik.registry.models import Organization, OrganizationType, Region


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
    status: str = ""  # below (shown integral < threshold), behind (annual target), or ""


async def population(session: AsyncSession, year: int) -> list[Any]:
    """Every organization with its questionnaires per month of ``year`` (whole country: the
    protection of a table never depends on who looks at it)."""
    r, o = IndicatorSummary.__table__.c, Organization
    month = cast(func.extract("month", r.day), Integer)
    months = (
        select(
            r.organization_id.label("oid"),
            func.array_agg(month).label("months"),
            func.array_agg(r.resp).label("counts"),
        )
        .where(r.grain == "m", r.day.between(date(year, 1, 1), date(year, 12, 31)))
        .where(r.resp > 0)
        .group_by(r.organization_id)
        .subquery()
    )
    stmt = select(
        o.id, o.region_code, o.type_code, o.founder_id, months.c.months, months.c.counts
    ).join(months, months.c.oid == o.id)
    return list((await session.execute(stmt)).all())


async def population_fingerprint(session: AsyncSession, year: int) -> tuple[int, int, int]:
    """A cheap digest of the year's questionnaire counts per organization (the year rows of the
    summary): equal digests, equal population, so its protection can be reused. Read once per
    year inside ``repository.memo`` (a landing asks for it with every protected cell)."""
    remembered = remembered_in(session)
    if remembered is not None and ("fingerprint", year) in remembered:
        return remembered[("fingerprint", year)]  # type: ignore[no-any-return]
    r = IndicatorSummary.__table__.c
    stmt = select(
        func.coalesce(func.sum(r.resp), 0),
        func.count().filter(r.resp != 0),
        func.coalesce(func.sum(r.organization_id * r.resp), 0),
    ).where(r.grain == "y", r.day == date(year, 1, 1))
    row = (await session.execute(stmt)).one()
    fp = int(row[0]), int(row[1]), int(row[2])
    if remembered is not None:
        remembered[("fingerprint", year)] = fp
    return fp


def _summary_sums(
    m: Methodology,
    grain: str,
    start: date,
    end: date,
    name: str,
    scope: Scope,
    only_x: bool,
    items: bool = True,
    integral: bool = True,
) -> CTE:
    """``_sums`` from the summary rows (one per organization and month or year): the same sums,
    read without pivoting the rollup.

    The year to the end of a month in its second half (January to July..November: a month's
    or a quarter's year to date) is the year's row minus the sums of the months after it,
    joined to it (none, until those months have answers): no aggregate over every
    organization. Exact for the answer counts and sums (integers, all the integral reads); the
    float sums of the respondents' integrals may differ in the last bits from the months' own
    sum."""
    s = IndicatorSummary.__table__
    t = s.c
    # a year, or one month: one summary row per organization, read as it is (no aggregation)
    one = start.year == end.year and (grain == "y" or start.month == end.month)
    grouped = not one
    agg: Any = (lambda c: c) if one else func.sum
    rows = and_(t.grain == grain, t.day.between(start, end))
    source: Any = s
    year = date(start.year, 1, 1)
    if grain == "m" and start == year and end.year == start.year and 7 <= end.month < 12:
        later_months = and_(
            t.grain == "m", t.day.between(date(end.year, end.month + 1, 1), date(end.year, 12, 1))
        )
        summed = ["resp", "s_overall", "n_overall", "ri_n", "ri_s", "ri_ss"]
        summed += [f"{p}_{q}" for q in m.integral_weights for p in ("n", "s")]
        later = (
            select(t.organization_id.label("oid"), *(func.sum(t[c]).label(c) for c in summed))
            .where(later_months)
            .group_by(t.organization_id)
            .subquery("later")
        )
        agg = lambda c: c - func.coalesce(later.c[c.key], 0)  # noqa: E731
        rows = and_(t.grain == "y", t.day == year)
        source = s.outerjoin(later, later.c.oid == t.organization_id)
        grouped = False
    # a single row with its stored integral needs no item sums unless the caller pools them
    stored = one and stored_integral(m) and integral
    cols: list[Any] = [t.organization_id.label("oid"), agg(t.resp).label("resp")]
    if only_x:  # what the integral reads, nothing else
        for q in m.integral_weights:
            cols += [agg(t[f"{p}_{q}"]).label(f"{p}_{q}") for p in ("n", "s")]
    else:
        cols += [agg(t.s_overall).label("s_overall"), agg(t.n_overall).label("n_overall")]
        if items or not stored:  # the item sums (the integral's; nobody reads their squares)
            for q in m.integral_weights:
                cols += [agg(t[f"{p}_{q}"]).label(f"{p}_{q}") for p in ("n", "s")]
        cols += [
            agg(t.ri_n).label("n_resp_integral"),
            agg(t.ri_s).label("s_resp_integral"),
            agg(t.ri_ss).label("ss_resp_integral"),
        ]
    stmt = select(*cols).select_from(source).where(rows)
    if grouped:
        stmt = stmt.group_by(t.organization_id)
    orgs = apply_scope(select(Organization.id), scope, ORG_SCOPE)
    if orgs.whereclause is not None:  # only restrict when something restricts
        stmt = stmt.where(t.organization_id.in_(orgs))
    if stored:  # the row's own integral, kept with it
        return stmt.add_columns(t.x.label("x")).cte(name).prefix_with("MATERIALIZED")
    return _with_integral(stmt, m, name, integral)


def stored_integral(m: Methodology) -> bool:
    """The summary's column ``x`` is this methodology's integral (same weights and min_n)."""
    return m.min_n == SUMMARY_INTEGRAL_MIN_N and m.integral_weights == SUMMARY_INTEGRAL_WEIGHTS


def _sums(
    m: Methodology,
    start: date,
    end: date,
    name: str,
    scope: Scope,
    summary: bool = True,
    *,
    only_x: bool = False,
    items: bool = True,
    integral: bool = True,
) -> CTE:
    """Per organization in scope: responses, the integral items' sums and the moments of the
    respondents' own integrals (``*integral`` rows: the ranking's sampling variance).

    Whole months and years of a methodology whose items are all in the summary read the
    summary rows (with ``only_x``, only what the integral ``x`` needs: a year to date reads
    nothing else; with ``items=False``, a row whose integral is stored carries no item sums:
    the organizations table reads only ``x``, the overall score and the moments; with
    ``integral=False``, no ``x``: the caller evaluates it from the sums where it reads it);
    anything else pivots the rollup (or the answers) here."""
    grain = grain_for(start, end)
    if summary and grain is not None and {*m.integral_weights, "overall"} <= set(SUMMARY_CODES):
        return _summary_sums(m, grain, start, end, name, scope, only_x, items, integral)
    d = counts_source(start, end).c
    sq = d.n1 + 4 * d.n2 + 9 * d.n3 + 16 * d.n4 + 25 * d.n5
    # Sums of int4 accumulate in int8 (sums of the bigint total would go through numeric, far
    # slower); one organization's period total stays far below 2^31.
    total = cast(d.total, Integer)
    cols: list[Any] = [
        d.organization_id.label("oid"),
        func.coalesce(func.sum(d.n).filter(d.code == "*"), 0).label("resp"),
        func.sum(total).filter(d.code == "overall").label("s_overall"),
        func.sum(d.n).filter(d.code == "overall").label("n_overall"),
    ]
    for q in m.integral_weights:
        cols += [
            func.coalesce(func.sum(d.n).filter(d.code == q), 0).label(f"n_{q}"),
            func.coalesce(func.sum(total).filter(d.code == q), 0).label(f"s_{q}"),
            func.coalesce(func.sum(sq).filter(d.code == q), 0).label(f"ss_{q}"),
        ]
    respondent = d.code == "*integral"
    cols += [
        func.coalesce(func.sum(d.n).filter(respondent), 0).label("n_resp_integral"),
        func.coalesce(func.sum(d.isum).filter(respondent), 0.0).label("s_resp_integral"),
        func.coalesce(func.sum(d.isumsq).filter(respondent), 0.0).label("ss_resp_integral"),
    ]
    codes = [*m.integral_weights, "overall", "*", "*integral"]
    stmt = select(*cols).where(d.code.in_(codes)).group_by(d.organization_id)
    orgs = apply_scope(select(Organization.id), scope, ORG_SCOPE)
    if orgs.whereclause is not None:  # only restrict when something restricts
        stmt = stmt.where(d.organization_id.in_(orgs))
    return _with_integral(stmt, m, name, integral)


def _with_integral(stmt: Select[Any], m: Methodology, name: str, integral: bool = True) -> CTE:
    """The per-organization sums with their integral index ``x`` (exact ``numeric``), computed
    once per organization (MATERIALIZED) however often the statement reads it; without
    ``integral``, the sums alone."""
    if not integral:
        return stmt.cte(name).prefix_with("MATERIALIZED")
    inner = stmt.subquery(f"{name}_sums")
    return select(inner, integral_expr(inner.c, m).label("x")).cte(name).prefix_with("MATERIALIZED")


def _exact(s: Any, n: Any) -> Any:
    return cast(s, Numeric) / n


def integral_expr(c: Any, m: Methodology) -> ColumnElement[Any]:
    """The integral index as ``service.integral`` defines it (weighted mean of the item means
    with at least ``min_n`` answers), in exact ``numeric``; NULL when the unit is small."""
    num: Any = literal(0, Numeric)
    den: Any = literal(0, Numeric)
    for q, f in m.integral_weights.items():
        # the weight as a numeric (a bound float would turn the whole sum into float8)
        w = literal(Decimal(str(f)), Numeric)
        ok = c[f"n_{q}"] >= m.min_n
        num = num + case((ok, w * _exact(c[f"s_{q}"], c[f"n_{q}"])), else_=0)
        den = den + case((ok, w), else_=0)
    return case((and_(c["resp"] >= m.min_n, den > 0), num / func.nullif(den, 0)), else_=null())


def shown(v: Any) -> Any:
    """Half-up to two decimals, as ``disclosure.shown`` (``numeric`` rounds half away from 0)."""
    return func.round(cast(v, Numeric), 2)


IDS = bindparam("hidden_ids", type_=ARRAY(BigInteger))
PREV_IDS = bindparam("prev_hidden_ids", type_=ARRAY(BigInteger))


def _among(col: Any, ids: Any) -> ColumnElement[bool]:
    """``col`` is one of the bound ids: a hashed sub-plan (one look-up per row), not ``= ANY``
    of a parameter array (a scan of the whole array per row: 20 000 x 20 000 comparisons when a
    month hides most organizations)."""
    among: ColumnElement[bool] = col.in_(select(func.unnest(ids)))
    return among


def type_priors(nation: CTE, m: Methodology) -> CTE:
    """Per organization type, over every organization of the type in the country whose row the
    table shows (whoever views, whatever the filters): prior mean mu and between-organization
    variance tau^2 of the integral index, and sigma^2, the pooled within-organization variance
    of respondents' own integrals.

    tau^2 = max(0, var(integrals) - sigma^2 * mean(1/n)): the spread of the integrals beyond
    what sampling alone explains (method of moments)."""
    o = Organization
    rows = (
        select(
            o.type_code,
            cast(nation.c.x, Float).label("x"),
            cast(nation.c.n_resp_integral, Float).label("n"),
            nation.c.s_resp_integral.label("s"),
            nation.c.ss_resp_integral.label("ss"),
        )
        .join(nation, nation.c.oid == o.id)
        .where(~_among(o.id, IDS))
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


def organization_rows(
    m: Methodology, w: Window, scope: Scope, f: Filters, *, summary: bool = True
) -> Select[Any]:
    """Every organization in scope with its shown figures (one row each, not yet ordered).
    ``summary=False`` pivots the rollup instead of reading the summary rows (tests compare).

    Binds ``hidden_ids`` (rows hidden in this period's table) and ``prev_hidden_ids`` (hidden in
    the previous year's table: their baseline, hence target, is not shown).
    """
    return _rows(m, w, scope, f, summary, lean=False).rows


@dataclass(frozen=True)
class Lean:
    """The organizations' rows without what only a page of them shows (address, type and
    region names, overall score, year to date: ``organization_page(..., late=...)`` computes
    those for its page), and the per-organization sums the page's columns are computed from."""

    rows: Select[Any]
    m: Methodology
    cur: CTE  # the period's sums (``s_overall``, ``n_overall``)
    ytd: CTE | None  # the year to date's sums; None: the period is its own year to date


def lean_rows(m: Methodology, w: Window, scope: Scope, f: Filters) -> Lean:
    """``organization_rows`` for readers that rank and count every row and show a page: the
    same ids, integrals, ranking values and statuses, narrower rows."""
    return _rows(m, w, scope, f, True, lean=True)


def _rows(m: Methodology, w: Window, scope: Scope, f: Filters, summary: bool, lean: bool) -> Lean:
    o, t, r = Organization, OrganizationType, Region
    cur = _sums(m, w.start, w.end, "cur", scope, summary, items=False)
    prev = _sums(m, w.prev_start, w.prev_end, "prev", scope, summary, items=False)
    hidden = _among(o.id, IDS)
    if w.ytd_start == w.start:  # the period is its own year to date
        ytd = None
        ytd_cols = [shown(cur.c.x).label("ytd")]
    else:  # its sums only: the integral is evaluated where a status or a shown row reads it
        ytd = _sums(m, w.ytd_start, w.end, "ytd", scope, summary, only_x=True, integral=False)
        ytd_cols = [ytd.c[k].label(f"ytd_{k}") for k in _integral_sums(m)]
    wide: list[Any] = []
    if not lean:
        overall = and_(~hidden, cur.c.resp >= m.min_n, cur.c.n_overall >= m.min_n)
        wide = [
            o.address,
            t.name.label("type_name"),
            r.name.label("region_name"),
            case((overall, shown(_exact(cur.c.s_overall, cur.c.n_overall)))).label("overall"),
        ]
    base = select(
        o.id.label("oid"),
        o.ogrn,
        o.short_name.label("name"),
        o.type_code,
        o.region_code,
        *wide,
        func.coalesce(cur.c.resp, 0).label("resp"),
        hidden.label("hidden"),
        case((~hidden, shown(cur.c.x))).label("integral"),
        *ytd_cols,
        case((~_among(o.id, PREV_IDS), shown(prev.c.x))).label("baseline"),
        func.coalesce(cur.c.n_resp_integral, 0).label("n_resp_integral"),
    )
    if not lean:
        base = base.join(t, t.code == o.type_code).join(r, r.code == o.region_code)
    base = base.outerjoin(cur, cur.c.oid == o.id).outerjoin(prev, prev.c.oid == o.id)
    if ytd is not None:
        base = base.outerjoin(ytd, ytd.c.oid == o.id)
    nation = (
        cur
        if scope.kind is ScopeKind.country
        else _sums(m, w.start, w.end, "nation", Scope.country(), summary, items=False)
    )
    g = type_priors(nation, m)
    # not materialized: the sums and integrals are (``cur``, ``prev``, ``ytd``), and so are the
    # finished rows (``organization_page``); the rows are not written out twice
    based = apply_scope(base, scope, ORG_SCOPE).cte("base")
    return Lean(_shrunk_and_status(based, g, m, w, f, lean), m, cur, ytd)


def _integral_sums(m: Methodology) -> list[str]:
    """The sums ``integral_expr`` reads."""
    return ["resp", *(f"{p}_{q}" for q in m.integral_weights for p in ("n", "s"))]


def _ytd(c: Any, m: Methodology) -> Any:
    """The shown year-to-date integral of a row: its column, or evaluated from its ``ytd_*``
    sums (``organization_rows``: only where a status or a shown row reads it)."""
    if "ytd" in c:
        return c.ytd
    return shown(integral_expr({k: c[f"ytd_{k}"] for k in _integral_sums(m)}, m))


def _overall(row: Any, cur: CTE, m: Methodology) -> Any:
    """The shown overall score of a lean row (its ``hidden`` and ``resp``), from the period's
    sums (``cur``, joined on the row's ``oid``)."""
    ok = and_(~row.hidden, row.resp >= m.min_n, cur.c.n_overall >= m.min_n)
    return case((ok, shown(_exact(cur.c.s_overall, cur.c.n_overall))))


def _shrunk_and_status(
    b: CTE, g: CTE, m: Methodology, w: Window, f: Filters, lean: bool
) -> Select[Any]:
    # Empirical Bayes towards the organization's type nationally (see type_priors): the
    # sampling variance of an organization's integral is sigma^2 / n over its respondents with
    # an integral.
    shown_ = b.c.integral.is_not(None)
    value = cast(b.c.integral, Float)
    # a float divisor: the integer count through numeric would cost two text conversions a row
    sampling = g.c.sigma2 / cast(func.nullif(b.c.n_resp_integral, 0), Float)
    tau2 = func.greatest(func.coalesce(g.c.var_between - g.c.sigma2 * g.c.inv_n, 0.0), 0.0)
    weight = case((sampling + tau2 > 0, tau2 / (sampling + tau2)), else_=1.0)
    shrunk = case((shown_, shown(g.c.mu + weight * (value - g.c.mu))), else_=null())
    # every rule compares shown (rounded) values; a hidden row shows no derived figure
    step = literal(Decimal(str(m.annual_step)), Numeric)
    target = func.least(b.c.baseline + step, 5)
    on_track = shown(b.c.baseline + step * w.elapsed)
    # Only a row with a shown baseline under the threshold reads its year to date, once: the
    # bucket of the shown ytd among (the lower of the on-track level and the target, the
    # target) is 2 at or over the target ("met"), 1 at or over the on-track level ("on_track"),
    # 0 under both ("behind"), NULL without a year to date ("insufficient").
    progress = func.width_bucket(_ytd(b.c, m), array([func.least(on_track, target), target]))
    status = case(
        (b.c.hidden, "hidden"),
        (b.c.baseline.is_(None), "no_baseline"),
        (b.c.baseline >= m.improvement_threshold, "not_applicable"),
        else_=case({2: "met", 1: "on_track", 0: "behind"}, value=progress, else_="insufficient"),
    )
    late: list[Any] = []
    if lean and "ytd" in b.c:  # the period's own value: no late year to date
        late.append(case((~b.c.hidden, b.c.ytd)).label("ytd"))
    elif not lean:
        late = [b.c[k] for k in ("address", "type_name", "region_name", "overall")]
        late.append(case((~b.c.hidden, _ytd(b.c, m))).label("ytd"))
    rows = select(
        b.c.oid,
        b.c.ogrn,
        b.c.name,
        b.c.type_code,
        b.c.region_code,
        *late,
        b.c.resp,
        b.c.integral,
        case((~b.c.hidden, b.c.baseline)).label("baseline"),
        case((and_(~b.c.hidden, b.c.baseline < m.improvement_threshold), target)).label("target"),
        shrunk.label("shrunk"),
        cast(status, String).label("status"),
        b.c.hidden,
    ).outerjoin(g, g.c.type_code == b.c.type_code)
    if f.type_code:
        rows = rows.where(b.c.type_code == f.type_code)
    if f.region_code:
        rows = rows.where(b.c.region_code == f.region_code)
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
    "change": "change",  # only where the rows carry it (``regional.with_change``)
}


async def organization_page(
    session: AsyncSession,
    stmt: Select[Any] | Lean,
    params: dict[str, Any],
    sort: str,
    limit: int,
    offset: int,
    edges: list[float] | None = None,
    statuses: tuple[str, ...] = (),
) -> tuple[list[Any], int, dict[int, int] | None, dict[str, int]]:
    """One page of organization rows, plus the total, in one statement.

    Sorting uses the shown columns only (a hidden row's are NULL and sort last). With
    ``edges``, the same statement counts the organizations per band of the shown integral
    index over all its rows (``band_counts``); None when the page is past the end. With
    ``statuses``, it counts the rows of each of these statuses too (what a page filtered by
    the status would total; empty when the page is past the end). Lean rows (``lean_rows``)
    are ranked and counted as they are; the page's rows then get their address, type and
    region names, overall score and year to date after the ``LIMIT``: the same columns,
    computed for a page instead of every organization.
    """
    lean = stmt if isinstance(stmt, Lean) else None
    sub = (stmt.rows if isinstance(stmt, Lean) else stmt).cte("org_rows")
    sub = sub.prefix_with("MATERIALIZED")  # each row's figures computed once
    key = SORTS.get(sort.removeprefix("-"), "shrunk")
    sort_region = Region.__table__.alias("sort_region")
    col: Any = sub.c.shrunk
    if key in sub.c:
        col = sub.c[key]
    elif lean is not None and key == "region_name":  # the name joined for the sort
        col = sort_region.c.name
    elif lean is not None and key == "overall":  # the period's sums joined for the sort
        col = _overall(sub.c, lean.cur, lean.m)
    desc = sort.startswith("-") if sort else True
    # the totals: one aggregate over the rows, joined to the page (a window over every wide
    # row would keep all of them, spilling to disk, for the 25 a page shows)
    extra = [func.count().label("full_count")]
    if edges is not None:
        bucket = _band(sub.c.integral, edges)
        extra += [
            func.count().filter(and_(sub.c.integral.is_not(None), bucket == i)).label(f"band_{i}")
            for i in range(len(edges) + 1)
        ]
    extra += [func.count().filter(sub.c.status == s).label(f"status_{s}") for s in statuses]
    totals = select(*extra).select_from(sub).subquery("totals")
    rows_and_totals = sub.join(totals, literal(True))
    if col is sort_region.c.name:
        rows_and_totals = rows_and_totals.join(sort_region, sort_region.c.code == sub.c.region_code)
    elif lean is not None and key == "overall":
        rows_and_totals = rows_and_totals.outerjoin(lean.cur, lean.cur.c.oid == sub.c.oid)
    page = select(sub, totals).select_from(rows_and_totals)

    def ordered(c: Any, rows: Any) -> tuple[Any, ...]:
        return (c.desc().nulls_last() if desc else c.asc().nulls_last(), rows.name, rows.oid)

    page = page.order_by(*ordered(col, sub.c)).limit(limit).offset(offset)
    if lean is not None:  # the page's rows, then what only they show
        p = page.add_columns(col.label("sort_key")).subquery("page").c
        o, t, r, cur, ytd = Organization, OrganizationType, Region, lean.cur, lean.ytd
        shown_late = [
            o.address,
            t.name.label("type_name"),
            r.name.label("region_name"),
            _overall(p, cur, lean.m).label("overall"),
        ]
        if ytd is not None:
            integral = integral_expr({k: ytd.c[k] for k in _integral_sums(lean.m)}, lean.m)
            shown_late.append(case((~p.hidden, shown(integral))).label("ytd"))
        late = (
            select(*(c for c in p if c.key != "sort_key"), *shown_late)
            .join(o, o.id == p.oid)
            .join(t, t.code == o.type_code)
            .join(r, r.code == o.region_code)
            .outerjoin(cur, cur.c.oid == p.oid)
        )
        if ytd is not None:
            late = late.outerjoin(ytd, ytd.c.oid == p.oid)
        page = late.order_by(*ordered(p.sort_key, p))
    rows = list((await session.execute(page, params)).all())
    total = int(rows[0].full_count) if rows else 0
    if not rows and offset:
        total = int(await session.scalar(select(func.count()).select_from(sub), params) or 0)
    bands = None
    if edges is not None and rows:
        bands = {i: int(rows[0]._mapping[f"band_{i}"]) for i in range(len(edges) + 1)}
    counts = {s: int(rows[0]._mapping[f"status_{s}"]) for s in statuses} if rows else {}
    return rows, total, bands, counts


def _band(integral: Any, edges: list[float]) -> Any:
    """The band of a shown (two-decimal ``numeric``) integral, compared as ``numeric`` with the
    edges as written (``tables.band`` compares the same values as floats: the same order)."""
    return func.width_bucket(integral, literal([Decimal(str(e)) for e in edges], ARRAY(Numeric)))


async def band_counts(
    session: AsyncSession, stmt: Select[Any], params: dict[str, Any], edges: list[float]
) -> dict[int, int]:
    """Organizations per band of the shown integral index (band i: below edges[i])."""
    sub = stmt.subquery()
    bucket = _band(sub.c.integral, edges)
    query = select(bucket, func.count()).where(sub.c.integral.is_not(None)).group_by(bucket)
    return {int(b): int(n) for b, n in await session.execute(query, params)}


async def region_rows(
    session: AsyncSession,
    m: Methodology,
    w: Window,
    scope: Scope,
    hidden_ids: list[int],
    *,
    summary: bool = True,
) -> list[Any]:
    """Per region: pooled integral (summed counts) and the unweighted (344н) mean of its
    organizations' shown values, both exact (rounded when shown)."""
    cur = _sums(m, w.start, w.end, "cur", scope, summary)
    o, r = Organization, Region
    pooled_c: Any = {"resp": func.sum(cur.c.resp)}
    for q in m.integral_weights:
        for p in ("n", "s"):
            pooled_c[f"{p}_{q}"] = func.sum(cur.c[f"{p}_{q}"])
    # the 344н mean averages the values the organizations table shows (hidden rows left out)
    per_org = case((~_among(o.id, IDS), shown(cur.c.x)))
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
    stmt = apply_scope(stmt, scope, ORG_SCOPE)
    return list((await session.execute(stmt, {"hidden_ids": hidden_ids})).all())


def unit_means(m: Methodology, start: date, end: date, scope: Scope, orgs: Any) -> Select[Any]:
    """Per organization of a unit: the shown mean of every item and the shown integral (the
    parts of the 344н-style unweighted mean). Binds ``hidden_ids``."""
    codes = list(dict.fromkeys([*m.items, *m.integral_weights]))
    d = counts_source(start, end).c
    cols: list[Any] = [func.coalesce(func.sum(d.n).filter(d.code == "*"), 0).label("resp")]
    for item in codes:
        cols += [
            func.coalesce(func.sum(d.n).filter(d.code == item), 0).label(f"n_{item}"),
            func.coalesce(func.sum(d.total).filter(d.code == item), 0).label(f"s_{item}"),
        ]
    per = (
        select(d.organization_id.label("oid"), *cols)
        .join(Organization, Organization.id == d.organization_id)
        .where(orgs, ~_among(d.organization_id, IDS))
        .group_by(d.organization_id)
    )
    per_cte = apply_scope(per, scope, ORG_SCOPE).cte("per")
    c = per_cte.c
    ok = c.resp >= m.min_n
    out: list[Any] = [func.count(case((ok, 1))).label("organizations")]
    for item in codes:
        item_ok = and_(ok, c[f"n_{item}"] >= m.min_n)
        mean = case((item_ok, shown(_exact(c[f"s_{item}"], c[f"n_{item}"]))))
        out += [func.avg(mean).label(item), func.count(mean).label(f"k_{item}")]
    out.append(func.avg(shown(integral_expr(c, m))).label("integral"))
    return select(*out)


async def recipients_by_org(
    session: AsyncSession, scope: Scope, ids: list[int], start: date, end: date
) -> dict[int, int]:
    """Distinct service recipients (person keys) served in the period, per organization."""
    lo, hi = moscow_bounds(start, end)
    sr = ServiceRecord
    stmt = (
        select(sr.organization_id, func.count(func.distinct(sr.person_key)))
        .join(Organization, Organization.id == sr.organization_id)
        .where(sr.organization_id.in_(ids), sr.served_at >= lo, sr.served_at < hi)
        .group_by(sr.organization_id)
    )
    rows = await session.execute(apply_scope(stmt, scope, ORG_SCOPE))
    return {int(a): int(b) for a, b in rows}
