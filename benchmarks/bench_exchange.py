"""Exchange: answers packed and sent to a local ИАС МКГУ receiver, against a plain COPY … TO.

Data: ``OTKLIK_BENCH_EX_RESPONSES`` answers (default 1 000 000) with five items each over 2026,
generated with INSERT … SELECT generate_series (the queue trigger fills ``exchange_queue`` in
the same statement). Each run re-queues every answer and empties the batches (untimed), then:

- transfer: ``service.pack`` + ``service.send_due`` in the worker's loop until nothing is left,
  batches of ``OTKLIK_BENCH_EX_BATCH`` (default 5 000) over real HTTP to the reference receiver
  (``exchange/receiver.py``) in its own process, which checks every manifest and line;
- baseline: ``COPY (SELECT <the same line per answer>) TO STDOUT`` read to the end by psycopg.

Prints answers/s for both, their ratio (median of ``OTKLIK_BENCH_EX_RUNS`` runs, default 3), and
the sender's resident memory at 10 % and at 100 % of the first run (flat = the same order).

Database: embedded PostgreSQL under ``benchmarks/out/`` or ``OTKLIK_BENCH_DATABASE_URL``
(schema ``public`` is DROPPED: a throwaway database only).
"""

# ruff: noqa: E501 - SQL text is easier to read unwrapped
from __future__ import annotations

import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg
from sqlalchemy import text

from otklik import db, migrate
from otklik.config import Settings
from otklik.exchange import repository, service
from otklik.kit.clock import now_utc
from otklik.registry.reference import seed_reference
from otklik.registry.service import seed_catalogue

