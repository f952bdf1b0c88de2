"""Published tables (organizations, regions): their figures and which cells they hide.

Cabinets call these; they never compute a figure themselves. Hidden cells are decided by
``disclosure`` over the whole population of the period, before any scope, filter, search, sort
or page, so every user, page, export and API answer hides the same cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.indicators import disclosure
from otklik.indicators import table_queries as q
from otklik.indicators.methodology import Methodology
from otklik.indicators.periods import Period, fixed_grain, year_of
from otklik.indicators.stats import STATUS_LABELS
from otklik.indicators.table_queries import Filters, Window
from otklik.kit.scope import Scope

BINS = ((1.0, 3.5), (3.5, 4.0), (4.0, 4.5), (4.5, 4.8), (4.8, 5.01))
BIN_LABELS = ("ниже 3,5", "3,5–4,0", "4,0–4,5", "4,5–4,8", "4,8 и выше")
EDGES = [hi for _, hi in BINS[:-1]]
STATUS_LABELS_SHOWN = {**STATUS_LABELS, "hidden": disclosure.HIDDEN_LABEL}


def window(period: Period, today: date) -> Window:
    y = period.year
    start = date(y, 1, 1)
    days = (date(y, 12, 31) - start).days + 1
    elapsed = max(0.0, min(1.0, ((min(period.end, today) - start).days + 1) / days))
    return Window(period.start, period.end, start, date(y - 1, 1, 1), date(y - 1, 12, 31), elapsed)


@dataclass(frozen=True)
class Population:
    """Every organization with answers in the period's year: keys and per-month counts."""

    ids: list[int]
    regions: list[str]
    types: list[str]
    founders: list[int]
    months: list[list[int]]


# Protection reused while the year's counts are unchanged (keyed by their digest): a page
# needs the population of up to three periods and the trend twelve months of it.
_POPULATIONS: dict[tuple[int, tuple[int, int, int]], Population] = {}
_HIDDEN: dict[tuple[int, tuple[int, int, int], str, int], frozenset[int]] = {}
_HIDDEN_REGIONS: dict[tuple[int, tuple[int, int, int], str, int], frozenset[str]] = {}
_KEEP = 8


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    while len(cache) >= _KEEP * (16 if cache is _HIDDEN or cache is _HIDDEN_REGIONS else 1):
        cache.pop(next(iter(cache)))
    cache[key] = value


async def population(session: AsyncSession, year: int) -> Population:
    """Every organization with answers in ``year`` and its per-month counts (cached by digest)."""
    key = (year, await q.population_fingerprint(session, year))
    if key not in _POPULATIONS:
        _remember(_POPULATIONS, key, await _read_population(session, year))
    return _POPULATIONS[key]


async def hidden_for(session: AsyncSession, period: Period, min_n: int) -> frozenset[int]:
    """Ids of the organizations hidden in the table of a fixed-grain period (cached by digest)."""
    period = fixed_grain(period)
    fp = await q.population_fingerprint(session, period.year)
    key = (period.year, fp, f"{period.kind}:{period.start}", min_n)
    if key not in _HIDDEN:
        pop = await population(session, period.year)
        _remember(_HIDDEN, key, frozenset(hidden_in(pop, period, min_n)))
    return _HIDDEN[key]


async def _read_population(session: AsyncSession, year: int) -> Population:
    rows = await q.population(session, year)
    months = []
    for r in rows:
        counts = [0] * 12
        for mo, c in zip(r.months, r.counts, strict=True):
            counts[int(mo) - 1] += int(c)
        months.append(counts)
    return Population(
        [int(r.id) for r in rows],
        [str(r.region_code) for r in rows],
        [str(r.type_code) for r in rows],
        [int(r.founder_id) for r in rows],
        months,
    )


def _cell(months: list[int], period: Period, min_n: int) -> tuple[int, bool]:
    """The period's count of a unit and whether its own year's protection hides it."""
    lo, hi = (0, 12) if period.kind == "year" else (period.start.month - 1, period.end.month)
    n = sum(months[lo:hi])
    if not any(disclosure.small(c, min_n) for c in months):
        return n, n < min_n
    return n, disclosure.year_mask(months, min_n).hides(period.kind, period.start.month)


def hidden_in(pop: Population, period: Period, min_n: int) -> set[int]:
    """Ids of the organizations hidden in the period's table (primary, time and residual)."""
    counts, forced = [], set()
    for i, months in enumerate(pop.months):
        n, hide = _cell(months, period, min_n)
        counts.append(n)
        if hide:
            forced.add(i)
    groups = (pop.regions, pop.types, pop.founders)
    hidden = disclosure.table_hidden(counts, min_n, groups, forced)
    return {pop.ids[i] for i in hidden}


async def hidden_organizations(session: AsyncSession, period: Period, m: Methodology) -> set[int]:
    return set(await hidden_for(session, period, m.min_n))


async def hidden_regions(session: AsyncSession, period: Period, m: Methodology) -> set[str]:
    """Regions hidden in the regions table of the period (their own months, then residual;
    cached by the year's digest, as ``hidden_for``)."""
    period = fixed_grain(period)
    fp = await q.population_fingerprint(session, period.year)
    key = (period.year, fp, f"{period.kind}:{period.start}", m.min_n)
    if key not in _HIDDEN_REGIONS:
        pop = await population(session, period.year)
        _remember(_HIDDEN_REGIONS, key, frozenset(_hidden_regions(pop, period, m.min_n)))
    return set(_HIDDEN_REGIONS[key])


