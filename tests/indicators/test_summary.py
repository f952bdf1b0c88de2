"""The summary rows (one per organization and period) give the figures of a full recompute.

Random answers go in and out through the ordinary statements (their triggers queue them, folds
of random batch sizes keep the rollup, the rollup's triggers keep the summary); then the summary
must equal the pivot of the rollup, and the published tables read from the summary must equal
the same tables read from the rollup, before and after ``otklik indicators compute`` rebuilds
everything from the answers.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.indicators import repository, tables
from otklik.indicators import service as ind
from otklik.indicators import table_queries as q
from otklik.indicators.models import IndicatorSummary
from otklik.indicators.periods import parse_period
from otklik.indicators.rollup import SUMMARY_BODIES, SUMMARY_CODES, SUMMARY_COLUMNS
from otklik.indicators.tasks import rebuild
from otklik.kit.scope import Scope, ScopeKind
from tests.factories import create_organization
from tests.indicators.factories import create_response, forget_some, rollup_rows

TODAY = date(2026, 11, 30)
ITEMS = ("overall", "organization", "comfort", "staff", "information", "accessibility")


def _words(sql: str) -> str:
    return " ".join(sql.split())


async def test_summary_trigger_bodies_are_the_documented_ones(session: AsyncSession) -> None:
    rows = await session.execute(
        text("SELECT proname, prosrc FROM pg_proc WHERE proname LIKE 'indicator_summary_%'")
    )
    installed = {str(name): _words(str(src)) for name, src in rows}
    assert installed == {name: _words(body) for name, body in SUMMARY_BODIES.items()}


async def _summary(session: AsyncSession) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    t = IndicatorSummary.__table__.c
    rows = await session.execute(
        select(t.grain, t.day, t.organization_id, *(t[c] for c in SUMMARY_COLUMNS))
    )
    # rows whose every figure is zero (all their answers deleted) carry nothing
    return {tuple(r[:3]): tuple(r[3:]) for r in rows if any(r[3:])}


def _pivot(rollup: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """The summary as the documentation defines it, from rollup rows, in Python."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for grain, day, oid, code, n, total, _n0, n1, n2, n3, n4, n5, isum, isumsq in rollup:
        row = out.setdefault((grain, day, oid), dict.fromkeys(SUMMARY_COLUMNS, 0))
        if code == "*":
            row["resp"] += n
        elif code == "*integral":
            row["ri_n"] += n
            row["ri_s"] += isum
            row["ri_ss"] += isumsq
        elif code in SUMMARY_CODES:
            row[f"n_{code}"] += n
            row[f"s_{code}"] += total
            row[f"ss_{code}"] += n1 + 4 * n2 + 9 * n3 + 16 * n4 + 25 * n5
    return {k: tuple(v.values()) for k, v in out.items() if any(v.values())}


def _same(a: dict[Any, tuple[Any, ...]], b: dict[Any, tuple[Any, ...]]) -> None:
    assert a.keys() == b.keys()
    for k in a:  # counts exactly; the integral moments (float8 sums) to rounding error
        assert a[k] == pytest.approx(b[k], rel=1e-9, abs=1e-9), k


async def _tables(session: AsyncSession, summary: bool) -> list[Any]:
    m = await ind.methodology(session, None)
    out: list[Any] = []
    # 2026-Q3 and 2026-08: their year to date is the year minus the later months (with answers)
    for p in ("2026", "2026-Q2", "2026-Q3", "2026-08", "2026-11", "2025"):
        period = parse_period(p)
        params = {
            "hidden_ids": sorted(await tables.hidden_organizations(session, period, m)),
            "prev_hidden_ids": sorted(
                await tables.hidden_organizations(session, parse_period(str(period.year - 1)), m)
            ),
        }
        w = tables.window(period, TODAY)
        for scope in (Scope.country(), Scope(ScopeKind.region, region_code="58")):
            stmt = q.organization_rows(m, w, scope, q.Filters(), summary=summary)
            rows, total, bands, _ = await q.organization_page(
                session, stmt, params, "-shrunk", 1000, 0, tables.EDGES
            )
            out.append((p, str(scope), total, bands, [tuple(r) for r in rows]))
        regions = await q.region_rows(
            session, m, w, Scope.country(), params["hidden_ids"], summary=summary
        )
        out.append((p, [tuple(r) for r in regions]))
    return out


