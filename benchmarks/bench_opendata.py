"""Open data: the organizations CSV of a quarter for every organization, against a plain COPY.

Data: ``OTKLIK_BENCH_OD_ORGS`` organizations (default 20 000) and ``OTKLIK_BENCH_OD_RESPONSES``
answers (default 1 000 000) over 2026-01-01..2026-11-30, six items each, generated set-based
with INSERT … SELECT generate_series (``bench_indicators.GENERATE``), then the year's rollup
rebuilt (``indicators.tasks.rebuild``). Each run, medians of ``OTKLIK_BENCH_OD_RUNS`` (default
3):

- open data: ``GET /api/open/v1/organizations.csv?period=2026-Q3`` in-process over ASGI, the
  streamed body read to its end; *cold*: the protection caches emptied first, so the hidden
  cells (cabinets' sets and the subtraction closure) are decided from scratch; *warm*: right
  after, the same file again from a running server between data changes (the protection and
  the made file cached by ETag, ``opendata.api.FILES``);
- baseline: ``COPY (SELECT`` the same rows — organization, region, type, founder and the
  quarter's per-organization sums from the rollup — ``) TO STDOUT`` read to the end by psycopg.

Prints both times, their ratio and the rows and bytes of the file. Goal: < 2 s.

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
from otklik.opendata import api as opendata_api
from otklik.opendata import suppression
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
        await conn.execute(text(GENERATE[5]))
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


def _forget() -> None:
    """Empty the protection caches: every run decides the hidden cells from scratch."""
    suppression._CACHE.clear()
    opendata_api.FILES.files.clear()
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


async def measure(url: str, tmp: Path) -> None:
    settings = Settings(
        env="test",
        data_dir=tmp,
        secret_key="b" * 40,
        pii_key="p" * 40,
        opendata_requests_per_minute=1000,
    )
    app = create_app(settings, db.to_async_url(url))
    engine = db.create_engine(db.to_async_url(url))
    app.state.sessionmaker = db.session_factory(engine)
    transport = ASGITransport(app=app)
    cold, warm, base_times = [], [], []
    rows = size = 0
    tag = ""

    async def download(client: AsyncClient) -> float:
        nonlocal rows, size, tag
        t = time.perf_counter()
        size = lines = 0
        async with client.stream(
            "GET", "/api/open/v1/organizations.csv", params={"period": QUARTER}
        ) as resp:
            assert resp.status_code == 200, await resp.aread()
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")
        rows, tag = lines - 1, resp.headers["etag"]
        return time.perf_counter() - t

    async with AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(RUNS):
            _forget()
            cold.append(await download(client))
            warm.append(await download(client))
            b, _ = await asyncio.to_thread(baseline, url)
            base_times.append(b)
        t = time.perf_counter()
        cached = await client.get(
            "/api/open/v1/organizations.csv",
            params={"period": QUARTER},
            headers={"If-None-Match": tag},
        )
        revalidate = time.perf_counter() - t
        assert cached.status_code == 304
    await engine.dispose()
    c, w, b = statistics.median(cold), statistics.median(warm), statistics.median(base_times)
    print(
        f"open-data CSV {QUARTER}, all organizations ({rows} rows, {size / 2**20:.1f} MiB), "
        f"medians of {RUNS}: cold (hidden cells decided from scratch) {c:.2f} s, warm "
        f"(file cached by ETag, as a running server between data changes) {w:.2f} s; plain COPY "
        f"of the same rows {b:.2f} s: ratio cold {c / b:.1f}x, warm {w / b:.1f}x; goal < 2 s: "
        f"cold {'met' if c < 2 else 'MISSED'}, warm {'met' if w < 2 else 'MISSED'}; "
        f"conditional GET (304) {revalidate * 1000:.0f} ms",
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
