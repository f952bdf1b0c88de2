"""Which cells of the open data are hidden: the cabinets' sets, closed against subtraction.

Published per quarter: every organization's row (``tables.hidden_organizations``, exactly the
cabinets' set), and the aggregates by region (``tables.hidden_regions``, the cabinets' set), by
organization type and by founder (the same rule, ``group_hidden``, over the same population).

An attacker knows every shown count and sum, and the country's total. The hidden
organizations are the unknowns; each shown aggregate gives one equation over the hidden
organizations it holds, the country another. ``table_hidden`` already makes every single
equation hold none or at least ``min_n`` answers. ``close`` then hides more *aggregates*
(never fewer than the cabinets hide, never an organization) until, in addition, no equation
subtracted from another that contains it, and no country total minus a grouping's shown
aggregates, isolates 1..min_n-1 answers. ``tests/opendata/test_subtraction.py`` attacks the
published files with every combination of equations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.indicators import disclosure, tables
from otklik.indicators.methodology import Methodology
from otklik.indicators.periods import Period
from otklik.indicators.tables import Population

GROUPINGS = ("region", "type", "founder")


@dataclass(frozen=True)
class Hidden:
    """Hidden organization ids and, per grouping, hidden keys (region code, type code,
    founder id as text) of one fixed-grain period."""

    organizations: frozenset[int]
    groups: dict[str, frozenset[str]]

    def org(self, oid: int) -> bool:
        return oid in self.organizations

    def group(self, grouping: str, key: str) -> bool:
        return key in self.groups[grouping]


def keys_of(pop: Population, grouping: str) -> list[str]:
    if grouping == "region":
        return list(pop.regions)
    if grouping == "type":
        return list(pop.types)
    return [str(f) for f in pop.founders]


def period_count(months: Sequence[int], period: Period) -> int:
    lo, hi = (0, 12) if period.kind == "year" else (period.start.month - 1, period.end.month)
    return sum(months[lo:hi])


def _cell_hidden(months: Sequence[int], period: Period, min_n: int) -> bool:
    """As ``tables._cell``: the aggregate's own year protection hides the period's cell."""
    n = period_count(months, period)
    if not any(disclosure.small(c, min_n) for c in months):
        return n < min_n
    return disclosure.year_mask(months, min_n).hides(period.kind, period.start.month)


def group_hidden(
    pop: Population, grouping: str, period: Period, min_n: int, forced: set[str] | None = None
) -> set[str]:
    """Keys of the aggregates hidden in a grouping's table: their own months (primary, year
    protection), then residual over the table, exactly as ``tables.hidden_regions``."""
    acc: dict[str, list[int]] = {}
    for key, months in zip(keys_of(pop, grouping), pop.months, strict=True):
        row = acc.setdefault(key, [0] * 12)
        for i, c in enumerate(months):
            row[i] += c
    codes = sorted(acc)
    counts, force = [], set()
    for i, code in enumerate(codes):
        counts.append(period_count(acc[code], period))
        if _cell_hidden(acc[code], period, min_n) or (forced and code in forced):
            force.add(i)
    return {codes[i] for i in disclosure.table_hidden(counts, min_n, (), force)}


def close(
    pop: Population, period: Period, min_n: int, orgs: set[int], groups: dict[str, set[str]]
) -> dict[str, set[str]]:
    """Hide more aggregates until no equation minus the shown aggregates of another grouping
    that it contains isolates 1..min_n-1 answers (see the module)."""
    n = {oid: period_count(m, period) for oid, m in zip(pop.ids, pop.months, strict=True)}
    members: dict[str, dict[str, frozenset[int]]] = {}
    for g in GROUPINGS:
        by: dict[str, set[int]] = {}
        for oid, key in zip(pop.ids, keys_of(pop, g), strict=True):
            if oid in orgs and n[oid] > 0:
                by.setdefault(key, set()).add(oid)
        members[g] = {k: frozenset(v) for k, v in by.items()}
    everything = frozenset(o for o in orgs if n.get(o, 0) > 0)
    out = {g: set(v) for g, v in groups.items()}

    def size(s: Iterable[int]) -> int:
        return sum(n[o] for o in s)

    for _ in range(1000):
        extra = _violations(everything, members, out, size, min_n)
        if not extra:
            extra = _solvable(everything, members, out, n, min_n)
        if not extra:
            return out
        for g, keys in extra.items():
            out[g] = group_hidden(pop, g, period, min_n, out[g] | keys)
    raise RuntimeError("suppression did not converge")  # pragma: no cover - bounded by keys


def _violations(
    everything: frozenset[int],
    members: dict[str, dict[str, frozenset[int]]],
    hidden: dict[str, set[str]],
    size: Callable[[Iterable[int]], int],
    min_n: int,
) -> dict[str, set[str]]:
    """Aggregates to hide: for every equation B (the country, each shown aggregate) and every
    other grouping, B minus the union of that grouping's shown aggregates inside B must hold
    none or at least ``min_n`` answers; else the smallest of those aggregates is hidden."""
    shown = {
        g: {k: s for k, s in members[g].items() if k not in hidden[g] and s} for g in GROUPINGS
    }
    key_of = {g: {o: k for k, s in members[g].items() for o in s} for g in GROUPINGS}
    equations: list[tuple[str | None, frozenset[int]]] = [(None, everything)]
    equations += [(g, s) for g in GROUPINGS for s in shown[g].values()]
    extra: dict[str, set[str]] = {}

    def bad(s: frozenset[int]) -> bool:  # a small set, or one organization's own figures
        return disclosure.small(size(s), min_n) or len(s) == 1

    for g in GROUPINGS:  # a shown aggregate holding one hidden organization gives it away
        extra.setdefault(g, set()).update(k for k, s in shown[g].items() if len(s) == 1)
    for own, b in equations:
        for g in GROUPINGS:
            if g == own:
                continue
            keys = {key_of[g][o] for o in b}
            inside = [(size(s), k, s) for k in keys if (s := shown[g].get(k)) and s <= b]
            if not inside:
                continue
            union = frozenset().union(*(s for _, _, s in inside))
            if bad(b - union):
                extra.setdefault(g, set()).add(min(inside)[1])
    return {g: keys for g, keys in extra.items() if keys}


def _solvable(
    everything: frozenset[int],
    members: dict[str, dict[str, frozenset[int]]],
    hidden: dict[str, set[str]],
    n: dict[int, int],
    min_n: int,
) -> dict[str, set[str]]:
    """Aggregates to hide so that no single hidden organization, and no pair of them holding
    1..min_n-1 answers, lies in the span of the equations (any combination, not only the
    nested ones ``_violations`` sees): a vector v is determined iff |Pv| = |v|, P the
    projector onto the equations' row space."""
    unknowns = sorted(everything)
    if len(unknowns) < 2:
        return {}
    col = {o: i for i, o in enumerate(unknowns)}
    rows: list[tuple[str | None, str | None, frozenset[int]]] = [(None, None, everything)]
    for g in GROUPINGS:
        rows += [(g, k, s) for k, s in members[g].items() if k not in hidden[g] and s]
    a = np.zeros((len(rows), len(unknowns)))
    for r, (_, _, s) in enumerate(rows):
        a[r, [col[o] for o in s]] = 1.0
    _, sv, vt = np.linalg.svd(a, full_matrices=False)
    q = vt[sv > 1e-9 * sv.max()]
    diag = (q * q).sum(axis=0)
    targets: list[list[int]] = [[int(i)] for i in np.flatnonzero(diag > 1 - 1e-6)]
    small = [i for i, o in enumerate(unknowns) if n[o] < min_n]
    if len(small) > 1:
        p = q[:, small].T @ q[:, small]
        for x, i in enumerate(small):
            for y in range(x + 1, len(small)):
                j = small[y]
                pair = diag[i] + diag[j] + 2 * p[x, y]
                if pair > 2 - 1e-6 and disclosure.small(n[unknowns[i]] + n[unknowns[j]], min_n):
                    targets.append([i, j])
    extra: dict[str, set[str]] = {}
    for t in targets:
        # the equations combining into it: hide the aggregate weighing most in the combination
        v = np.zeros(len(unknowns))
        v[t] = 1.0
        c = np.linalg.lstsq(a.T, v, rcond=None)[0]
        c[0] = 0.0  # the country's total cannot be hidden
        grouping, key, _ = rows[int(np.argmax(np.abs(c)))]
        if grouping is not None and key is not None:
            extra.setdefault(grouping, set()).add(key)
    return extra


@dataclass
class _Cached:
    key: tuple[object, ...]
    hidden: Hidden


_CACHE: dict[str, _Cached] = {}


async def hidden(session: AsyncSession, period: Period, m: Methodology) -> Hidden:
    """The open data's hidden cells of a fixed-grain period (cached by the year's digest)."""
    from otklik.indicators import table_queries as q

    fp = await q.population_fingerprint(session, period.year)
    cache_key = (fp, m.min_n)
    hit = _CACHE.get(period.text)
    if hit is not None and hit.key == cache_key:
        return hit.hidden
    pop = await tables.population(session, period.year)
    orgs = set(await tables.hidden_organizations(session, period, m))
    groups = {
        "region": await tables.hidden_regions(session, period, m),
        "type": group_hidden(pop, "type", period, m.min_n),
        "founder": group_hidden(pop, "founder", period, m.min_n),
    }
    closed = close(pop, period, m.min_n, orgs, groups)
    result = Hidden(frozenset(orgs), {g: frozenset(v) for g, v in closed.items()})
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[period.text] = _Cached(cache_key, result)
    return result
