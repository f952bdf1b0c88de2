"""Disclosure control: one mechanism deciding which cells may be shown, and how figures round.

A *cell* is a count of answers behind a figure (a month of a unit, an organization's row in a
table). A cell is protected when no combination of figures the same user can see isolates a set
of answers whose size is above zero and below ``min_n``. Three rules give that:

* **Primary**: a cell with fewer than ``min_n`` answers is hidden.
* **Residual**: wherever an aggregate is shown beside its parts (a table beside its region's or
  the country's total, a year beside its quarters and months), the hidden parts together must
  hold none or at least ``min_n`` answers; otherwise more parts are hidden (the smallest first),
  and if that cannot help, the aggregate itself.
* **Periods**: figures are given for whole months, quarters and years, protected together within
  their calendar year (``year_mask``); a day range only where every day of the months it touches
  has none or at least ``min_n`` answers (``range_allowed``), so any two ranges differ by whole
  protected days.

Rounding happens once, here, half-up in ``Decimal``: every rule (improvement zone, target,
status) compares the value the user sees.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import lru_cache

Number = Fraction | float | int | Decimal
HIDDEN_LABEL = "недостаточно данных"


def shown(v: Number | None, places: int = 2) -> float | None:
    """The value as displayed: rounded half-up to ``places`` decimals (exact for fractions)."""
    if v is None:
        return None
    if isinstance(v, Fraction):
        d = Decimal(v.numerator) / Decimal(v.denominator)
    elif isinstance(v, float):
        d = Decimal(repr(v))  # the shortest decimal that is this float: 4.275, not 4.27499…
    else:
        d = Decimal(v)
    return float(d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def percent(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in percent, one decimal, half-up; None when ``whole`` is 0."""
    return shown(Fraction(100 * part, whole), 1) if whole else None


def small(n: int, min_n: int) -> bool:
    """A count that must not be shown beside a figure it would let one recompute."""
    return 0 < n < min_n


def ratio(part: int, whole: int, min_n: int) -> float | None:
    """A ratio shown only when both its counts hold the threshold (or the part is none)."""
    if whole < min_n or small(part, min_n):
        return None
    return percent(part, whole)


def count(n: int, min_n: int) -> int | None:
    """A denominator count, hidden when small (with its ratio it would give the part away)."""
    return None if small(n, min_n) else n


def _residual_fix(
    hidden: set[int], members: Sequence[int], counts: Sequence[int], min_n: int
) -> bool:
    """Hide the smallest shown non-empty member while the hidden ones hold 1..min_n-1 answers.

    Returns False when nothing is left to hide (the aggregate itself must then be hidden).
    """
    while small(sum(counts[i] for i in members if i in hidden), min_n):
        spare = [(counts[i], i) for i in members if i not in hidden and counts[i] > 0]
        if not spare:
            return False
        hidden.add(min(spare)[1])
    return True


def table_hidden(
    counts: Sequence[int],
    min_n: int,
    groups: Iterable[Sequence[Hashable]] = (),
    forced: Iterable[int] = (),
) -> set[int]:
    """Indices of the rows to hide in a table whose totals are public.

    ``groups`` lists, per grouping the user can ask totals for (region, type, founder …), each
    row's key; the whole table is always one group. Rows with fewer than ``min_n`` answers are
    hidden; then, in every group, the hidden rows must hold none or at least ``min_n`` answers.
    ``forced`` rows are hidden whatever their count (hidden by another protection, e.g. their
    own year's). The decision depends only on the counts, never on a filter, search, sort or page.
    """
    hidden = {i for i, n in enumerate(counts) if n < min_n} | set(forced)
    partitions: list[list[list[int]]] = [[list(range(len(counts)))]]
    for keys in groups:
        by: dict[Hashable, list[int]] = {}
        for i, k in enumerate(keys):
            by.setdefault(k, []).append(i)
        partitions.append(list(by.values()))
    changed = True
    while changed:
        before = len(hidden)
        for part in partitions:
            for members in part:
                _residual_fix(hidden, members, counts, min_n)
        changed = len(hidden) != before
    return hidden


@dataclass(frozen=True)
class YearMask:
    """Hidden months (0-11), quarters (0-3) and whether the year is hidden."""

    months: frozenset[int]
    quarters: frozenset[int]
    year: bool

    def hides(self, kind: str, month: int) -> bool:
        """Whether the cell of ``kind`` (month, quarter, year) holding month 1-12 is hidden."""
        if kind == "month":
            return month - 1 in self.months
        if kind == "quarter":
            return (month - 1) // 3 in self.quarters
        return self.year


_QUARTERS = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (9, 10, 11))
_ALL = YearMask(frozenset(range(12)), frozenset(range(4)), True)


@lru_cache(maxsize=65536)
def _year_mask(n: tuple[int, ...], min_n: int) -> YearMask:
    if sum(n) < min_n:
        return _ALL
    hidden = [0 < c < min_n or c == 0 for c in n]  # empty months hide nothing: count as hidden
    extra = [False] * 4
    while True:
        left = sum(c for c, h in zip(n, hidden, strict=True) if h)
        while 0 < left < min_n:  # the year minus the shown months
            spare = [(c, i) for i, c in enumerate(n) if not hidden[i] and c > 0]
            if not spare:
                return _ALL
            c, i = min(spare)
            hidden[i] = True
            left += c
        quarters = [
            extra[q] or 0 < sum(n[i] for i in m if hidden[i]) < min_n
            for q, m in enumerate(_QUARTERS)
        ]
        inside = [i for q, m in enumerate(_QUARTERS) if quarters[q] for i in m]
        if not 0 < sum(n[i] for i in inside if hidden[i]) < min_n:
            months = frozenset(i for i in range(12) if hidden[i] and n[i] > 0)
            return YearMask(months, frozenset(q for q in range(4) if quarters[q]), False)
        spare = [(n[i], i) for i in inside if not hidden[i] and n[i] > 0]
        if spare:
            hidden[min(spare)[1]] = True
            continue
        others = [(sum(n[i] for i in m), q) for q, m in enumerate(_QUARTERS) if not quarters[q]]
        others = [(t, q) for t, q in others if t > 0]
        if not others:
            return _ALL
        q = min(others)[1]
        extra[q] = True
        if not any(hidden[i] and n[i] > 0 for i in _QUARTERS[q]):
            hidden[min((n[i], i) for i in _QUARTERS[q] if n[i] > 0)[1]] = True


def year_mask(months: Sequence[int], min_n: int) -> YearMask:
    """Protect a unit's twelve months, four quarters and year together.

    What a user can combine: the year minus the shown months (all hidden months), a shown
    quarter minus its shown months (its hidden months), the year minus the shown quarters and
    the shown months of hidden quarters (the hidden months of hidden quarters). Each of these
    must hold none or at least ``min_n`` answers; more months, then quarters, then the year
    are hidden until they do. ``test_disclosure_rules`` checks it against an exhaustive
    linear attacker.
    """
    return _year_mask(tuple(months), min_n)


def range_allowed(daily: Iterable[int], min_n: int) -> bool:
    """A day range may be shown when no day of the months it touches holds 1..min_n-1 answers."""
    return not any(small(n, min_n) for n in daily)
