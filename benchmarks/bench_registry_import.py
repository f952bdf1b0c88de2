"""Organization import throughput against a raw COPY of the same rows, measured in one run.

Three figures, each the median of ``REPEATS`` runs, interleaved so that machine noise hits
all of them alike:

* organization import: ``registry.service.import_file`` of a 100 000-row CSV into an
  empty ``organizations`` table (validation, staging COPY, upsert, audit, commit);
* re-import: the same file again on top of it, so every row is found unchanged;
* COPY baseline: ``COPY ... FROM STDIN (FORMAT csv)`` of the same file into ``bench_raw``,
  a table of text columns with no indexes or constraints.

The database is the embedded PostgreSQL in a temporary folder under ``benchmarks/out/``,
or ``OTKLIK_BENCH_DATABASE_URL`` if set. Schema ``public`` of that database is DROPPED
and recreated at the start, so point the variable at a throwaway database only.
``OTKLIK_BENCH_ROWS`` overrides the number of rows (default 100 000).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

import psycopg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otklik import db, migrate
from otklik.demo.seed import ORGANIZATION_COLUMNS, write_organizations_csv
from otklik.identity.audit import Actor
from otklik.registry.reference import seed_reference
from otklik.registry.service import ImportReport, import_file

ROWS = int(os.environ.get("OTKLIK_BENCH_ROWS", "100000"))
REPEATS = 5
SEED = 1
MAX_BYTES = 500 * 2**20
OUT = Path(__file__).resolve().parent / "out"
COLUMNS = ORGANIZATION_COLUMNS
COPY_SQL = f"COPY bench_raw ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv, HEADER true)"
CHUNK = 1 << 20
ACTOR = Actor.system("bench")


class BenchFailure(RuntimeError):
    """The measured operation did not do what it should; the figures would be meaningless."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise BenchFailure(message)


def fmt_rate(rows_per_s: float) -> str:
    return f"{rows_per_s:,.0f}".replace(",", " ")


