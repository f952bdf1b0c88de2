"""Incidents and effects (issue 13): the two figures the issue names.

1. The incident job over ``OTKLIK_BENCH_SIGNALS`` EWMA drop signals (default 1 000 000) for 2 000
   organizations: grouping in < 30 s, memory flat (the job works in batches of 50 000; the
   resident set size of the process is printed before and after). Baseline in the same run: a raw
   ``INSERT INTO … SELECT`` copy of the same signals into a temporary table.
2. The effect assessment of one change (100 affected organizations, the others of the type as the
   comparison group) over ``OTKLIK_BENCH_ANSWERS`` answers (default 1 000 000): goal < 2 s; ratio
   to one ``GROUP BY organization_id`` of the same answers. Medians of 5 runs each.

Database: embedded PostgreSQL under ``benchmarks/out/`` or ``OTKLIK_BENCH_DATABASE_URL``
(schema ``public`` is DROPPED: a throwaway database only).
"""

# ruff: noqa: E501 - SQL text is easier to read unwrapped
from __future__ import annotations

import asyncio
import os
import resource
import shutil
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import text

from otklik import db, migrate
from otklik.effects import service as effects
from otklik.identity.audit import Actor
from otklik.incidents import service as incidents
from otklik.registry.reference import seed_reference
from otklik.registry.service import seed_catalogue

SIGNALS = int(os.environ.get("OTKLIK_BENCH_SIGNALS", "1000000"))
ANSWERS = int(os.environ.get("OTKLIK_BENCH_ANSWERS", "1000000"))
ORGS = 2000
OUT = Path(__file__).resolve().parent / "out"
RELEASE = date(2026, 6, 1)

