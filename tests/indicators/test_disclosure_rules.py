"""The disclosure rules against an exhaustive attacker, and the one rounding at boundaries.

The attacker knows the total of every shown cell (month, quarter, year) and each month's count
n (zero months are known to be empty). It may take any linear combination; it succeeds when a
combination is the total of a set of months holding 1..min_n-1 answers.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from otklik.indicators.disclosure import percent, shown, table_hidden, year_mask

MIN_N = 10


def _reduce(basis: list[tuple[int, list[Fraction]]], v: list[Fraction]) -> list[Fraction]:
    v = list(v)
    for pivot, row in basis:
        if v[pivot]:
            f = v[pivot]
            v = [a - f * b for a, b in zip(v, row, strict=True)]
    return v


def _span(vectors: list[list[int]]) -> list[tuple[int, list[Fraction]]]:
    basis: list[tuple[int, list[Fraction]]] = []
    for vec in vectors:
        v = _reduce(basis, [Fraction(x) for x in vec])
        pivot = next((i for i, x in enumerate(v) if x), None)
        if pivot is None:
            continue
        v = [x / v[pivot] for x in v]
        basis = [(p, [a - r[pivot] * b for a, b in zip(r, v, strict=True)]) for p, r in basis]
        basis.append((pivot, v))
    return basis


def _known(months: list[int]) -> list[list[int]]:
    mask = year_mask(months, MIN_N)
    known = [[int(i == m) for i in range(12)] for m in range(12) if months[m] == 0]
    known += [[int(i == m) for i in range(12)] for m in range(12) if m not in mask.months]
    known += [[int(i // 3 == q) for i in range(12)] for q in range(4) if q not in mask.quarters]
    if not mask.year:
        known.append([1] * 12)
    return known


def _leaks(months: list[int]) -> list[tuple[int, ...]]:
    basis = _span(_known(months))
    found = []
    live = [m for m in range(12) if months[m] > 0]
    for size in range(1, len(live) + 1):
        for subset in combinations(live, size):
            n = sum(months[m] for m in subset)
            if not 0 < n < MIN_N:
                continue
            v = [Fraction(int(m in subset)) for m in range(12)]
            if not any(_reduce(basis, v)):
                found.append(subset)
    return found


month_counts = st.lists(
    st.one_of(st.just(0), st.integers(1, 9), st.integers(10, 40)), min_size=12, max_size=12
)


@settings(max_examples=150, deadline=None)
@given(month_counts)
def test_no_combination_of_shown_cells_isolates_a_small_set(months: list[int]) -> None:
    assert _leaks(months) == []


def test_the_audit_cases() -> None:
    # one answer in October beside full November and December: Q4 - Nov - Dec
    assert _leaks([0] * 9 + [1, 12, 12]) == []
    # a quarter of four answers beside three full ones: year - Q1 - Q2 - Q3
    assert _leaks([12, 12, 12, 12, 12, 12, 12, 12, 12, 4, 0, 0]) == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.sampled_from("ab")), min_size=1, max_size=9))
def test_table_hidden_rows_hold_none_or_enough_per_group(rows: list[tuple[int, str]]) -> None:
    counts = [n for n, _ in rows]
    groups = [g for _, g in rows]
    hidden = table_hidden(counts, MIN_N, [groups])
    assert all(i in hidden for i, n in enumerate(counts) if n < MIN_N)
    for key in (None, "a", "b"):
        left = sum(n for i, (n, g) in enumerate(rows) if i in hidden and key in (None, g))
        total = sum(n for n, g in rows if key in (None, g))
        assert not 0 < left < MIN_N or total < MIN_N


def test_rounding_is_half_up_once_in_decimal() -> None:
    assert shown(Fraction(171, 40)) == 4.28  # 4.275: float round() gives 4.27
    assert shown(Fraction(899, 200)) == 4.5  # 4.495
    assert shown(Fraction(9, 2)) == 4.5
    assert shown(171 / 40) == 4.28  # a float keeps its shortest decimal, 4.275
    assert shown(Fraction(18, 16)) == 1.13  # 1.125: round-half-even would give 1.12
    assert percent(1, 8) == 12.5
    assert percent(1, 16) == 6.3  # 6.25