def prepare_database(url: str) -> None:
    """Empty schema public, migrate to head and add the unindexed baseline table."""
    with psycopg.connect(db.to_libpq_url(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    migrate.upgrade(db.to_async_url(url))
    with psycopg.connect(db.to_libpq_url(url), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE bench_raw ({', '.join(f'{c} text' for c in COLUMNS)})")


def copy_baseline(conn: psycopg.Connection[tuple[object, ...]], csv_path: Path) -> float:
    """Truncate ``bench_raw``, then time COPY of the whole file, streamed in chunks."""
    conn.execute("TRUNCATE bench_raw")
    started = time.perf_counter()
    with conn.cursor() as cur, cur.copy(COPY_SQL) as copy, csv_path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            copy.write(chunk)
    elapsed = time.perf_counter() - started  # autocommit: the COPY has committed here
    row = conn.execute("SELECT count(*) FROM bench_raw").fetchone()
    check(row is not None and row[0] == ROWS, f"COPY loaded {row} rows, expected {ROWS}")
    return elapsed


def empty_organizations(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Empty ``organizations`` and rewrite it (and its indexes) as if new.

    ``TRUNCATE organizations CASCADE`` is refused: it cascades through ``users`` to
    ``audit_log``, whose ``audit_log_no_truncate`` trigger forbids TRUNCATE. So DELETE
    (no users exist here) and VACUUM FULL, which leaves no dead rows or index bloat behind.
    """
    conn.execute("DELETE FROM organizations")
    conn.execute("VACUUM FULL organizations")


async def timed_import(
    factory: async_sessionmaker[AsyncSession], csv_path: Path
) -> tuple[float, ImportReport]:
    """Time the project path: one unit of work around ``import_file``, commit included."""
    started = time.perf_counter()
    async with db.transaction(factory) as session:
        report = await import_file(session, "organizations", csv_path, max_bytes=MAX_BYTES)
    return time.perf_counter() - started, report


def check_report(report: ImportReport, *, inserted: int, unchanged: int, label: str) -> None:
    summary = report.summary()
    check(
        not report.errors,
        f"{label}: {len(report.errors)} row errors, first: {report.errors[:3]}; {summary}",
    )
    check(report.rows == ROWS, f"{label}: read {report.rows} rows, expected {ROWS}; {summary}")
    check(
        report.inserted == inserted,
        f"{label}: inserted {report.inserted}, expected {inserted}; {summary}",
    )
    check(
        report.unchanged == unchanged,
        f"{label}: unchanged {report.unchanged}, expected {unchanged}; {summary}",
    )


async def measure(url: str, csv_path: Path) -> dict[str, list[float]]:
    """Seed reference data, then interleave COPY, import and re-import ``REPEATS`` times."""
    engine = db.create_engine(db.to_async_url(url))
    factory = db.session_factory(engine)
    seconds: dict[str, list[float]] = {"copy": [], "import": [], "reimport": []}
    try:
        async with db.transaction(factory) as session:
            await seed_reference(session)
        with psycopg.connect(db.to_libpq_url(url), autocommit=True) as conn:
            for i in range(1, REPEATS + 1):
                seconds["copy"].append(copy_baseline(conn, csv_path))
                empty_organizations(conn)
                elapsed, report = await timed_import(factory, csv_path)
                check_report(report, inserted=ROWS, unchanged=0, label="import")
                seconds["import"].append(elapsed)
                elapsed, report = await timed_import(factory, csv_path)
                check_report(report, inserted=0, unchanged=ROWS, label="re-import")
                seconds["reimport"].append(elapsed)
                print(
                    f"  run {i}/{REPEATS}: COPY {seconds['copy'][-1]:.2f} s, "
                    f"import {seconds['import'][-1]:.2f} s, "
                    f"re-import {seconds['reimport'][-1]:.2f} s",
                    flush=True,
                )
    finally:
        await engine.dispose()
    return seconds


def rate(seconds: list[float]) -> float:
    """Rows per second from the median duration."""
    return ROWS / statistics.median(seconds)


def report_table(seconds: dict[str, list[float]]) -> None:
    copy_rate = rate(seconds["copy"])
    rows = (
        ("COPY baseline (bench_raw)", "copy"),
        ("organization import", "import"),
        ("organization re-import (all unchanged)", "reimport"),
    )
    print()
    print(f"{fmt_rate(ROWS)} rows, median of {REPEATS} interleaved runs")
    print(f"{'figure':<40} {'rows/s':>10} {'÷ COPY':>7}   runs (s)")
    for title, key in rows:
        r = rate(seconds[key])
        runs = " ".join(f"{s:.2f}" for s in seconds[key])
        print(f"{title:<40} {fmt_rate(r):>10} {r / copy_rate:>7.3f}   {runs}")
    print()
    for title, key in rows[1:]:
        r = rate(seconds[key])
        print(
            f"{title}: {fmt_rate(r)} rows/s (median of {REPEATS}), "
            f"COPY baseline: {fmt_rate(copy_rate)} rows/s, ratio {r / copy_rate:.3f}"
        )


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="registry-import-", dir=OUT))
    try:
        url = os.environ.get("OTKLIK_BENCH_DATABASE_URL")
        if url:
            print("database: OTKLIK_BENCH_DATABASE_URL", flush=True)
        else:
            print(f"database: embedded PostgreSQL in {tmp / 'pgdata'}", flush=True)
            url = db.start_embedded(tmp / "pgdata", database="bench")
        prepare_database(url)
        csv_path = tmp / "organizations.csv"
        try:
            write_organizations_csv(csv_path, ROWS, seed=SEED)
        except ValueError as exc:
            raise BenchFailure(
                f"otklik.demo.seed.write_organizations_csv could not write {ROWS} rows: {exc!r}"
            ) from exc
        size_mib = csv_path.stat().st_size / 2**20
        print(f"data: {fmt_rate(ROWS)} organizations, {size_mib:.1f} MiB CSV", flush=True)
        seconds = asyncio.run(measure(url, csv_path))
        report_table(seconds)
    except BenchFailure as exc:
        traceback.print_exc()
        print(f"BENCHMARK FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        db.stop_embedded()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
