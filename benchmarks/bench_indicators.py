"""Indicators: full recompute of a year, cabinet pages' server time, answer-to-indicator delay.

Data: ``OTKLIK_BENCH_IND_ORGS`` organizations (default 20 000) and ``OTKLIK_BENCH_IND_RESPONSES``
responses (default 1 000 000; ``--large`` for 10 000 000) over 2026-01-01..2026-11-30, six
numeric items each, generated with INSERT ... SELECT generate_series (queue triggers off
while generating) into the months' own partitions (created first with the partition job's
``create_month``, as the job does for months that hold answers), each questionnaire with its
own integral (``responses.integral``) as the submission writes it. Three parts, each against
a baseline measured in the same run:

1. full recompute of the year (``otklik indicators compute --period 2026``, the set-based
   rebuild of ``repository.rebuild_rollup``; ``VACUUM`` of the rollup before each run,
   untimed; ``OTKLIK_BENCH_IND_COLD=1`` empties the year's rollup first) vs one plain GROUP BY
   pass over the year's ``response_items``; medians of three runs; goal <= 2x;
2. cabinet pages, in-process over ASGI (server time, no network): an organization's page, a
   region's organizations, the country's organizations (all organizations ranked), the regions
   page; p95 of 10 requests each vs ``/healthz``; goal < 200 ms;
3. freshness: answers inserted at ~200/s for 10 s, each in its own transaction as the form
   would, while a folder does what the worker's job ``indicators.fold_queue`` does (every
   second, again while it finds work); for every 5th a reader polls the organization's
   current-month indicators until the answer is counted; p95 of submit-start to visible;
   goal < 5 s.

``OTKLIK_BENCH_IND_PARTS`` (default ``generate,recompute,pages,freshness``) runs only some parts,
on the data an earlier run left in ``OTKLIK_BENCH_DATABASE_URL``.

Database: embedded PostgreSQL in a temporary folder under ``benchmarks/out/`` or
``OTKLIK_BENCH_DATABASE_URL`` (schema ``public`` is DROPPED: a throwaway database only).
"""

# ruff: noqa: E501, S608 - SQL text is easier to read unwrapped (built from constants)
from __future__ import annotations

import asyncio
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import psycopg
from httpx import ASGITransport, AsyncClient
from sqlalchemy import make_url, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik import db, migrate
from otklik.app import create_app
from otklik.config import Settings
from otklik.identity.audit import Actor
from otklik.identity.roles import Role
from otklik.identity.service import create_user
from otklik.indicators import repository
from otklik.indicators.models import IndicatorSummary
from otklik.indicators.periods import parse_period
from otklik.indicators.rollup import SUMMARY_CODES, SUMMARY_COLUMNS, WEIGHTS
from otklik.indicators.tasks import rebuild
from otklik.ops import partitions
from otklik.registry.reference import seed_reference
from otklik.registry.service import seed_catalogue

LARGE = "--large" in sys.argv
ORGS = int(os.environ.get("OTKLIK_BENCH_IND_ORGS", "20000"))
RESPONSES = 10_000_000 if LARGE else int(os.environ.get("OTKLIK_BENCH_IND_RESPONSES", "1000000"))
OUT = Path(__file__).resolve().parent / "out"
PASSWORD = "bench-password-123"  # noqa: S105 - a throwaway benchmark database
YEAR = parse_period("2026")
PAGE_REQUESTS = int(os.environ.get("OTKLIK_BENCH_IND_PAGE_REQUESTS", "20"))
RUNS = int(os.environ.get("OTKLIK_BENCH_IND_RUNS", "3"))
COLD = os.environ.get("OTKLIK_BENCH_IND_COLD") == "1"
# OTKLIK_BENCH_IND_PARTS=pages,freshness re-measures on the data of an earlier run
PARTS = os.environ.get("OTKLIK_BENCH_IND_PARTS", "generate,recompute,pages,freshness,peer").split(
    ","
)
APP_NAME = "otklik-bench-pages"
# OTKLIK_BENCH_IND_PAGES=/cabinet,regions: only the page cases at one of these paths (a word
# starting with "/") or whose "role path" contains one of the other words
PAGES = [w for w in os.environ.get("OTKLIK_BENCH_IND_PAGES", "").split(",") if w]
ITEMS = ("overall", "organization", "comfort", "staff", "information")

