"""МСЗУ figures: the statistics intake against a raw COPY of the same rows, and the priority
ranking with its stability (1 000 draws) for 5 000 subjects.

1. **statistics intake**: ``OTKLIK_BENCH_MSZU_ROWS`` rows (default 1 000 000; unique keys of
   38 services × 89 regions × 4 channels × as many months as needed) go through
   ``mszu.statistics.ingest_statistics`` — the code behind ``POST /api/v1/service-statistics``,
   without HTTP — in batches of 10 000, each batch committed. Timed: the first pass (all new
   rows), a re-send of the same rows (all duplicates) and a re-send with every value changed
   (all replaced and audited). Baseline: ``COPY bench_stat_raw FROM STDIN`` of the same rows as
   text into a table without indexes or constraints. Medians of ``REPEATS`` COPY runs.
2. **priority ranking**: ``priorities.service.rank`` of 5 000 subjects with random raw values
   (some missing) and 1 000 weight draws; median of ``REPEATS`` runs; the figure is the time
   (target < 5 s) and its ratio to one plain score-and-sort of the same matrix.

Database: embedded PostgreSQL under ``benchmarks/out/`` or ``OTKLIK_BENCH_DATABASE_URL``
(schema ``public`` is DROPPED: a throwaway database only).
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from otklik import db, migrate
from otklik.identity.audit import Actor
from otklik.intake.service import create_source
from otklik.mszu.statistics import ingest_statistics
from otklik.priorities.service import CRITERIA, DEFAULT_WEIGHTS, Ranked, rank
from otklik.registry.reference import seed_reference
from otklik.registry.service import seed_catalogue

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
ROWS = int(os.environ.get("OTKLIK_BENCH_MSZU_ROWS", "1000000"))
SUBJECTS = 5000
REPEATS = 3
BATCH = 10_000
CHANNELS = ("portal", "proactive", "in_person", "other")


def fmt(v: float) -> str:
    return f"{v:,.0f}".replace(",", " ")


async def _keys(url: str) -> tuple[list[str], list[str]]:
    engine = db.create_engine(db.to_async_url(url))
    async with db.transaction(db.session_factory(engine)) as session:
        await seed_reference(session)
        await seed_catalogue(session)
    async with engine.connect() as conn:
        services = [r[0] for r in await conn.exec_driver_sql("SELECT code FROM services")]
        regions = [r[0] for r in await conn.exec_driver_sql("SELECT code FROM regions")]
    await engine.dispose()
    return sorted(services), sorted(regions)


def make_rows(
    services: list[str], regions: list[str], n: int, bump: int = 0
) -> list[dict[str, Any]]:
    rng = random.Random(7)
    rows: list[dict[str, Any]] = []
    year, month = 2020, 1
    while len(rows) < n:
        m = f"{year}-{month:02d}"
        for s in services:
            for r in regions:
                for c in CHANNELS:
                    rows.append(
                        {
                            "service_code": s,
                            "region_code": r,
                            "month": m,
                            "channel": c,
                            "applications": rng.randint(0, 5000) + bump,
                        }
                    )
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return rows[:n]


async def intake_pass(
    url: str, source_id: int, rows: list[dict[str, Any]]
) -> tuple[float, dict[str, int]]:
    engine = db.create_engine(db.to_async_url(url))
    totals = {"accepted": 0, "replaced": 0, "duplicates": 0, "rejected": 0}
    today = date(2026, 12, 7)
    started = time.perf_counter()
    for at in range(0, len(rows), BATCH):
        async with db.transaction(db.session_factory(engine)) as session:
            result = await ingest_statistics(session, source_id, rows[at : at + BATCH], today=today)
        for k in totals:
            totals[k] += getattr(result, k)
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return elapsed, totals


def copy_baseline(url: str, rows: list[dict[str, Any]]) -> float:
    with psycopg.connect(db.to_libpq_url(url), autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_stat_raw (service_code text, region_code text, "
            "month text, channel text, applications text)"
        )
        conn.execute("TRUNCATE bench_stat_raw")
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY bench_stat_raw FROM STDIN") as copy:
            for r in rows:
                copy.write_row(
                    (
                        r["service_code"],
                        r["region_code"],
                        r["month"],
                        r["channel"],
                        str(r["applications"]),
                    )
                )
        return time.perf_counter() - started


async def source_id(url: str) -> int:
    engine = db.create_engine(db.to_async_url(url))
    async with db.transaction(db.session_factory(engine)) as session:
        source, _ = await create_source(session, Actor.system("bench"), "bench-stats")
        sid = source.id
    await engine.dispose()
    return sid


def bench_intake(url: str) -> None:
    services, regions = asyncio.run(_keys(url))
    rows = make_rows(services, regions, ROWS)
    changed = make_rows(services, regions, ROWS, bump=1)
    sid = asyncio.run(source_id(url))
    # the baseline first, each pass printed when done: a long run still leaves figures
    copy = statistics.median(copy_baseline(url, rows) for _ in range(REPEATS))
    print(f"statistics intake, {fmt(ROWS)} rows in batches of {fmt(BATCH)}:")
    print(f"  COPY baseline      {fmt(ROWS / copy):>12} rows/s  (median of {REPEATS})", flush=True)
    for label, data, key in (
        ("first pass (new)", rows, "accepted"),
        ("re-send (dupl.)", rows, "duplicates"),
        ("re-send (replace)", changed, "replaced"),
    ):
        s, totals = asyncio.run(intake_pass(url, sid, data))
        assert totals[key] == ROWS, totals
        print(f"  {label:<18} {fmt(ROWS / s):>12} rows/s  ratio to COPY {copy / s:.3f}", flush=True)


def bench_ranking() -> None:
    rng = np.random.default_rng(3)
    keys = list(CRITERIA)

    def subjects() -> list[Ranked]:
        out = []
        values = rng.random((SUBJECTS, len(keys)))
        values[:, 0] *= 100_000
        missing = rng.random((SUBJECTS, len(keys))) < 0.1
        for i in range(SUBJECTS):
            raw = {k: (None if missing[i, j] else float(values[i, j])) for j, k in enumerate(keys)}
            out.append(Ranked("service", f"s{i}", f"s{i}", raw))
        return out

    times, plain = [], []
    for _ in range(REPEATS):
        subs = subjects()
        started = time.perf_counter()
        ranked = rank(subs, DEFAULT_WEIGHTS, seed=1)
        times.append(time.perf_counter() - started)
        assert len(ranked) == SUBJECTS
        x = np.nan_to_num(rng.random((SUBJECTS, len(keys))))
        started = time.perf_counter()
        np.argsort(-(x @ np.array([DEFAULT_WEIGHTS[k] for k in keys])))
        plain.append(time.perf_counter() - started)
    t, p = statistics.median(times), statistics.median(plain)
    verdict = "ok" if t < 5 else "OVER the 5 s target"
    print(
        f"priority ranking, {fmt(SUBJECTS)} subjects, 1 000 draws: {t:.3f} s ({verdict}); "
        f"ratio to one plain score-and-sort {t / p:,.0f}"
    )


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="mszu-", dir=OUT))
    try:
        bench_ranking()
        url = os.environ.get("OTKLIK_BENCH_DATABASE_URL")
        if url:
            print("database: OTKLIK_BENCH_DATABASE_URL", flush=True)
        else:
            url = db.start_embedded(tmp / "pgdata", database="bench")
        with psycopg.connect(db.to_libpq_url(url), autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
        migrate.upgrade(db.to_async_url(url))
        bench_intake(url)
    finally:
        db.stop_embedded()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
