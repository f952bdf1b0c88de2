"""Stream intake with one and with two consumer processes on one durable consumer, same run.

For each run a new source (its own subject and durable consumer) and ``RECORDS`` new valid
records (default 10 000, ``OTKLIK_BENCH_STREAM_RECORDS``). The consumers
(``otklik intake consume --batch 1000``, real processes) start once every record is published
to the durable consumer they share; the clock starts when the first batch is committed and
stops when the database holds every record (the records after the first batch / the time).
Interleaved: 1 consumer, then 2, ``REPEATS`` times; medians of records/s, and the ratio
2 consumers / 1. The load average is printed with the figures (the machine is shared).

Needs NATS with JetStream at ``OTKLIK_BENCH_NATS_URL`` (default nats://127.0.0.1:4222): without
it the benchmark says so and measures nothing. The database is an embedded PostgreSQL in a
temporary folder under ``benchmarks/out/``, or ``OTKLIK_BENCH_DATABASE_URL`` (its schema
``public`` is DROPPED: a throwaway database only).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
from nats.js.api import ConsumerConfig
from sqlalchemy import select

from otklik import db, migrate
from otklik.identity.audit import Actor
from otklik.intake.service import create_source
from otklik.intake.stream import STREAM, durable_for, ensure_stream, subject_for
from otklik.registry.models import Founder, Organization
from otklik.registry.reference import seed_reference
from otklik.registry.service import seed_catalogue
from otklik.registry.validators import inn_with_checksum, ogrn_with_checksum, snils_with_checksum

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
RECORDS = int(os.environ.get("OTKLIK_BENCH_STREAM_RECORDS", "10000"))
NATS_URL = os.environ.get("OTKLIK_BENCH_NATS_URL", "nats://127.0.0.1:4222")
REPEATS = 3
OTKLIK = str(Path(sys.executable).with_name("otklik"))


async def _organization(url: str) -> str:
    """Reference data and one participating outpatient clinic; its OGRN."""
    engine = db.create_engine(db.to_async_url(url))
    ogrn = ogrn_with_checksum("102770000001")
    try:
        async with db.transaction(db.session_factory(engine)) as session:
            await seed_reference(session)
            await seed_catalogue(session)
            founder = await session.scalar(select(Founder.id).where(Founder.code == "r77-health"))
            assert founder is not None
            session.add(
                Organization(
                    ogrn=ogrn,
                    inn=inn_with_checksum("770000001"),
                    full_name="Поликлиника",
                    short_name="Поликлиника",
                    type_code="med_outpatient",
                    region_code="77",
                    founder_id=founder,
                    address="",
                    participates_from=date(2020, 1, 1),
                )
            )
    finally:
        await engine.dispose()
    return ogrn


async def _source(url: str) -> str:
    engine = db.create_engine(db.to_async_url(url))
    try:
        async with db.transaction(db.session_factory(engine)) as session:
            source, _ = await create_source(
                session, Actor.system("bench"), f"bench-{secrets.token_hex(4)}"
            )
            return source.name
    finally:
        await engine.dispose()


def _payloads(ogrn: str, run: int) -> list[bytes]:
    served = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    return [
        orjson.dumps(
            {
                "record_id": f"B{run}-{i}",
                "organization_ogrn": ogrn,
                "service_code": "health.outpatient_visit",
                "served_at": served,
                "recipient": {
                    "snils": snils_with_checksum(f"{run * 1_000_000 + i + 100_000_000:09d}"),
                    "birth_date": "1980-05-01",
                    "portal_account_confirmed": True,
                    "email": "a@example.ru",
                },
            }
        )
        for i in range(RECORDS)
    ]


def _stored(url: str, source: str) -> int:
    with psycopg.connect(db.to_libpq_url(url)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM service_records r JOIN sources s ON s.id = r.source_id"
            " WHERE s.name = %s",
            (source,),
        ).fetchone()
    return int(row[0]) if row else 0


async def _run(url: str, ogrn: str, consumers: int, run: int, tmp: Path) -> float:
    import nats

    source = await _source(url)
    payloads = _payloads(ogrn, run)
    nc = await nats.connect(NATS_URL, connect_timeout=3)
    env = {
        **os.environ,
        "OTKLIK_DATABASE_URL": url,
        "OTKLIK_DATA_DIR": str(tmp),
        "OTKLIK_ENV": "test",
    }
    js = nc.jetstream()
    # everything published first, to the durable consumer the processes will share
    await js.add_consumer(
        STREAM,
        ConsumerConfig(
            durable_name=durable_for(source),
            filter_subject=subject_for(source),
            ack_wait=30.0,
            max_ack_pending=16_000,
        ),
    )
    for i in range(0, len(payloads), 1000):
        await asyncio.gather(
            *(js.publish(subject_for(source), p, timeout=60) for p in payloads[i : i + 1000])
        )
    procs = [
        subprocess.Popen(  # noqa: S603 - our own command
            [OTKLIK, "intake", "consume", "--source", source, "--nats-url", NATS_URL],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp / f"consumer-{run}-{consumers}-{i}.log").open("wb"),
        )
        for i in range(consumers)
    ]
    try:
        # the clock runs from the first committed batch to the last: process start-up and the
        # first batch are left out, the same for 1 and 2 consumers
        while (first := _stored(url, source)) == 0:
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a consumer stopped: see " + str(tmp))
            await asyncio.sleep(0.01)
        started = time.perf_counter()
        while _stored(url, source) < RECORDS:
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        await js.delete_consumer(STREAM, durable_for(source))
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(30)
        await nc.close()
    return (RECORDS - first) / elapsed


async def _nats_ready() -> bool:
    import nats

    try:
        nc = await asyncio.wait_for(
            nats.connect(NATS_URL, connect_timeout=2, allow_reconnect=False), 5
        )
    except Exception as exc:  # any failure: no server here
        print(f"NOT MEASURED: no NATS at {NATS_URL} ({exc!r})", flush=True)
        return False
    try:
        await ensure_stream(nc)
    finally:
        await nc.close()
    return True


async def bench(url: str, tmp: Path) -> None:
    with psycopg.connect(db.to_libpq_url(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    migrate.upgrade(db.to_async_url(url))
    ogrn = await _organization(url)
    rates: dict[int, list[float]] = {1: [], 2: []}
    for run in range(REPEATS):
        for consumers in (1, 2):
            rate = await _run(url, ogrn, consumers, run * 10 + consumers, tmp)
            rates[consumers].append(rate)
            load = os.getloadavg()[0]
            print(
                f"run {run + 1}, {consumers} consumer(s): {rate:,.0f} records/s (load {load:.2f})"
            )
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    load1, load5, _ = os.getloadavg()
    print(
        f"stream intake, {RECORDS} records a run, median of {REPEATS}: "
        f"2 consumers {two:,.0f} records/s; baseline 1 consumer {one:,.0f} records/s; "
        f"ratio {two / one:.2f} (load average {load1:.2f} / {load5:.2f}, "
        f"{os.cpu_count()} cores)",
        flush=True,
    )


def main() -> int:
    if not asyncio.run(_nats_ready()):
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="intake-stream-", dir=OUT))
    try:
        url = os.environ.get("OTKLIK_BENCH_DATABASE_URL")
        if url:
            print("database: OTKLIK_BENCH_DATABASE_URL", flush=True)
        else:
            print(f"database: embedded PostgreSQL in {tmp / 'pgdata'}", flush=True)
            url = db.start_embedded(tmp / "pgdata", database="bench")
        asyncio.run(bench(url, tmp))
    finally:
        db.stop_embedded()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
