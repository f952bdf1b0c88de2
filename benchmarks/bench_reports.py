"""Reports: the country's quarterly PDF over 1 000 000 answers, against its own figures' query.

Data: ``OTKLIK_BENCH_REP_RESPONSES`` answers (default 1 000 000) with five items each over
2026 in 2 000 organizations of three regions, generated with INSERT … SELECT generate_series
(the rollup triggers fill ``indicator_rollup`` in the same statements). Each run, timed:

- report: ``reports.service.make(country, 2026-Q3, pdf)`` — every figure through the indicators
  service (quarter, its months, four quarters, targets, the organizations table), the funnel,
  problems, incidents, effects, matplotlib charts and typst;
- baseline 1: ``indicators.service.compute`` of the country for the quarter alone;
- baseline 2: one ``GROUP BY code`` over the quarter's ``response_items`` (the raw answers).

Prints medians of ``OTKLIK_BENCH_REP_RUNS`` runs (default 3) and the ratios. Target: < 30 s.

Database: embedded PostgreSQL under ``benchmarks/out/`` or ``OTKLIK_BENCH_DATABASE_URL``
(schema ``public`` is DROPPED: a throwaway database only; ``OTKLIK_BENCH_REP_REUSE=1`` keeps one
this benchmark filled before, when it holds the same number of answers).
"""

# ruff: noqa: E501 - SQL text is easier to read unwrapped
from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy import text

from otklik import db, migrate
from otklik.indicators import service as indicators
from otklik.indicators.periods import parse_period
from otklik.kit.clock import moscow_date
from otklik.kit.scope import Scope
from otklik.registry.reference import seed_reference
from otklik.registry.service import seed_catalogue
from otklik.reports import service

N = int(os.environ.get("OTKLIK_BENCH_REP_RESPONSES", "1000000"))
RUNS = int(os.environ.get("OTKLIK_BENCH_REP_RUNS", "3"))
PERIOD = "2026-Q3"
OUT = Path(__file__).resolve().parent / "out"
GENERATE = [
    "INSERT INTO questionnaire_versions (version, title, definition) VALUES ('bench', 'b', '{}')",
    """INSERT INTO organizations (ogrn, inn, full_name, short_name, type_code, region_code, founder_id, address, participates_from)
       SELECT lpad((1000000000000 + g)::text, 13, '0'), lpad((1000000000 + g)::text, 10, '0'), 'Организация ' || g,
              'Организация ' || g, 'med_outpatient', (ARRAY['77', '16', '50'])[1 + g % 3],
              (SELECT min(id) FROM founders), '', '2025-01-01'
       FROM generate_series(1, 2000) g""",
    """INSERT INTO responses (id, questionnaire_version, organization_id, organization_type_code, region_code,
         founder_id, service_code, served_on, answered_on, channel, respondent, age_band, answers)
       SELECT gen_random_uuid(), 'bench', o.id, o.type_code, o.region_code, o.founder_id, 'health.checkup',
              date '2026-01-01' + g % 330, date '2026-01-01' + g % 330, 'portal', 'recipient', '30-39', '{}'
       FROM generate_series(1, :n) g JOIN organizations o ON o.id = (SELECT min(id) FROM organizations) + g % 2000""",
    """INSERT INTO response_items (response_id, code, value, organization_id, answered_on)
       SELECT r.id, c.code, 1 + abs(hashtext(r.id::text || c.code)) % 5 / (1 + (r.organization_id % 7 = 0)::int), r.organization_id, r.answered_on
       FROM responses r CROSS JOIN (VALUES ('overall'), ('organization'), ('comfort'), ('staff'), ('information')) c(code)""",
    "ANALYZE",
]
GROUP_BY = """SELECT code, count(*), avg(value) FROM response_items
              WHERE answered_on BETWEEN '2026-07-01' AND '2026-09-30' GROUP BY code"""


async def generate(url: str) -> None:
    engine = db.create_engine(db.to_async_url(url))
    async with db.transaction(db.session_factory(engine)) as s:
        await seed_reference(s)
        await seed_catalogue(s)
    t = time.perf_counter()
    async with engine.begin() as conn:
        for sql in GENERATE:
            await conn.execute(text(sql), {"n": N} if ":n" in sql else {})
    print(
        f"data: {N} answers, {5 * N} items, generated in {time.perf_counter() - t:.0f} s",
        flush=True,
    )
    await engine.dispose()


async def timed(url: str) -> tuple[float, float, float, int]:
    engine = db.create_engine(db.to_async_url(url))
    factory = db.session_factory(engine)
    today = moscow_date()
    async with db.transaction(factory) as s:
        t = time.perf_counter()
        content, data = await service.make(s, "country", PERIOD, "pdf")
        report = time.perf_counter() - t
    assert content.startswith(b"%PDF")
    assert data.figures.counts.responses > 0
    async with db.transaction(factory) as s:
        unit = await indicators.resolve_unit(s, "country:RU")
        m = await indicators.methodology(s, None)
        t = time.perf_counter()
        await indicators.compute(s, Scope.country(), unit, parse_period(PERIOD), m, today)
        compute = time.perf_counter() - t
        t = time.perf_counter()
        (await s.execute(text(GROUP_BY))).all()
        group_by = time.perf_counter() - t
    await engine.dispose()
    return report, compute, group_by, len(content)


def reusable(url: str) -> bool:
    """``OTKLIK_BENCH_REP_REUSE=1``: keep a database this benchmark filled before (same N)."""
    if os.environ.get("OTKLIK_BENCH_REP_REUSE") != "1":
        return False
    with psycopg.connect(db.to_libpq_url(url)) as conn:
        try:
            row = conn.execute("SELECT count(*) FROM responses").fetchone()
        except psycopg.Error:
            return False
    if row is None or row[0] != N:
        return False
    print(f"data: reusing {N} answers", flush=True)
    return True


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="reports-", dir=OUT))
    url = os.environ.get("OTKLIK_BENCH_DATABASE_URL")
    try:
        if not url:
            url = db.start_embedded(tmp / "pgdata", database="bench")
        if not reusable(url):
            with psycopg.connect(db.to_libpq_url(url), autocommit=True) as conn:
                conn.execute("DROP SCHEMA public CASCADE")
                conn.execute("CREATE SCHEMA public")
            migrate.upgrade(db.to_async_url(url))
            asyncio.run(generate(url))
        reports, computes, groups = [], [], []
        for i in range(RUNS):
            r, c, g, size = asyncio.run(timed(url))
            reports.append(r)
            computes.append(c)
            groups.append(g)
            print(
                f"run {i + 1}: report {r:.2f} s ({size // 1024} KB), indicators compute {c:.3f} s, GROUP BY {g:.3f} s",
                flush=True,
            )
        r, c, g = statistics.median(reports), statistics.median(computes), statistics.median(groups)
        print(
            f"country quarterly PDF over {N:,} answers: {r:.2f} s (median of {RUNS}; target < 30 s); "
            f"indicators compute alone {c:.3f} s ({r / c:.1f}x); one GROUP BY of the quarter's answers {g:.3f} s ({r / g:.1f}x)"
        )
        if r >= 30:
            print("FAILED: the report took 30 s or more", file=sys.stderr)
            return 1
    finally:
        if not os.environ.get("OTKLIK_BENCH_DATABASE_URL"):
            db.stop_embedded()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