# an item's value from the series (the same in both statements below: the response's own
# integral is computed from the items it gets)
VALUE = """CASE WHEN c.code = 'recommend' THEN ((g::bigint * 2654435761 >> 11) % 4 > 0)::int
                   ELSE 5 - ((g::bigint * 2654435761 + c.k * 40503) >> 13) % 4
                            * (((g::bigint * 40503 + c.k * 2654435761) >> 9) % 2) END"""
CODES = """(VALUES ('comfort', 1), ('information', 2), ('organization', 3),
            ('overall', 4), ('recommend', 5), ('staff', 6)) c(code, k)"""
GENERATE = [
    "ALTER TABLE responses DISABLE TRIGGER USER",
    "ALTER TABLE response_items DISABLE TRIGGER USER",
    "INSERT INTO questionnaire_versions (version, title, definition) VALUES ('bench', 'b', '{}')",
    """INSERT INTO organizations (ogrn, inn, full_name, short_name, type_code, region_code,
         founder_id, address, participates_from)
       SELECT lpad((1000000000000 + g)::text, 13, '0'), lpad((1000000000 + g)::text, 10, '0'),
              'Организация ' || g, 'Организация ' || g, t.codes[1 + g % array_length(t.codes, 1)],
              f.regions[1 + g % array_length(f.regions, 1)],
              f.ids[1 + g % array_length(f.ids, 1)], '', '2025-01-01'
       FROM generate_series(1, :orgs) g,
            (SELECT array_agg(code ORDER BY code) codes FROM organization_types) t,
            (SELECT array_agg(id ORDER BY id) ids, array_agg(coalesce(region_code, '77') ORDER BY id) regions
             FROM founders) f""",
    # Response ids ascend with the series (hex of g), so the items arrive in primary-key order
    # and the keys are built from presorted input; values come from integer mixing of g (no
    # md5 or hashtext per row: the load is CPU-bound).
    """INSERT INTO responses (id, questionnaire_version, organization_id, organization_type_code,
         region_code, founder_id, service_code, served_on, answered_on, channel, respondent,
         age_band, answers, integral)
       SELECT lpad(to_hex(g), 32, '0')::uuid, 'bench', o.id, o.type_code, o.region_code,
              o.founder_id, 'health.checkup', d, d, 'portal', 'recipient', '30-39', '{}', v
       FROM generate_series(1, :n) g
       JOIN organizations o ON o.id = :base + (g::bigint * 7919) % :orgs
       CROSS JOIN LATERAL (SELECT date '2026-01-01' + (g * 31) % 334 AS d) dd
       -- the questionnaire's own integral, as the submission writes it (surveys' STORE)
       CROSS JOIN LATERAL (
         SELECT CASE WHEN sum(w.w) > 1e-9 THEN sum(w.w * """
    + VALUE
    + """) / sum(w.w) END AS v
         FROM """
    + CODES
    + f""" JOIN ({WEIGHTS}) w USING (code) WHERE w.w > 0) ii""",
    # the same response ids, organizations and days from the series itself (no read of responses)
    """INSERT INTO response_items (response_id, code, value, organization_id, answered_on)
       SELECT lpad(to_hex(g), 32, '0')::uuid, c.code, """
    + VALUE
    + """,
              :base + (g::bigint * 7919) % :orgs, date '2026-01-01' + (g * 31) % 334
       FROM generate_series(1, :n) g
       CROSS JOIN """
    + CODES,
    "ALTER TABLE responses ENABLE TRIGGER USER",
    "ALTER TABLE response_items ENABLE TRIGGER USER",
    "ANALYZE",
]
BASELINE = """SELECT count(*) FROM (SELECT organization_id, answered_on, code, count(*), sum(value)
              FROM response_items WHERE answered_on BETWEEN :s AND :e GROUP BY 1, 2, 3) x"""


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    t = time.perf_counter()
    await fn()
    return time.perf_counter() - t