async def test_summary_equals_recompute_on_random_answers(session: AsyncSession) -> None:
    rnd = random.Random(19)
    orgs = [
        await create_organization(
            session,
            region=rnd.choice(("58", "77")),
            type_code=rnd.choice(("med_outpatient", "med_inpatient")),
        )
        for _ in range(14)
    ]
    weights = [rnd.choice((1, 3, 12)) for _ in orgs]  # small, middling and large organizations
    for _ in range(700):
        org = rnd.choices(orgs, weights)[0]
        day = date(rnd.choice((2025, 2026)), rnd.randint(1, 11), rnd.randint(1, 28))
        scores = {c: rnd.choice((1, 2, 3, 4, 5, 5, 5)) for c in ITEMS if rnd.random() < 0.8}
        if rnd.random() < 0.5:
            scores["recommend"] = rnd.randint(0, 1)
        await create_response(session, org, day, scores, fold=False)
        if rnd.random() < 0.05:  # a fold of a few questionnaires now and then
            await repository.fold_queue(session, limit=rnd.randint(1, 40))
    await forget_some(session, rnd, items=40, whole=30, code="staff")

    years = parse_period("2025").start, parse_period("2026").end
    kept = await _summary(session)
    _same(kept, _pivot(await rollup_rows(session, *years)))
    from_summary = await _tables(session, summary=True)
    assert from_summary == await _tables(session, summary=False)
    assert any(len(t[-1]) > 3 for t in from_summary)  # the tables are not empty

    for year in ("2025", "2026"):  # the full recompute from the answers
        await rebuild(session, parse_period(year))
    _same(await _summary(session), kept)
    assert await _tables(session, summary=True) == from_summary


async def test_stored_integral_is_the_methodology_integral(session: AsyncSession) -> None:
    """The summary's generated column ``x`` equals ``integral_expr`` of the default methodology
    over the same row, exactly, around every threshold (min_n questionnaires, min_n answers of
    an item, no item at all)."""
    m = await ind.methodology(session, None)
    assert q.stored_integral(m)  # the tables read the column for the default methodology
    rnd = random.Random(4)
    org = await create_organization(session)
    cols = ", ".join(SUMMARY_COLUMNS)
    values = ", ".join(":" + c for c in SUMMARY_COLUMNS)
    insert = f"INSERT INTO indicator_summary (grain, day, organization_id, {cols}) "
    insert += f"VALUES ('m', :day, :org, {values})"
    for i in range(300):
        row: dict[str, Any] = dict.fromkeys(SUMMARY_COLUMNS, 0)
        row["resp"] = rnd.choice((m.min_n - 1, m.min_n, m.min_n + 1, rnd.randint(0, 400)))
        for code in SUMMARY_CODES:
            n = rnd.choice((0, m.min_n - 1, m.min_n, rnd.randint(0, 400)))
            row[f"n_{code}"], row[f"s_{code}"] = n, sum(rnd.randint(1, 5) for _ in range(n))
        await session.execute(
            text(insert),
            {**row, "day": date(2000 + i // 12, i % 12 + 1, 1), "org": org.id},
        )
    t = IndicatorSummary.__table__.c
    rows = (
        await session.execute(select(t.x, q.integral_expr(t, m)).where(t.organization_id == org.id))
    ).all()
    assert len(rows) == 300
    assert all(stored == computed for stored, computed in rows), [r for r in rows if r[0] != r[1]][
        :3
    ]
    assert sum(r[0] is None for r in rows) > 20
    assert sum(r[0] is not None for r in rows) > 20
