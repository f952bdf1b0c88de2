"""Open data: the organizations CSV of a quarter for every organization, against a plain COPY.

Data: ``OTKLIK_BENCH_OD_ORGS`` organizations (default 20 000) and ``OTKLIK_BENCH_OD_RESPONSES``
answers (default 1 000 000) over 2026-01-01..2026-11-30, six items each, generated set-based
with INSERT … SELECT generate_series (``bench_indicators.GENERATE``), then the year's rollup
rebuilt (``indicators.tasks.rebuild``). Each run, medians of ``OTKLIK_BENCH_OD_RUNS`` (default
3):

- build job: the quarter's four files (organizations, regions, types, founders; every format
  and filter is served from them) built from scratch by the periodic job
  (``opendata.tasks.build_files`` until it finds nothing to do; stored files deleted and the
  protection caches emptied first, so the hidden cells are decided from scratch); reported, no
  goal;
- first download after a process restart: a new application and engine (new connections) with
  every process cache empty, ``GET /api/open/v1/organizations.csv?period=2026-Q3`` over ASGI,
  the streamed body read to its end, the file already stored (goal < 2 s); the same for
  ``organizations.json`` (reported);
- baseline: ``COPY (SELECT`` the same rows — organization, region, type, founder and the
  quarter's per-organization sums from the rollup — ``) TO STDOUT`` read to the end by psycopg.

Once per run of the script, also: a download that finds no stored file (the job has not run
yet: it builds the organizations file under the lock, then streams it) and a conditional GET
(304). Prints the times, their ratios to COPY and the rows and bytes of the file.

Database: embedded PostgreSQL under ``benchmarks/out/`` or ``OTKLIK_BENCH_DATABASE_URL``
(schema ``public`` is DROPPED: a throwaway database only). ``OTKLIK_BENCH_OD_PARTS=measure``
re-measures on the data of an earlier run.
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
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from otklik import db, migrate
from otklik.app import create_app
from otklik.config import Settings
from otklik.indicators import tables
from otklik.indicators.periods import parse_period
from otklik.indicators.tasks import rebuild
from otklik.opendata import suppression
from otklik.opendata.tasks import build_files
from otklik.registry.reference import seed_reference
from otklik.registry.service import seed_catalogue

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_indicators import GENERATE  # the same data as the indicators benchmark

ORGS = int(os.environ.get("OTKLIK_BENCH_OD_ORGS", "20000"))
RESPONSES = int(os.environ.get("OTKLIK_BENCH_OD_RESPONSES", "1000000"))
RUNS = int(os.environ.get("OTKLIK_BENCH_OD_RUNS", "3"))
PARTS = os.environ.get("OTKLIK_BENCH_OD_PARTS", "generate,measure").split(",")
OUT = Path(__file__).resolve().parent / "out"
QUARTER = "2026-Q3"
BASELINE = """COPY (
  SELECT o.ogrn, o.short_name, o.address, o.region_code, r.name, o.type_code, t.name, f.code, f.short_name,
         s.resp, s.s_overall, s.n_overall
  FROM organizations o
  JOIN regions r ON r.code = o.region_code
  JOIN organization_types t ON t.code = o.type_code
  JOIN founders f ON f.id = o.founder_id
  LEFT JOIN (SELECT organization_id, sum(n) FILTER (WHERE code = '*') resp,
                    sum(total) FILTER (WHERE code = 'overall') s_overall,
                    sum(n) FILTER (WHERE code = 'overall') n_overall
             FROM indicator_rollup WHERE grain = 'm' AND day BETWEEN '2026-07-01' AND '2026-09-30'
             GROUP BY organization_id) s ON s.organization_id = o.id
  ORDER BY o.ogrn) TO STDOUT WITH (FORMAT csv)"""


async def generate(url: str) -> None:
    engine = db.create_engine(db.to_async_url(url))
    async with db.transaction(db.session_factory(engine)) as s:
        await seed_reference(s)
        await seed_catalogue(s)
    t = time.perf_counter()
    async with engine.begin() as conn:
        for sql in GENERATE[:4]:
            await conn.execute(text(sql), {"orgs": ORGS})
        base = (await conn.execute(text("SELECT min(id) FROM organizations"))).scalar_one()
        await conn.execute(text(GENERATE[4]), {"n": RESPONSES, "base": base, "orgs": ORGS})
        await conn.execute(text(GENERATE[5]), {"n": RESPONSES, "base": base, "orgs": ORGS})
        for sql in GENERATE[6:8]:
            await conn.execute(text(sql))
    async with db.transaction(db.session_factory(engine)) as s:
        await rebuild(s, parse_period("2026"))
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    print(
        f"data: {ORGS} organizations, {RESPONSES} answers, rollup rebuilt, in "
        f"{time.perf_counter() - t:.0f} s",
        flush=True,
    )
    await engine.dispose()


def _restart() -> None:
    """Empty every process cache the open data reads: what a new web process has."""
    suppression._CACHE.clear()
    tables._POPULATIONS.clear()
    tables._HIDDEN.clear()


def baseline(url: str) -> tuple[float, int]:
    with psycopg.connect(db.to_libpq_url(url)) as conn, conn.cursor() as cur:
        t = time.perf_counter()
        size = 0
        with cur.copy(BASELINE) as copy:
            for chunk in copy:
                size += len(chunk)
        return time.perf_counter() - t, size


async def _drop_files(url: str) -> None:
    engine = db.create_engine(db.to_async_url(url))
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM opendata_files"))
    await engine.dispose()


async def _job(url: str, settings: Settings) -> tuple[float, int]:
    """The periodic job until it has nothing to do: seconds, files built."""
    engine = db.create_engine(db.to_async_url(url))
    factory = db.session_factory(engine)
    t = time.perf_counter()
    built = 0
    while True:
        async with db.transaction(factory) as s:
            if not await build_files(s, settings):
                break
            built += 1
    took = time.perf_counter() - t
    await engine.dispose()
    return took, built


async def _download(
    url: str, settings: Settings, path: str, headers: dict[str, str] | None = None
) -> tuple[float, int, int, str, int]:
    """A new application and engine (a restarted process): seconds, rows, bytes, ETag, status."""
    _restart()
    app = create_app(settings, db.to_async_url(url))
    engine = db.create_engine(db.to_async_url(url))
    app.state.sessionmaker = db.session_factory(engine)
    transport = ASGITransport(app=app)
    size = lines = 0
    async with AsyncClient(transport=transport, base_url="http://bench") as client:
        t = time.perf_counter()
        async with client.stream(
            "GET", path, params={"period": QUARTER}, headers=headers or {}
        ) as resp:
            assert resp.status_code in (200, 304), await resp.aread()
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")
        took = time.perf_counter() - t
    await engine.dispose()
    return took, lines - 1, size, resp.headers["etag"], resp.status_code


async def measure(url: str, tmp: Path) -> None:
    settings = Settings(
        env="test",
        data_dir=tmp,
        secret_key="b" * 40,
        pii_key="p" * 40,
        opendata_requests_per_minute=1000,
    )
    csv_path, json_path = "/api/open/v1/organizations.csv", "/api/open/v1/organizations.json"
    # the first download with nothing stored: it builds the organizations file, then streams it
    await _drop_files(url)
    lazy, *_ = await _download(url, settings, csv_path)
    jobs, firsts, jsons, base_times = [], [], [], []
    rows = size = json_size = built = 0
    tag = ""
    for _ in range(RUNS):
        await _drop_files(url)
        _restart()
        took, built = await _job(url, settings)
        jobs.append(took)
        first, rows, size, tag, _status = await _download(url, settings, csv_path)
        firsts.append(first)
        j, _, json_size, _, _ = await _download(url, settings, json_path)
        jsons.append(j)
        b, _ = await asyncio.to_thread(baseline, url)
        base_times.append(b)
    revalidate, *_rest, status = await _download(url, settings, csv_path, {"If-None-Match": tag})
    assert status == 304
    f, js, job, b = (statistics.median(x) for x in (firsts, jsons, jobs, base_times))
    print(
        f"open-data CSV {QUARTER}, all organizations ({rows} rows, {size / 2**20:.1f} MiB), "
        f"medians of {RUNS}: first download after a process restart, file stored: {f:.2f} s "
        f"(goal < 2 s: {'met' if f < 2 else 'MISSED'}); the same as JSON "
        f"({json_size / 2**20:.1f} MiB) {js:.2f} s; build job ({built} files, from scratch) "
        f"{job:.2f} s; plain COPY of the same rows {b:.2f} s; ratios to COPY: download "
        f"{f / b:.2f}x, JSON {js / b:.2f}x, job {job / b:.1f}x. Once: a download finding no "
        f"stored file (builds it) {lazy:.2f} s; conditional GET (304, restarted) "
        f"{revalidate * 1000:.0f} ms",
        flush=True,
    )


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="opendata-", dir=OUT))
    url = os.environ.get("OTKLIK_BENCH_DATABASE_URL")
    try:
        if not url:
            url = db.start_embedded(tmp / "pgdata", database="bench")
        if "generate" in PARTS:
            with psycopg.connect(db.to_libpq_url(url), autocommit=True) as conn:
                conn.execute("DROP SCHEMA public CASCADE")
                conn.execute("CREATE SCHEMA public")
            migrate.upgrade(db.to_async_url(url))
            asyncio.run(generate(url))
        if "measure" in PARTS:
            asyncio.run(measure(url, tmp))
    finally:
        if not os.environ.get("OTKLIK_BENCH_DATABASE_URL"):
            db.stop_embedded()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