N = int(os.environ.get("OTKLIK_BENCH_EX_RESPONSES", "1000000"))
BATCH = int(os.environ.get("OTKLIK_BENCH_EX_BATCH", "5000"))
RUNS = int(os.environ.get("OTKLIK_BENCH_EX_RUNS", "3"))
OUT = Path(__file__).resolve().parent / "out"
RECEIVER = """
import sys, uvicorn
from otklik.exchange.receiver import ReceiverState, create_receiver
uvicorn.run(create_receiver(ReceiverState()), host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""

GENERATE = [
    "INSERT INTO questionnaire_versions (version, title, definition) VALUES ('bench', 'b', '{}')",
    """INSERT INTO organizations (ogrn, inn, full_name, short_name, type_code, region_code, founder_id, address, participates_from)
       SELECT lpad((1000000000000 + g)::text, 13, '0'), lpad((1000000000 + g)::text, 10, '0'), 'Организация ' || g,
              'Организация ' || g, 'med_outpatient', '77', (SELECT min(id) FROM founders), '', '2025-01-01'
       FROM generate_series(1, 2000) g""",
    """INSERT INTO responses (id, questionnaire_version, organization_id, organization_type_code, region_code,
         founder_id, service_code, served_on, answered_on, channel, respondent, age_band, answers)
       SELECT gen_random_uuid(), 'bench', o.id, o.type_code, o.region_code, o.founder_id, 'health.checkup',
              date '2026-01-01' + g % 330, date '2026-01-01' + g % 330, 'portal', 'recipient', '30-39', '{}'
       FROM generate_series(1, :n) g JOIN organizations o ON o.id = (SELECT min(id) FROM organizations) + g % 2000""",
    """INSERT INTO response_items (response_id, code, value, organization_id, answered_on)
       SELECT r.id, c.code, 1 + abs(hashtext(r.id::text || c.code)) % 5, r.organization_id, r.answered_on
       FROM responses r CROSS JOIN (VALUES ('overall'), ('organization'), ('comfort'), ('staff'), ('information')) c(code)""",
]
REQUEUE = [
    "TRUNCATE exchange_items, exchange_batches",
    "TRUNCATE exchange_queue",
    "INSERT INTO exchange_queue SELECT id, answered_on FROM responses",
    "VACUUM ANALYZE exchange_queue",
]
BASELINE = """COPY (SELECT jsonb_build_object('response_key', r.id, 'organization_ogrn', o.ogrn, 'service_code', r.service_code,
    'life_situation_code', r.life_situation_code, 'region_code', r.region_code, 'answered_on', r.answered_on,
    'questionnaire_version', r.questionnaire_version, 'methodology_version', 'x',
    'items', coalesce((SELECT jsonb_object_agg(i.code, i.value ORDER BY i.code) FROM response_items i WHERE i.response_id = r.id), '{}'::jsonb),
    'comments', coalesce((SELECT jsonb_object_agg(c.code, c.text ORDER BY c.code) FROM response_comments c WHERE c.response_id = r.id), '{}'::jsonb))::text
  FROM responses r JOIN organizations o ON o.id = r.organization_id ORDER BY r.answered_on, r.id) TO STDOUT"""


def rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def generate(url: str) -> None:
    engine = db.create_engine(db.to_async_url(url))
    async with db.transaction(db.session_factory(engine)) as s:
        await seed_reference(s)
        await seed_catalogue(s)
    t = time.perf_counter()
    async with engine.begin() as conn:
        for sql in GENERATE:
            await conn.execute(text(sql), {"n": N})
    print(
        f"data: {N} answers, {5 * N} items, generated in {time.perf_counter() - t:.0f} s",
        flush=True,
    )
    await engine.dispose()


async def requeue(url: str) -> None:
    engine = db.create_engine(db.to_async_url(url))
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for sql in REQUEUE:
            await conn.execute(text(sql))
    await engine.dispose()


async def transfer(url: str, settings: Settings, memory: list[float]) -> float:
    engine = db.create_engine(db.to_async_url(url))
    factory = db.session_factory(engine)
    done = 0
    t = time.perf_counter()
    while True:
        async with db.transaction(factory) as s:
            packed = await service.pack(s, settings, limit=settings.iasmkgu_batch)
            while await service.send_due(s, settings, now_utc()):
                pass
        done += packed.answers
        if memory is not None and len(memory) == 0 and done >= N // 10:
            memory.append(rss_mb())
        if packed.answers == 0:
            break
    elapsed = time.perf_counter() - t
    memory.append(rss_mb())
    async with db.transaction(factory) as s:
        summary = await service.reconciliation(s, settings)
        left, _, _ = await repository.count_queued(s, service.EPOCH)
    await engine.dispose()
    assert summary.acknowledged == N, summary
    assert summary.in_flight == 0, summary
    assert left == 0, left
    return elapsed


def baseline(url: str) -> float:
    t = time.perf_counter()
    rows = 0
    with psycopg.connect(db.to_libpq_url(url)) as conn, conn.cursor() as cur:
        with cur.copy(BASELINE) as copy:
            for _ in copy.rows():
                rows += 1
    assert rows == N, rows
    return time.perf_counter() - t


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="exchange-", dir=OUT))
    url = os.environ.get("OTKLIK_BENCH_DATABASE_URL")
    port = free_port()
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)])  # noqa: S603 - our own code
    try:
        if not url:
            url = db.start_embedded(tmp / "pgdata", database="bench")
        with psycopg.connect(db.to_libpq_url(url), autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
        migrate.upgrade(db.to_async_url(url))
        asyncio.run(generate(url))
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            except OSError as exc:
                if "404" in str(exc) or "405" in str(exc):
                    break
                time.sleep(0.1)
        settings = Settings(
            env="test",
            iasmkgu_url=f"http://127.0.0.1:{port}/batches",
            iasmkgu_batch=BATCH,
            channel_timeout_seconds=60,
        )
        sends: list[float] = []
        copies: list[float] = []
        memory: list[float] = []
        for i in range(RUNS):
            asyncio.run(requeue(url))
            sends.append(asyncio.run(transfer(url, settings, memory if i == 0 else [])))
            copies.append(baseline(url))
            print(
                f"run {i + 1}: transfer {N / sends[-1]:,.0f} answers/s, COPY TO {N / copies[-1]:,.0f} rows/s",
                flush=True,
            )
        s, c = statistics.median(sends), statistics.median(copies)
        print(
            f"transfer to ИАС МКГУ: {N / s:,.0f} answers/s (median of {RUNS}); plain COPY TO: {N / c:,.0f} rows/s; transfer takes {s / c:.2f}x the time of COPY"
        )
        print(f"sender memory: {memory[0]:.0f} MB at 10 %, {memory[-1]:.0f} MB at 100 % of run 1")
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)
        if not os.environ.get("OTKLIK_BENCH_DATABASE_URL"):
            db.stop_embedded()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
