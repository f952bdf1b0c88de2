"""The country's rows (``indicator_country``) and the questionnaires by service month (code
``*served``) give the figures of the rollup, of the answers and of a full recompute.

Random answers for organizations of three regions, about services of the same day or up to 40
days earlier (across months and the new year), some folded at once and some left queued,
single items and whole questionnaires deleted again; then the country's rows must equal the
rollup summed over every organization, the ``*served`` rows must equal the questionnaires
counted by service month from ``responses``, and every reading of the whole country (value
counts, the summary's months and means, the respondents' integral moments, coverage's
numerator) must equal the same reading over every organization by the organizations' rows
and raw SQL over the answers, before and after ``otklik indicators compute`` rebuilds
everything.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.indicators import protection, repository
from otklik.indicators import service as ind
from otklik.indicators.periods import parse_period
from otklik.indicators.repository import UnitFilter
from otklik.indicators.rollup import COUNTRY_COLUMNS, SERVED
from otklik.indicators.tasks import rebuild
from otklik.kit.scope import Scope
from otklik.registry.models import Organization
from otklik.surveys.models import Response, ResponseItem
from tests.factories import create_organization
from tests.indicators.factories import create_response, forget_some

ITEMS = ("overall", "organization", "comfort", "staff", "information", "accessibility")
PERIODS = (
    "2026",
    "2025",
    "2026-Q1",
    "2026-Q3",
    "2026-11",
    "2026-01",
    "2026-04",  # no answers at all
    "2026-01-01..2026-11-30",  # whole months: the month rows
    "2026-02-03..2026-05-09",  # days: the answers themselves
)


async def _answers(session: AsyncSession) -> None:
    rnd = random.Random(2012)
    orgs = [await create_organization(session, region=r) for r in ("58", "58", "77", "77", "50")]
    for _ in range(500):
        org = rnd.choice(orgs)
        month = rnd.choice((1, 2, 3, 5, 7, 9, 11, 12))  # none answered in April
        answered = date(rnd.choice((2025, 2026)), month, rnd.randint(1, 28))
        served = answered - timedelta(days=rnd.choice((0, 0, 1, 3, 10, 40)))
        scores = {c: rnd.choice((1, 2, 3, 4, 5, 5)) for c in ITEMS if rnd.random() < 0.85}
        if rnd.random() < 0.5:
            scores["recommend"] = rnd.randint(0, 1)
        fold = rnd.random() < 0.2  # the rest waits in the queue for the drain below
        await create_response(session, org, answered, scores, fold=fold, served_on=served)
    await forget_some(session, rnd, items=30, whole=25, code="overall")


def _same(a: dict[Any, tuple[Any, ...]], b: dict[Any, tuple[Any, ...]]) -> None:
    """Equal keys; integers exactly, the float8 sums of the integrals to rounding."""
    assert a.keys() == b.keys(), sorted(set(a) ^ set(b))
    for key, row in a.items():
        for x, y in zip(row, b[key], strict=True):
            if isinstance(x, float) or isinstance(y, float):
                assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9), (key, row, b[key])
            else:
                assert x == y, (key, row, b[key])


async def _country_rows(session: AsyncSession) -> dict[Any, tuple[Any, ...]]:
    cols = ", ".join(COUNTRY_COLUMNS)
    rows = await session.execute(text(f"SELECT grain, day, code, {cols} FROM indicator_country"))  # noqa: S608
    return {tuple(r[:3]): tuple(r[3:]) for r in rows}


async def _rollup_summed(session: AsyncSession) -> dict[Any, tuple[Any, ...]]:
    sums = ", ".join(f"sum({c})" for c in COUNTRY_COLUMNS)
    rows = await session.execute(
        text(f"SELECT grain, day, code, {sums} FROM indicator_rollup GROUP BY 1, 2, 3")  # noqa: S608
    )
    return {tuple(r[:3]): tuple(int(x) if i < 8 else x for i, x in enumerate(r[3:])) for r in rows}


async def _served(session: AsyncSession) -> tuple[dict[Any, int], dict[Any, int]]:
    """``*served`` rows of the rollup, and the same counted from ``responses``."""
    kept = await session.execute(
        text(
            "SELECT grain, day, organization_id, n FROM indicator_rollup WHERE code = :c AND n <> 0"
        ),
        {"c": SERVED},
    )
    raw = await session.execute(
        text(
            "SELECT g, d, organization_id, count(*) FROM ("
            " SELECT 'm' AS g, date_trunc('month', served_on)::date AS d, organization_id"
            " FROM responses UNION ALL"
            " SELECT 'y', date_trunc('year', served_on)::date, organization_id FROM responses"
            ") s GROUP BY 1, 2, 3"
        )
    )
    return {tuple(r[:3]): int(r[3]) for r in kept}, {tuple(r[:3]): int(r[3]) for r in raw}


async def _readings(session: AsyncSession) -> dict[str, Any]:
    """Every country-wide reading the landing makes, from the country's rows, each checked
    against the same reading over every organization (the organizations' rows) and raw SQL."""
    country = Scope.country()
    unit = (await ind.resolve_unit(session, "country:RU")).filter
    assert repository.whole_country(country, unit)
    # every organization, named so that the organizations' own rows are read
    every = UnitFilter(Organization.id > 0)
    assert not repository.whole_country(country, every)
    m = await ind.methodology(session, None)
    codes = protection.codes_of(m)
    out: dict[str, Any] = {}
    for p in PERIODS:
        period = parse_period(p)
        lo, hi = period.start, period.end
        for name, read in (
            ("counts", lambda u, a=lo, b=hi: repository.item_counts(session, country, u, a, b)),
            (
                "means",
                lambda u, a=lo, b=hi: repository.item_means(session, country, u, a, b, codes),
            ),
            (
                "months",
                lambda u, a=lo, b=hi: repository.monthly_counts(session, country, u, a, b, codes),
            ),
            (
                "integral",
                lambda u, a=lo, b=hi: repository.integral_moments(session, country, u, a, b),
            ),
            (
                "by_service",
                lambda u, a=lo, b=hi: repository.responses_by_service_date(
                    session, country, u, a, b
                ),
            ),
        ):
            mine, theirs = await read(unit), await read(every)
            if name == "integral":
                assert mine[0] == theirs[0], p
                assert all(
                    math.isclose(x, y, abs_tol=1e-9) for x, y in zip(mine, theirs, strict=True)
                ), p
            else:
                assert mine == theirs, (name, p, mine, theirs)
            out[f"{name} {p}"] = mine
        # raw SQL over the answers: questionnaires by service day, by answer day, item counts
        served = select(func.count()).where(Response.served_on.between(lo, hi))
        assert out[f"by_service {p}"] == await session.scalar(served), p
        answered = select(func.count()).where(Response.answered_on.between(lo, hi))
        assert out[f"counts {p}"].get("*", {"n": 0})["n"] == await session.scalar(answered), p
        i = ResponseItem
        raw = await session.execute(
            select(i.code, func.count(), func.sum(i.value), func.count().filter(i.value == 5))
            .where(i.answered_on.between(lo, hi))
            .group_by(i.code)
        )
        for code, n, total, fives in raw:
            c = out[f"counts {p}"][code]
            assert (c["n"], c["total"], c["n5"]) == (n, total, fives), (p, code)
    return out


async def test_country_rows_and_served_counts_equal_the_recompute(session: AsyncSession) -> None:
    await _answers(session)
    _same(await _country_rows(session), await _rollup_summed(session))
    kept, raw = await _served(session)
    assert kept == raw
    assert len(raw) > 20
    before = await _readings(session)
    assert before["by_service 2026-01"] != before["counts 2026-01"]["*"]["n"]  # not the same
    assert before["counts 2026-Q3"]["*"]["n"] > 0
    assert before["counts 2026-04"] == {}

    for year in ("2025", "2026"):
        await rebuild(session, parse_period(year))
    _same(await _country_rows(session), await _rollup_summed(session))
    kept, raw = await _served(session)
    assert kept == raw
    after = await _readings(session)
    assert after.keys() == before.keys()
    for key, value in before.items():
        if key.startswith("integral"):
            assert value[0] == after[key][0], key
            assert all(
                math.isclose(x, y, abs_tol=1e-9) for x, y in zip(value, after[key], strict=True)
            ), key
        elif key.startswith(("counts", "months")):
            # rows whose answers were all deleted stay (zero) until a rebuild drops them
            assert _nonzero(value) == _nonzero(after[key]), key
        else:
            assert value == after[key], key

    # rollup rows deleted by hand (a clean-up): the country's rows follow, and a country row
    # left without any rollup row of its grain, day and code goes with the last one
    oid = await session.scalar(select(func.min(Response.organization_id)))
    await session.execute(
        text("DELETE FROM indicator_rollup WHERE organization_id = :o"), {"o": oid}
    )
    await session.execute(text("DELETE FROM indicator_rollup WHERE day = '2026-01-01'"))
    rows = await _country_rows(session)
    _same(rows, await _rollup_summed(session))
    assert ("m", date(2026, 1, 1), "*") not in rows
    assert ("m", date(2026, 2, 1), "*") in rows


def _nonzero(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if any(v.values())}
    return [r for r in value if r.n or r.total]
