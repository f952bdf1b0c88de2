"""Each questionnaire's own integral kept on ``responses`` (``integral``), and the full
recompute, which reads it, still equal to the figures computed from the items.

The rebuild trusts the column for questionnaires with no queued row and computes the others
from their items; here the column is made to lag (questionnaires stored by rows with no
integral, items deleted afterwards), some of it folded and some left queued, and the rebuilt
``*integral`` rows are compared with moments computed in Python from the items themselves.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date
from typing import Any

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.indicators import repository
from otklik.indicators.methodology import DEFAULT
from otklik.indicators.tasks import drain
from otklik.surveys.models import Response, ResponseItem
from tests.factories import create_organization
from tests.indicators.factories import create_response
from tests.indicators.test_fold import ITEMS

YEAR = date(2026, 1, 1), date(2026, 12, 31)


async def _from_items(session: AsyncSession) -> dict[Any, float | None]:
    """Every questionnaire's integral computed here from its items (default weights)."""
    sums: dict[Any, list[float]] = {}
    for rid in (await session.scalars(select(Response.id))).all():
        sums[rid] = [0.0, 0.0]
    rows = await session.execute(
        select(ResponseItem.response_id, ResponseItem.code, ResponseItem.value)
    )
    for rid, code, value in rows:
        w = DEFAULT.integral_weights.get(code, 0.0)
        if w > 0 and rid in sums:
            sums[rid][0] += w * value
            sums[rid][1] += w
    return {rid: (s / n if n > 1e-9 else None) for rid, (s, n) in sums.items()}


async def _stored(session: AsyncSession) -> dict[Any, float | None]:
    return dict((await session.execute(select(Response.id, Response.integral))).all())


async def _answers(session: AsyncSession, rnd: random.Random, n: int, fold: bool) -> None:
    orgs = [await create_organization(session) for _ in range(3)]
    for _ in range(n):
        day = date(2026, rnd.randint(1, 11), rnd.randint(1, 28))
        scores = {c: rnd.randint(1, 5) for c in ITEMS if rnd.random() < 0.7}
        if rnd.random() < 0.3:
            scores = {"overall": rnd.randint(1, 5)}  # no integral item
        await create_response(session, rnd.choice(orgs), day, scores, fold=False)
    if fold:
        await drain(session)


async def _forget(session: AsyncSession, rnd: random.Random, k: int) -> None:
    """Integral items of ``k`` questionnaires deleted (one item, or all of them)."""
    ids = list((await session.scalars(select(Response.id))).all())
    for i, rid in enumerate(rnd.sample(ids, k)):
        codes = ["organization"] if i % 2 else list(DEFAULT.integral_weights)
        await session.execute(
            delete(ResponseItem).where(
                ResponseItem.response_id == rid, ResponseItem.code.in_(codes)
            )
        )


async def test_the_fold_keeps_each_questionnaires_integral(session: AsyncSession) -> None:
    rnd = random.Random(21)
    await _answers(session, rnd, 80, fold=True)
    expected = await _from_items(session)
    assert sum(v is None for v in expected.values()) > 5  # some have no integral item
    assert await _stored(session) == pytest.approx(expected)
    # items deleted later: the next fold sets the column right
    await _forget(session, rnd, 20)
    await drain(session)
    changed = await _from_items(session)
    assert changed != expected
    assert await _stored(session) == pytest.approx(changed)


async def _integral_rows(session: AsyncSession) -> dict[Any, tuple[int, float, float]]:
    rows = await session.execute(
        text(
            "SELECT grain, day, organization_id, n, isum, isumsq FROM indicator_rollup "
            "WHERE code = '*integral' AND n <> 0 AND day BETWEEN :s AND :e"
        ),
        {"s": YEAR[0], "e": YEAR[1]},
    )
    return {tuple(r[:3]): (int(r[3]), float(r[4]), float(r[5])) for r in rows}


async def _moments_from_items(session: AsyncSession) -> dict[Any, tuple[int, float, float]]:
    own = await _from_items(session)
    rows = await session.execute(
        select(Response.id, Response.organization_id, Response.answered_on)
    )
    where = {rid: (org, day) for rid, org, day in rows}
    acc: dict[Any, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for rid, v in own.items():
        if v is None:
            continue
        org, day = where[rid]
        for key in (("m", day.replace(day=1), org), ("y", day.replace(month=1, day=1), org)):
            acc[key][0] += 1
            acc[key][1] += v
            acc[key][2] += v * v
    return {k: (int(a[0]), a[1], a[2]) for k, a in acc.items()}


async def test_the_rebuild_equals_the_integrals_of_the_items(session: AsyncSession) -> None:
    rnd = random.Random(22)
    await _answers(session, rnd, 90, fold=True)
    # items deleted after the fold, and more answers, neither folded: their questionnaires are
    # queued and their column lags (answers stored as rows have no integral until folded)
    await _forget(session, rnd, 25)
    await _answers(session, rnd, 40, fold=False)
    stale = await _stored(session)
    assert stale != await _from_items(session)
    # the rollup's integral rows damaged too: the rebuild must not keep them
    await session.execute(
        text("UPDATE indicator_rollup SET isum = isum + 1 WHERE code = '*integral'")
    )

    await repository.rebuild_rollup(session, *YEAR)
    expected = await _moments_from_items(session)
    rebuilt = await _integral_rows(session)
    assert sorted(rebuilt) == sorted(expected)
    for key, (n, s, ss) in expected.items():
        assert rebuilt[key][0] == n, key
        assert rebuilt[key][1:] == pytest.approx((s, ss), rel=1e-9), key
    # the queued questionnaires are counted once the rebuild dropped their rows; the next
    # fold sets their column, and a second rebuild, reading it, gives the same figures
    await drain(session)
    assert await _stored(session) == pytest.approx(await _from_items(session))
    await repository.rebuild_rollup(session, *YEAR)
    again = await _integral_rows(session)
    for key, (n, s, ss) in expected.items():
        assert again[key][0] == n, key
        assert again[key][1:] == pytest.approx((s, ss), rel=1e-9), key