# Keys and indexes of the answer tables are dropped while the rows go in and built afterwards
# (one sort each instead of 60 M random B-tree inserts and foreign-key look-ups).
_KEYS = """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype
           FROM pg_constraint
           WHERE contype IN ('p', 'u', 'f') AND (conrelid = ANY(CAST(:t AS regclass[]))
                 OR confrelid = ANY(CAST(:t AS regclass[])))
           ORDER BY contype = 'f' DESC"""
_INDEXES = """SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i
              WHERE indrelid = ANY(CAST(:t AS regclass[]))
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"""
ANSWER_TABLES = ["responses", "response_items"]


async def drop_keys(conn: Any) -> tuple[list[Any], list[Any]]:
    keys = list(await conn.execute(text(_KEYS), {"t": ANSWER_TABLES}))
    indexes = list(await conn.execute(text(_INDEXES), {"t": ANSWER_TABLES}))
    for table, name, _, _ in keys:  # foreign keys first
        await conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        await conn.execute(text(f"DROP INDEX {name}"))
    return keys, indexes


async def restore_keys(conn: Any, saved: tuple[list[Any], list[Any]]) -> None:
    t = time.perf_counter()
    keys, indexes = saved
    await conn.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
    for _, sql in indexes:
        await conn.execute(text(sql))
    for table, name, definition, _ in reversed(keys):  # primary keys before the foreign keys
        await conn.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
    print(f"data: keys and indexes built in {time.perf_counter() - t:.0f} s", flush=True)


