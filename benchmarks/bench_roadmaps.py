"""Deadline risk of 10 000 roadmaps with 200 000 measures, recomputed in one set-based pass.

Data (``OTKLIK_BENCH_ROADMAPS`` roadmaps, default 10 000, with 20 measures each), generated
with INSERT ... SELECT generate_series: 500 participants across the regions, active roadmaps
started ~200 days ago, measures chained (each depends on the previous one, every fourth also
on the one three back: ~250 000 dependency rows), finished measures with slips (the owners'
history), progress reports of various ages, forecasts later than plan for one in seven, and
one analyst with country scope (told of every rise).

Measured: ``otklik.roadmaps.risk.recompute`` (measure risk with reasons' factors, the owners'
history, dependencies, alerts and e-mail outbox rows for rises, the critical path of every
roadmap), each run in its own committed transaction: the first run (every measure new, the
alerts raised), the next day's run (every unfinished measure's factors change: the daily full
recomputation, compared with the goal) and an hourly run after it (nothing changed, nothing
written). Baseline in the same run: a plain
``SELECT roadmap_id, count(*), max(planned_due), avg(progress) FROM roadmap_measures GROUP BY
roadmap_id`` (median of the three). Goal: recompute < 20 s.

Database: embedded PostgreSQL under ``benchmarks/out/`` or ``OTKLIK_BENCH_DATABASE_URL``
(schema ``public`` is DROPPED: a throwaway database only).
"""

# ruff: noqa: E501 - SQL text is easier to read unwrapped
from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event, text

from otklik import db, migrate
from otklik.kit.clock import MOSCOW
from otklik.registry.reference import seed_reference
from otklik.registry.service import seed_catalogue
from otklik.roadmaps import risk

N = int(os.environ.get("OTKLIK_BENCH_ROADMAPS", "10000"))
PER = 20
OUT = Path(__file__).resolve().parent / "out"

GENERATE = [
    """INSERT INTO users (email, full_name, role, scope_kind, scope_region_code, is_active)
       SELECT 'owner' || g || '@bench.test', '', 'participant', 'region',
              r.codes[1 + g % array_length(r.codes, 1)], true
       FROM generate_series(1, 500) g, (SELECT array_agg(code ORDER BY code) codes FROM regions) r""",
    """INSERT INTO users (email, full_name, role, scope_kind, is_active)
       VALUES ('analyst@bench.test', '', 'analyst', 'country', true)""",
    """INSERT INTO roadmaps (title, subject_kind, subject_code, owner_user_id, region_code, state,
         report_every_days, approved_at, activated_at)
       SELECT 'Дорожная карта ' || g, 'service', s.codes[1 + g % array_length(s.codes, 1)],
              u.id, u.scope_region_code, 'active', 14, now() - interval '205 days',
              now() - interval '200 days'
       FROM generate_series(1, :n) g
       JOIN users u ON u.email = 'owner' || (1 + g % 500) || '@bench.test',
            (SELECT array_agg(code ORDER BY code) codes FROM services) s""",
    """INSERT INTO roadmap_measures (roadmap_id, position, title, owner_user_id, planned_start,
         planned_due, baseline_start, baseline_due, weight, progress, forecast_due, completed_on,
         last_report_at)
       SELECT r.id, k, 'Мероприятие ' || k, r.owner_user_id, st, st + 30, st, st + 30, 1 + k % 3,
              CASE WHEN st + 30 < :today - 20 THEN 100 ELSE least(95, greatest(0, (:today - st) * 3 - (r.id % 40))) END,
              CASE WHEN (r.id + k) % 7 = 0 THEN st + 50 ELSE st + 30 END,
              CASE WHEN st + 30 < :today - 20 THEN st + (27 + (r.id + k) % 15)::int END,
              now() - make_interval(days => ((r.id + k) % 30)::int)
       FROM roadmaps r CROSS JOIN generate_series(1, :per) k
       CROSS JOIN LATERAL (SELECT :today - 200 + (k * 12 + r.id % 30)::int AS st) d""",
    """INSERT INTO roadmap_measure_dependencies (measure_id, depends_on_id)
       SELECT m.id, p.id FROM roadmap_measures m JOIN roadmap_measures p
         ON p.roadmap_id = m.roadmap_id
        AND (p.position = m.position - 1 OR (m.position % 4 = 0 AND p.position = m.position - 3))""",
]
BASELINE = """SELECT roadmap_id, count(*), max(planned_due), avg(progress)
              FROM roadmap_measures GROUP BY roadmap_id"""


async def run(url: str) -> None:
    engine = db.create_engine(db.to_async_url(url))
    factory = db.session_factory(engine)
    async with db.transaction(factory) as s:
        await seed_reference(s)
        await seed_catalogue(s)
    today = datetime.now(MOSCOW).date()
    t0 = time.perf_counter()
    async with db.transaction(factory) as s:
        for sql in GENERATE:
            await s.execute(text(sql), {"n": N, "per": PER, "today": today})
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE"))
        counts = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM roadmaps), (SELECT count(*) FROM roadmap_measures),"
                    " (SELECT count(*) FROM roadmap_measure_dependencies)"
                )
            )
        ).one()
    print(
        f"generated {counts[0]} roadmaps, {counts[1]} measures, {counts[2]} dependencies "
        f"in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    base: list[float] = []
    runs: list[float] = []
    statements: list[int] = []  # SQL statements per recompute (load-independent)
    seen: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        seen.append(" ".join(statement.split())[:60])

    # the first run raises the alerts; the next day every unfinished measure changes (the
    # daily full recomputation, the figure that counts); then an hourly run with no change
    plan = [("first run, alerts", today), ("next day", today + timedelta(days=1))]
    plan += [("next day, an hour later", today + timedelta(days=1))]
    for label, day in plan:
        async with db.transaction(factory) as s:
            t0 = time.perf_counter()
            (await s.execute(text(BASELINE))).all()
            base.append(time.perf_counter() - t0)
        seen.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        async with db.transaction(factory) as s:
            t0 = time.perf_counter()
            measures, alerts = await risk.recompute(s, datetime.now(UTC), day)
        runs.append(time.perf_counter() - t0)  # commit included
        event.remove(engine.sync_engine, "before_cursor_execute", count)
        statements.append(len(seen))
        print(
            f"{label}: recompute {runs[-1]:.2f} s ({measures} measures written, {alerts} alerts,"
            f" {statements[-1]} SQL statements);"
            f" plain GROUP BY {base[-1]:.2f} s",
            flush=True,
        )
    async with engine.connect() as conn:
        high = (
            await conn.execute(text("SELECT count(*) FROM roadmaps WHERE risk >= 0.5"))
        ).scalar()
    b = statistics.median(base)
    print(
        f"deadline risk for {counts[0]} roadmaps / {counts[1]} measures: daily full recompute "
        f"{runs[1]:.2f} s ({runs[1] / b:.1f}x a plain GROUP BY over the measures, median "
        f"{b:.2f} s; goal < 20 s); first run with alerts {runs[0]:.2f} s, hourly {runs[2]:.2f} s;"
        f" roadmaps at high risk: {high}",
        flush=True,
    )
    await engine.dispose()


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="roadmaps-", dir=OUT))
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