def _hidden_regions(pop: Population, period: Period, min_n: int) -> set[str]:
    by_region: dict[str, list[int]] = {}
    for code, months in zip(pop.regions, pop.months, strict=True):
        acc = by_region.setdefault(code, [0] * 12)
        for i, c in enumerate(months):
            acc[i] += c
    codes = sorted(by_region)
    counts, forced = [], set()
    for i, code in enumerate(codes):
        n, hide = _cell(by_region[code], period, min_n)
        counts.append(n)
        if hide:
            forced.add(i)
    return {codes[i] for i in disclosure.table_hidden(counts, min_n, (), forced)}


@dataclass
class OrgTable:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    bands: list[tuple[str, int]] | None = None  # the distribution, when computed alongside
    statuses: dict[str, int] | None = None  # rows per status asked for, counted alongside


async def _params(session: AsyncSession, period: Period, m: Methodology) -> dict[str, Any]:
    return {
        "hidden_ids": sorted(await hidden_organizations(session, period, m)),
        "prev_hidden_ids": sorted(await hidden_organizations(session, year_of(period.year - 1), m)),
    }


def _row(r: Any, recipients: dict[int, int], m: Methodology) -> dict[str, Any]:
    row = dict(r._mapping)
    for k in ("integral", "overall", "shrunk", "ytd", "baseline", "target"):
        row[k] = None if row[k] is None else float(row[k])
    rec = recipients.get(int(r.oid), 0)
    row["recipients"] = None if r.hidden else disclosure.count(rec, m.min_n)
    row["coverage"] = None if r.hidden else disclosure.ratio(int(r.resp), rec, m.min_n)
    row["status_label"] = STATUS_LABELS_SHOWN[r.status]
    return row


def _bands(counts: dict[int, int]) -> list[tuple[str, int]]:
    return [(label, counts.get(i, 0)) for i, label in enumerate(BIN_LABELS)]


async def organization_table(
    session: AsyncSession,
    scope: Scope,
    period: Period,
    m: Methodology,
    today: date,
    f: Filters,
    sort: str,
    page: int,
    per_page: int,
    statuses: tuple[str, ...] = (),
) -> OrgTable:
    """One page of the organizations in scope with their shown figures (and, with
    ``statuses``, how many rows of the table have each of these statuses). Every row is ranked
    from the lean rows (``table_queries.lean_rows``); the page's rows alone get their
    address, names, overall score and year to date."""
    params = await _params(session, period, m)
    lean = q.lean_rows(m, window(period, today), scope, f)
    edges = EDGES if f == Filters() else None  # unfiltered: the distribution comes along
    rows, total, bands, counts = await q.organization_page(
        session, lean, params, sort, per_page, (page - 1) * per_page, edges, statuses
    )
    recipients = await q.recipients_by_org(
        session, scope, [int(r.oid) for r in rows], period.start, period.end
    )
    pages = max(1, -(-total // per_page))
    table = OrgTable([_row(r, recipients, m) for r in rows], total, page, pages)
    table.bands = None if bands is None else _bands(bands)
    table.statuses = {s: counts.get(s, 0) for s in statuses} if statuses else None
    return table


async def at_risk(
    session: AsyncSession, scope: Scope, period: Period, m: Methodology, today: date, worst: int
) -> OrgTable:
    """The first ``worst`` rows of the table by the ranking value (its default order), the
    distribution and the count behind target, as ``organization_table`` gives them unfiltered
    (the same lean rows; no recipients or coverage). The rows carry what the landing shows:
    name, OGRN, region, shown integral, ranking value, answers, status."""
    params = await _params(session, period, m)
    lean = q.lean_rows(m, window(period, today), scope, Filters())
    rows, total, bands, counts = await q.organization_page(
        session, lean, params, "shrunk", worst, 0, EDGES, ("behind",)
    )
    out = []
    for r in rows:
        row = dict(r._mapping)
        for k in ("integral", "overall", "shrunk", "ytd", "baseline", "target"):
            row[k] = None if row[k] is None else float(row[k])
        row["status_label"] = STATUS_LABELS_SHOWN[r.status]
        out.append(row)
    table = OrgTable(out, total, 1, max(1, -(-total // worst)))
    table.bands = None if bands is None else _bands(bands)
    table.statuses = {"behind": counts.get("behind", 0)}
    return table


async def distribution(
    session: AsyncSession, scope: Scope, period: Period, m: Methodology, today: date
) -> list[tuple[str, int]]:
    """How many organizations fall into each band of the shown integral index."""
    params = await _params(session, period, m)
    stmt = q.organization_rows(m, window(period, today), scope, Filters())
    return _bands(await q.band_counts(session, stmt, params, EDGES))


async def regions(
    session: AsyncSession, scope: Scope, period: Period, m: Methodology, today: date
) -> list[dict[str, Any]]:
    """Regions as units: pooled and unweighted (344н) integral, hidden as the API hides them."""
    hidden = await hidden_regions(session, period, m)
    orgs = sorted(await hidden_organizations(session, period, m))
    out = []
    for r in await q.region_rows(session, m, window(period, today), scope, orgs):
        d = dict(r._mapping)
        d["hidden"] = r.code in hidden or int(r.resp) < m.min_n
        d["pooled"] = None if d["hidden"] else disclosure.shown(d["pooled"])
        d["unweighted"] = None if d["hidden"] else disclosure.shown(d["unweighted"])
        out.append(d)
    return out


def band(value: float | None) -> int | None:
    if value is None:
        return None
    return next(i for i, (lo, hi) in enumerate(BINS) if value < hi or i == len(BINS) - 1)