def _nice(pid: int) -> None:
    """Lower the priority of the database backend doing the load (it shares the machine)."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, 10)
    except OSError:  # not allowed (another user's process): the load runs at normal priority
        print("data: could not lower the backend's priority", flush=True)


async def generate(url: str) -> None:
    engine = db.create_engine(db.to_async_url(url))
    async with db.transaction(db.session_factory(engine)) as s:
        await seed_reference(s)
        await seed_catalogue(s)
        # the answers land in their months' partitions, as in production (the partition job
        # creates months from the current one on; the data is of 2026-01..11)
        for table in partitions.TABLES:
            if table.name in ANSWER_TABLES:
                have = await partitions.months(s, table)
                for k in range(11):
                    month = date(2026, 1 + k, 1)
                    if month not in have:
                        await partitions.create_month(s, table, month)
    async with engine.begin() as conn:
        t = time.perf_counter()
        _nice(int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()))
        for sql in GENERATE[:4]:
            await conn.execute(text(sql), {"orgs": ORGS})
        base = (await conn.execute(text("SELECT min(id) FROM organizations"))).scalar_one()
        keys = await drop_keys(conn)
        load = time.perf_counter()
        for sql in GENERATE[4:6]:
            await conn.execute(text(sql), {"n": RESPONSES, "base": base, "orgs": ORGS})
        print(f"data: rows inserted in {time.perf_counter() - load:.0f} s", flush=True)
        await restore_keys(conn, keys)
        for sql in GENERATE[6:8]:
            await conn.execute(text(sql))
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        # as autovacuum does after a bulk insert: the answer tables' visibility maps, so
        # counts read their indexes only (coverage's numerator by service day)
        await conn.execute(text("VACUUM ANALYZE responses, response_items"))
        await conn.execute(text("ANALYZE"))
    if "recompute" not in PARTS:  # the rollup and the summary, built once set-based
        r = time.perf_counter()
        async with db.transaction(db.session_factory(engine)) as s:
            _nice(int((await s.execute(text("SELECT pg_backend_pid()"))).scalar_one()))
            await rebuild(s, YEAR)
        async with engine.connect() as conn:  # as autovacuum would: the pages' plans need it
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("ANALYZE indicator_rollup, indicator_summary"))
        print(f"data: rollup and summary built in {time.perf_counter() - r:.0f} s", flush=True)
    items = RESPONSES * 6
    print(
        f"data: {ORGS} organizations, {RESPONSES} responses, {items} items, generated in "
        f"{time.perf_counter() - t:.0f} s",
        flush=True,
    )
    await engine.dispose()


async def recompute(url: str) -> None:
    engine = db.create_engine(db.to_async_url(url))
    factory = db.session_factory(engine)
    base_s, full_s = [], []
    for i in range(RUNS):
        async with engine.connect() as conn:
            # untimed: the previous run's deleted rows are vacuumed, as autovacuum would do;
            # OTKLIK_BENCH_IND_COLD=1 first empties the year's rollup and summary (every row
            # must be written again: the rebuild's worst case)
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            if COLD:
                await conn.execute(text("SELECT set_config('otklik.summary_off', 'on', false)"))
                for table in ("indicator_rollup", "indicator_summary"):
                    await conn.execute(
                        text(f"DELETE FROM {table} WHERE day BETWEEN :s AND :e"),
                        {"s": YEAR.start, "e": YEAR.end},
                    )
            await conn.execute(text("VACUUM ANALYZE indicator_rollup, indicator_summary"))
        load = os.getloadavg()[0]
        async with engine.connect() as conn:
            base_s.append(
                await timed(
                    lambda c=conn: c.execute(text(BASELINE), {"s": YEAR.start, "e": YEAR.end})
                )
            )

        async def full() -> None:
            async with db.transaction(factory) as s:
                await rebuild(s, YEAR)

        full_s.append(await timed(full))
        print(
            f"   run {i + 1}: recompute {full_s[-1]:.1f} s, GROUP BY {base_s[-1]:.1f} s, "
            f"ratio {full_s[-1] / base_s[-1]:.2f}x; load average {load:.1f} -> "
            f"{os.getloadavg()[0]:.1f}",
            flush=True,
        )
    RECOMPUTE_S.extend(full_s)
    async with engine.connect() as conn:  # as autovacuum would after a rebuild
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE indicator_rollup, indicator_summary"))
    b, f = statistics.median(base_s), statistics.median(full_s)
    ratios = sorted(x / y for x, y in zip(full_s, base_s, strict=True))
    print(
        f"1. recompute 2026{' (cold: the year emptied first)' if COLD else ''}: {f:.1f} s "
        f"(median of {RUNS}) vs plain GROUP BY pass {b:.1f} s: ratio {f / b:.2f}x, median of "
        f"the runs' ratios {statistics.median(ratios):.2f}x (goal <= 2x); runs "
        f"{', '.join(f'{x:.1f}' for x in full_s)} / {', '.join(f'{x:.1f}' for x in base_s)} s",
        flush=True,
    )
    await engine.dispose()


async def _login(client: AsyncClient, session_factory: Any, role: Role, scope: str | None) -> None:
    email = f"{role.value}-{time.time_ns()}@bench.test"  # unique across runs on one database
    async with db.transaction(session_factory) as s:
        await create_user(
            s, Actor.system("bench"), email=email, role=role, scope=scope, password=PASSWORD
        )
    page = await client.get("/login")
    import re

    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert token
    r = await client.post(
        "/login", data={"csrf_token": token[1], "email": email, "password": PASSWORD}
    )
    assert r.status_code == 303, r.text


async def _cpu(url: str) -> tuple[float, float]:
    """CPU seconds so far: this process (the application, in-process over ASGI) and the
    database backends of the application's connections (named ``APP_NAME``), from
    ``/proc/<pid>/stat`` (the server runs on this machine)."""
    with psycopg.connect(db.to_libpq_url(url), autocommit=True) as conn:
        pids = [
            int(r[0])
            for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = %s",
                [APP_NAME],
            )
        ]
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
        except OSError:  # the backend ended meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return time.process_time(), total


async def pages(url: str, tmp: Path) -> None:
    # the application's connections are told apart by name (``_cpu`` counts only theirs)
    url = make_url(url).update_query_dict({"application_name": APP_NAME}).render_as_string(False)
    settings = Settings(env="test", data_dir=tmp, secret_key="b" * 40, pii_key="p" * 40)
    app = create_app(settings, db.to_async_url(url))
    engine = db.create_engine(db.to_async_url(url))
    app.state.sessionmaker = db.session_factory(engine)
    factory = app.state.sessionmaker
    async with engine.connect() as conn:
        ogrn, region = (
            await conn.execute(
                text(
                    "SELECT o.ogrn, o.region_code FROM organizations o JOIN indicator_rollup d "
                    "ON d.organization_id = o.id AND d.grain = 'y' GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1"
                )
            )
        ).one()
        founder = (
            await conn.execute(
                text(
                    "SELECT f.code FROM founders f JOIN organizations o ON o.founder_id = f.id "
                    "GROUP BY f.code ORDER BY count(*) DESC LIMIT 1"
                )
            )
        ).scalar_one()
    cases = [
        (
            Role.organization,
            f"organization:{ogrn}",
            f"/cabinet/indicators/organization/{ogrn}?period=2026",
        ),
        (
            Role.regional_authority,
            f"region:{region}",
            "/cabinet/indicators/organizations?period=2026",
        ),
        (
            Role.federal_authority,
            f"founder:{founder}",
            "/cabinet/indicators/organizations?period=2026",
        ),
        # every authority's landing: regional (its region), federal (its founder), the country
        (Role.regional_authority, f"region:{region}", "/cabinet"),
        (Role.federal_authority, f"founder:{founder}", "/cabinet"),
        (Role.coordinator, None, "/cabinet"),
        (Role.coordinator, None, "/cabinet/indicators/organizations?period=2026"),
        (Role.coordinator, None, "/cabinet/indicators/organizations?period=2026-11"),
        (Role.analyst, None, "/cabinet/indicators/regions?period=2026"),
        (Role.analyst, None, "/cabinet/indicators/regions?period=2026-Q3"),
    ]
    if PAGES:  # only the cases whose path is one of these, or whose "role path" contains one
        cases = [
            c
            for c in cases
            if any(w == c[2] if w.startswith("/") else w in f"{c[0].value} {c[2]}" for w in PAGES)
        ]
    transport = ASGITransport(app=app)
    async with AsyncClient(transport=transport, base_url="http://bench") as plain:
        cpu0 = await _cpu(url)
        base = [await timed(lambda: plain.get("/healthz")) for _ in range(PAGE_REQUESTS)]
        base_cpu = [(b - a) / PAGE_REQUESTS for a, b in zip(cpu0, await _cpu(url), strict=True)]
    print(
        f"2. baseline /healthz p95 {1000 * p95(base):.1f} ms (CPU per request: app "
        f"{1000 * base_cpu[0]:.1f} ms, database {1000 * base_cpu[1]:.1f} ms; load average "
        f"{os.getloadavg()[0]:.1f})",
        flush=True,
    )
    for role, scope, path in cases:
        async with AsyncClient(transport=transport, base_url="http://bench") as client:
            await _login(client, factory, role, scope)
            first = await client.get(path)
            assert first.status_code == 200, (path, first.status_code)
            cpu0 = await _cpu(url)
            times = [await timed(lambda c=client, p=path: c.get(p)) for _ in range(PAGE_REQUESTS)]
            cpu = [(b - a) / PAGE_REQUESTS for a, b in zip(cpu0, await _cpu(url), strict=True)]
        print(
            f"   {role.value:<20} {path:<52} p95 {1000 * p95(times):7.1f} ms "
            f"(median {1000 * statistics.median(times):.1f}; {p95(times) / p95(base):.0f}x healthz; "
            f"CPU per request: app {1000 * cpu[0]:.0f} ms, database {1000 * cpu[1]:.0f} ms; "
            f"load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    await engine.dispose()


async def freshness(url: str) -> None:
    engine = db.create_engine(db.to_async_url(url), pool_size=8)
    factory = db.session_factory(engine)
    async with engine.connect() as conn:
        ids = [
            r[0]
            for r in await conn.execute(text("SELECT id FROM organizations ORDER BY id LIMIT 500"))
        ]
    today = date(2026, 11, 30)
    month = parse_period("2026-11")
    delays: list[float] = []
    from otklik.indicators.repository import UnitFilter
    from otklik.kit.scope import Scope
    from otklik.registry.models import Organization

    async def count(s: AsyncSession, oid: int) -> int:
        c = await repository.item_counts(
            s, Scope.country(), UnitFilter(Organization.id == oid), month.start, month.end
        )
        return c.get("*", {}).get("n", 0)

    async def answer(i: int) -> None:
        oid = ids[i % len(ids)]
        async with factory() as s:
            before = await count(s, oid) if i % 5 == 0 else 0
        t0 = time.perf_counter()
        async with db.transaction(factory) as s:
            rid = (
                await s.execute(
                    text(
                        "INSERT INTO responses (id, questionnaire_version, organization_id, organization_type_code,"
                        " region_code, founder_id, service_code, served_on, answered_on, channel, respondent,"
                        " age_band, answers) SELECT gen_random_uuid(), 'bench', id, type_code, region_code,"
                        " founder_id, 'health.checkup', :d, :d, 'portal', 'recipient', '30-39', '{}'"
                        " FROM organizations WHERE id = :o RETURNING id"
                    ),
                    {"d": today, "o": oid},
                )
            ).scalar_one()
            await s.execute(
                text(
                    "INSERT INTO response_items SELECT :r, c, 4, :o, :d FROM unnest(CAST(:codes AS text[])) c"
                ),
                {"r": rid, "o": oid, "d": today, "codes": list(ITEMS)},
            )
        if i % 5:
            return
        async with factory() as s:
            while await count(s, oid) <= before:
                await asyncio.sleep(0.005)
        delays.append(time.perf_counter() - t0)

    folding = True

    async def folder() -> None:
        # the worker's job indicators.fold_queue: every second, run again while it finds work
        while folding:
            while True:
                async with db.transaction(factory) as s:
                    if not await repository.fold_queue(s):
                        break
            await asyncio.sleep(1.0)

    fold_task = asyncio.create_task(folder())
    tasks, start = [], time.perf_counter()
    for i in range(2000):
        tasks.append(asyncio.create_task(answer(i)))
        await asyncio.sleep(max(0.0, start + (i + 1) / 200 - time.perf_counter()))
    await asyncio.gather(*tasks)
    rate = 2000 / (time.perf_counter() - start)
    folding = False
    await fold_task
    print(
        f"3. freshness at {rate:.0f} answers/s: p95 submit -> visible {1000 * p95(delays):.0f} ms, "
        f"median {1000 * statistics.median(delays):.0f} ms, n={len(delays)} (goal < 5 s)",
        flush=True,
    )
    await engine.dispose()


RECOMPUTE_S: list[float] = []  # Otklik's recompute times of this run (part 1), for the peer check

# The rebuild's arithmetic in DuckDB's dialect: per grain (month, year), organization and item the
# count of answers, their sum and the count of each value; '*' the questionnaires; '*integral'
# each questionnaire's own integral (weighted mean of its integral items), then its moments.
DUCK_ROLLUP = """
CREATE OR REPLACE TABLE rollup AS
WITH a AS (SELECT organization_id, date_trunc('month', answered_on) AS m,
                  date_trunc('year', answered_on) AS y, code, value FROM items),
     r AS (SELECT organization_id, date_trunc('month', answered_on) AS m,
                  date_trunc('year', answered_on) AS y FROM responses),
     i AS (SELECT organization_id, date_trunc('month', answered_on) AS m,
                  date_trunc('year', answered_on) AS y, v
           FROM (SELECT min(organization_id) AS organization_id, min(answered_on) AS answered_on,
                        sum(w.w * value) / sum(w.w) AS v
                 FROM items JOIN weights w USING (code) WHERE w.w > 0 GROUP BY response_id))