ORGANIZATIONS = """
INSERT INTO organizations (ogrn, inn, full_name, short_name, type_code, region_code, founder_id, address, participates_from)
SELECT '9' || lpad(g::text, 12, '0'), '7' || lpad(g::text, 9, '0'), 'Организация ' || g, 'Организация ' || g,
       'med_outpatient', f.region_code, f.id, '', DATE '2025-06-15'
FROM generate_series(1, :n) g
JOIN (SELECT id, region_code, row_number() OVER (ORDER BY id) - 1 AS k, count(*) OVER () AS m
      FROM founders WHERE kind = 'regional') f ON f.k = g % f.m
"""
SIGNAL_ROWS = """
INSERT INTO signals (kind, unit, period, payload)
SELECT 'indicator_drop', 'organization:' || o.ogrn, 'W' || w,
       jsonb_build_object('item', 'overall', 'method', 'ewma', 'baseline', 4.5, 'ewma', 4.5 - (w % 7) / 10.0, 'lower_limit', 4.3)
FROM (SELECT ogrn, row_number() OVER (ORDER BY id) AS r FROM organizations) o,
     generate_series(1, CEIL(CAST(:n AS numeric) / :orgs)::int) w
WHERE (w - 1) * :orgs + o.r <= :n
"""
QUESTIONNAIRE = "INSERT INTO questionnaire_versions (version, title, definition) VALUES ('bench.1', 'Бенчмарк', '{}'::jsonb) ON CONFLICT DO NOTHING"
RESPONSES = """
INSERT INTO responses (id, questionnaire_version, organization_id, organization_type_code, region_code, founder_id,
                       service_code, served_on, answered_on, channel, respondent, age_band, answers)
SELECT gen_random_uuid(), 'bench.1', o.id, o.type_code, o.region_code, o.founder_id, 'health.outpatient_visit',
       DATE '2026-03-01' + (g % 184), DATE '2026-03-01' + (g % 184), 'portal', 'recipient', '30-44', '{}'::jsonb
FROM generate_series(1, :n) g
JOIN (SELECT id, type_code, region_code, founder_id, row_number() OVER (ORDER BY id) - 1 AS k FROM organizations) o
  ON o.k = g % :orgs
"""
ITEMS = """
INSERT INTO response_items (response_id, code, value, organization_id, answered_on)
SELECT id, 'overall', 1 + (abs(hashtext(id::text)) % 5), organization_id, answered_on FROM responses
"""


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run(url: str) -> None:
    engine = db.create_engine(db.to_async_url(url))
    factory = db.session_factory(engine)
    async with db.transaction(factory) as s:
        await seed_reference(s)
        await seed_catalogue(s, Actor.system("bench"))
        await s.execute(text(ORGANIZATIONS), {"n": ORGS})
        t0 = time.perf_counter()
        await s.execute(text(SIGNAL_ROWS), {"n": SIGNALS, "orgs": ORGS})
    print(f"generated {SIGNALS} signals in {time.perf_counter() - t0:.1f} s", flush=True)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE"))

    async with db.transaction(factory) as s:
        t0 = time.perf_counter()
        await s.execute(text("CREATE TEMP TABLE copy_signals AS SELECT * FROM signals"))
        base = time.perf_counter() - t0
        await s.execute(text("DROP TABLE copy_signals"))

    now = datetime(2026, 12, 31, 21, 30, tzinfo=UTC)
    before = rss_mb()
    t0, batches, opened = time.perf_counter(), 0, 0
    peak: list[float] = []
    while True:
        async with db.transaction(factory) as s:  # one transaction per batch, as the worker does
            found = await incidents.detect(s, now)
        batches += 1
        opened += found["opened"]
        peak.append(rss_mb())
        if not found["signals"]:
            break
    took = time.perf_counter() - t0
    async with factory() as s:
        total = await s.scalar(text("SELECT count(*) FROM incidents"))
        evidence = await s.scalar(text("SELECT count(*) FROM incident_evidence"))
    print(
        f"1. incident job over {SIGNALS} signals: {took:.1f} s in {batches} batches "
        f"({took / base:.1f}x a raw copy of the signals, {base:.1f} s); {total} incidents, "
        f"{evidence} evidence rows; max RSS {before:.0f} MB before, {peak[0]:.0f} MB after the first "
        f"batch, {peak[-1]:.0f} MB at the end; goal < 30 s, memory flat",
        flush=True,
    )

    async with db.transaction(factory) as s:
        await s.execute(text(QUESTIONNAIRE))
        t0 = time.perf_counter()
        await s.execute(text(RESPONSES), {"n": ANSWERS, "orgs": ORGS})
        await s.execute(text(ITEMS))
    print(f"generated {ANSWERS} answers in {time.perf_counter() - t0:.1f} s", flush=True)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE"))
    async with factory() as s:
        ids = [
            int(r)
            for r in (
                await s.scalars(text("SELECT id FROM organizations ORDER BY id LIMIT 100"))
            ).all()
        ]
    group_by, assess = [], []
    for _ in range(5):
        async with factory() as s:
            t0 = time.perf_counter()
            await s.execute(
                text(
                    "SELECT organization_id, count(*), sum(value) FROM response_items WHERE code = 'overall' GROUP BY 1"
                )
            )
            group_by.append(time.perf_counter() - t0)
        async with db.transaction(factory) as s:
            a = await effects.create(
                s, Actor.system("bench"), title="bench", indicator="overall", direction=1,
                released_on=RELEASE, organization_ids=ids, window_days=56,
            )  # fmt: skip
            t0 = time.perf_counter()
            await effects.compute(s, a, RELEASE + timedelta(days=120), now)
            assess.append(time.perf_counter() - t0)
            await s.rollback()
    g, e = statistics.median(group_by), statistics.median(assess)
    print(
        f"2. effect of one change over {ANSWERS} answers ({a.n_treated} vs {a.n_control} organizations, "
        f"{a.method}, verdict {a.verdict}): median {e:.2f} s; one GROUP BY of the answers {g:.2f} s "
        f"(ratio {e / g:.1f}x); goal < 2 s",
        flush=True,
    )
    await engine.dispose()


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="incidents-", dir=OUT))
    url = os.environ.get("OTKLIK_BENCH_DATABASE_URL")
    try:
        if not url:
            url = db.start_embedded(tmp / "pgdata", database="bench")
        with psycopg.connect(db.to_libpq_url(url), autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
        migrate.upgrade(db.to_async_url(url))
        asyncio.run(run(url))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