SELECT CASE WHEN grouping(m) = 0 THEN 'm' ELSE 'y' END AS grain, coalesce(m, y) AS day,
       organization_id, code, count(*) AS n, sum(value) AS total,
       count(*) FILTER (WHERE value = 0) AS n0, count(*) FILTER (WHERE value = 1) AS n1,
       count(*) FILTER (WHERE value = 2) AS n2, count(*) FILTER (WHERE value = 3) AS n3,
       count(*) FILTER (WHERE value = 4) AS n4, count(*) FILTER (WHERE value = 5) AS n5,
       0.0 AS isum, 0.0 AS isumsq
FROM a GROUP BY GROUPING SETS ((m, organization_id, code), (y, organization_id, code))
UNION ALL
SELECT CASE WHEN grouping(m) = 0 THEN 'm' ELSE 'y' END, coalesce(m, y), organization_id, '*',
       count(*), count(*), 0, 0, 0, 0, 0, 0, 0.0, 0.0
FROM r GROUP BY GROUPING SETS ((m, organization_id), (y, organization_id))
UNION ALL
SELECT CASE WHEN grouping(m) = 0 THEN 'm' ELSE 'y' END, coalesce(m, y), organization_id,
       '*integral', count(*), 0, 0, 0, 0, 0, 0, 0, sum(v), sum(v * v)
FROM i GROUP BY GROUPING SETS ((m, organization_id), (y, organization_id))
"""


def _half_up(v: Fraction, places: int) -> float:
    d = Decimal(v.numerator) / Decimal(v.denominator)
    return float(d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


async def peer(url: str, tmp: Path) -> None:
    """The national indicators of 2026 from DuckDB over a Parquet export of the same answers,
    checked equal to Otklik's, and Otklik's recompute time against DuckDB's."""
    import duckdb

    from otklik.indicators import service as ind
    from otklik.kit.scope import Scope

    libpq = db.to_libpq_url(url)
    t0 = time.perf_counter()
    with psycopg.connect(libpq) as conn:
        weights = conn.execute(
            "SELECT key, value::float8 FROM methodology_versions, "
            "jsonb_each_text(definition -> 'integral_weights') WHERE is_default"
        ).fetchall()
        for name, sql in (
            (
                "items",
                "SELECT response_id, organization_id, answered_on, code, value FROM response_items",
            ),
            ("responses", "SELECT organization_id, answered_on FROM responses"),
        ):
            with (
                open(tmp / f"{name}.csv", "wb") as f,
                conn.cursor().copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy,
            ):
                for chunk in copy:
                    f.write(chunk)
    duck = duckdb.connect(str(tmp / "peer.duckdb"))
    duck.execute(
        f"COPY (SELECT * FROM read_csv('{tmp}/items.csv', header = false, columns = "
        "{'response_id': 'UUID', 'organization_id': 'BIGINT', 'answered_on': 'DATE', "
        "'code': 'VARCHAR', 'value': 'INTEGER'})) TO "
        f"'{tmp}/items.parquet' (FORMAT parquet)"
    )
    duck.execute(
        f"COPY (SELECT * FROM read_csv('{tmp}/responses.csv', header = false, columns = "
        "{'organization_id': 'BIGINT', 'answered_on': 'DATE'})) TO "
        f"'{tmp}/responses.parquet' (FORMAT parquet)"
    )
    for name in ("items", "responses"):
        (tmp / f"{name}.csv").unlink()
    export_s = time.perf_counter() - t0
    duck.execute(f"CREATE VIEW items AS SELECT * FROM read_parquet('{tmp}/items.parquet')")
    duck.execute(f"CREATE VIEW responses AS SELECT * FROM read_parquet('{tmp}/responses.parquet')")
    duck.execute("CREATE TABLE weights (code VARCHAR, w DOUBLE)")
    duck.executemany("INSERT INTO weights VALUES (?, ?)", weights)
    duck_s = []
    for _ in range(RUNS):
        t = time.perf_counter()
        duck.execute(DUCK_ROLLUP)
        duck.execute("CHECKPOINT")
        duck_s.append(time.perf_counter() - t)

    # per organization: DuckDB's year rows pivoted like Otklik's summary, compared column by column
    engine = db.create_engine(db.to_async_url(url))
    factory = db.session_factory(engine)
    codes = list(SUMMARY_CODES)
    ours: dict[int, tuple[Any, ...]] = {}
    async with factory() as s:
        t = IndicatorSummary.__table__.c
        for r in await s.execute(
            select(t.organization_id, *(t[c] for c in SUMMARY_COLUMNS)).where(
                t.grain == "y", t.day == YEAR.start, t.resp != 0
            )
        ):
            ours[int(r[0])] = tuple(r[1:])
        m = await ind.methodology(s, None)
        unit = await ind.resolve_unit(s, "country:RU")
        national = await ind.compute(s, Scope.country(), unit, YEAR, m, date(2026, 12, 31))
    await engine.dispose()
    pivot = ", ".join(
        [
            "sum(n) FILTER (WHERE code = '*')",
            "sum(n) FILTER (WHERE code = '*integral')",
            "sum(isum) FILTER (WHERE code = '*integral')",
            "sum(isumsq) FILTER (WHERE code = '*integral')",
        ]
        + [
            f"coalesce(sum({x}) FILTER (WHERE code = '{c}'), 0)"
            for c in codes
            for x in ("n", "total", "n1 + 4 * n2 + 9 * n3 + 16 * n4 + 25 * n5")
        ]
    )
    theirs = {
        int(r[0]): tuple(r[1:])
        for r in duck.execute(
            f"SELECT organization_id, {pivot} FROM rollup WHERE grain = 'y' AND day = DATE '2026-01-01' "
            "GROUP BY organization_id"
        ).fetchall()
    }
    assert ours.keys() == theirs.keys(), "organizations differ"
    for oid, row in ours.items():
        other = theirs[oid]
        assert (row[:2], row[4:]) == (other[:2], other[4:]), (oid, row, other)  # counts: exact
        for a, b in zip(row[2:4], other[2:4], strict=True):  # float8 sums of the integrals
            assert math.isclose(a, b, rel_tol=1e-9), (oid, a, b)
    # national: every item's n, mean and share satisfied, the questionnaires and the integral
    tot = {
        r[0]: r[1:]
        for r in duck.execute(
            "SELECT code, sum(n), sum(total), sum(n4 + n5) FROM rollup WHERE grain = 'y' "
            "AND day = DATE '2026-01-01' GROUP BY code"
        ).fetchall()
    }
    resp = int(tot["*"][0])
    n_of = {q: int(tot[q][0]) if q in tot else 0 for q in m.items}
    means = {q: Fraction(int(tot[q][1]), n_of[q]) for q in m.items if n_of[q] >= m.min_n}
    used = [(Fraction(w), means[q]) for q, w in m.integral_weights.items() if q in means]
    value = sum(w * v for w, v in used) / sum(w for w, _ in used)
    duck_national = (
        resp,
        [
            (
                q,
                n_of[q],
                _half_up(means[q], 2),
                _half_up(Fraction(100 * int(tot[q][2]), n_of[q]), 1),
            )
            if q in means
            else (q, n_of[q], None, None)
            for q in m.items
        ],
        _half_up(value, 2),
    )
    otklik_national = (
        national.counts.responses,
        [(i.code, i.n, i.mean, i.csat) for i in national.items],
        national.integral.value,
    )
    assert duck_national == otklik_national, (duck_national, otklik_national)
    duck.close()
    d = statistics.median(duck_s)
    print(
        f"4. peer check: DuckDB {duckdb.__version__} over Parquet ({len(ours)} organizations, "
        f"{resp} questionnaires): the same national figures (integral {value and _half_up(value, 2)}, "
        f"{len(m.items)} items: n, mean, share satisfied) and every organization's year sums identical; "
        f"export to Parquet {export_s:.0f} s (untimed below)",
        flush=True,
    )
    if RECOMPUTE_S:
        f = statistics.median(RECOMPUTE_S)
        print(
            f"   DuckDB rollup (month and year grains, same rows) {d:.1f} s (median of {RUNS}: "
            f"{', '.join(f'{x:.1f}' for x in duck_s)}) vs Otklik recompute {f:.1f} s: "
            f"Otklik takes {f / d:.1f}x DuckDB's time",
            flush=True,
        )
    else:
        print(f"   DuckDB rollup {d:.1f} s (median of {RUNS}); run part 'recompute' for the ratio")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="indicators-", dir=OUT))
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
        if "recompute" in PARTS:
            asyncio.run(recompute(url))
        if "pages" in PARTS:
            asyncio.run(pages(url, tmp))
        if "freshness" in PARTS:
            asyncio.run(freshness(url))
        if "peer" in PARTS:
            asyncio.run(peer(url, tmp))
    finally:
        if not os.environ.get("OTKLIK_BENCH_DATABASE_URL"):
            db.stop_embedded()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
