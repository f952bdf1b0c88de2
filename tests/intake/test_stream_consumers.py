"""Several ``otklik intake consume`` processes share one durable JetStream consumer.

Real processes against the real NATS server and a database of their own (created here and
dropped afterwards: the processes commit, which the rolled-back test database cannot show).
20 000 messages: new records, records published twice, truncated JSON and records the registry
refuses. Three consumers start; one is killed with SIGKILL while it works; the other two finish.
At the end: every valid record stored and invited exactly once, every rejection counted once,
nothing left unacknowledged.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from nats.aio.client import Client as NATS
from nats.js.api import ConsumerConfig
from sqlalchemy import make_url

from otklik.db import create_engine, session_factory, to_async_url, to_libpq_url, transaction
from otklik.intake.stream import STREAM, durable_for, subject_for
from otklik.migrate import upgrade
from otklik.registry.reference import seed_reference
from otklik.registry.service import seed_catalogue
from tests.factories import create_organization, create_source, service_record
from tests.intake.conftest import NATS_URL

OTKLIK = str(Path(sys.executable).with_name("otklik"))
NEW, REPEATED, TRUNCATED, REFUSED = 18_400, 1_000, 300, 300  # 20 000 messages
ACK_WAIT = 4.0  # a killed consumer's batch comes back to the others after this


@pytest.fixture
def own_database(database_url: str) -> Iterator[str]:
    """A migrated database next to the test database, for the consumer processes."""
    url = make_url(to_libpq_url(database_url))
    name = f"{url.database}_consumers"
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    own = url.set(database=name).render_as_string(hide_password=False)
    upgrade(to_async_url(own))
    yield own
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _figures(url: str, source: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            """
            SELECT
              (SELECT count(*) FROM service_records r JOIN sources s ON s.id = r.source_id
                WHERE s.name = %(s)s),
              (SELECT count(DISTINCT record_id) FROM service_records),
              (SELECT count(*) FROM outreach_tasks),
              (SELECT count(*) FROM contacts),
              (SELECT coalesce(sum(count), 0) FROM intake_rejections),
              (SELECT coalesce(sum(accepted), 0) FROM intake_batches),
              (SELECT coalesce(sum(rejected), 0) FROM intake_batches),
              (SELECT coalesce(sum(duplicates), 0) FROM intake_batches),
              (SELECT coalesce(sum(records), 0) FROM intake_batches),
              (SELECT count(*) FROM intake_stream_rejections)
            """,
            {"s": source},
        ).fetchone()
    assert row is not None
    names = (
        "records distinct outreach contacts rejections accepted rejected duplicates delivered marks"
    )
    return dict(zip(names.split(), (int(v) for v in row), strict=True))


async def test_three_consumers_one_killed_store_each_record_once(
    nc: NATS, own_database: str, tmp_path: Path
) -> None:
    engine = create_engine(to_async_url(own_database))
    try:
        async with transaction(session_factory(engine)) as session:
            await seed_reference(session)
            await seed_catalogue(session)
            org = await create_organization(session)
            source, _ = await create_source(session, f"mq-{secrets.token_hex(4)}")
            ogrn, name = org.ogrn, source.name
    finally:
        await engine.dispose()

    js = nc.jetstream()
    durable = durable_for(name)
    # the durable consumer as an operator would create it, with a short ack_wait for the test
    await js.add_consumer(
        STREAM,
        ConsumerConfig(
            durable_name=durable,
            filter_subject=subject_for(name),
            ack_wait=ACK_WAIT,
            max_ack_pending=20_000,
        ),
    )
    new = [service_record(ogrn) for _ in range(NEW)]
    payloads = [orjson.dumps(r) for r in new]
    rng = random.Random(19)
    payloads += [orjson.dumps(r) for r in rng.sample(new, REPEATED)]  # producers' retries
    payloads += [orjson.dumps(service_record(ogrn))[:-9] for _ in range(TRUNCATED)]
    refused = [service_record(ogrn, service_code="no.such_service") for _ in range(REFUSED)]
    payloads += [orjson.dumps(r) for r in refused]
    rng.shuffle(payloads)
    errors: list[bytes] = []

    async def on_error(msg: Any) -> None:
        errors.append(msg.data)

    await nc.subscribe(f"otklik.intake.errors.{name}", cb=on_error)
    for i in range(0, len(payloads), 1000):
        await asyncio.gather(
            *(js.publish(subject_for(name), p, timeout=60) for p in payloads[i : i + 1000])
        )

    env = {
        **os.environ,
        "OTKLIK_DATABASE_URL": own_database,
        "OTKLIK_DATA_DIR": str(tmp_path),
        "OTKLIK_ENV": "test",
        "OTKLIK_PII_KEY": "p" * 40,
    }
    args = [OTKLIK, "intake", "consume", "--source", name, "--nats-url", NATS_URL]
    procs = [
        subprocess.Popen(  # noqa: S603 - our own command
            [*args, "--batch", "500"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / f"consumer-{i}.log").open("wb"),
        )
        for i in range(3)
    ]
    try:
        # kill one consumer while the work is under way
        deadline = time.monotonic() + 180
        while _figures(own_database, name)["records"] < NEW // 4:
            assert time.monotonic() < deadline, "the consumers did not start"
            assert all(p.poll() is None for p in procs), "a consumer stopped"
            await asyncio.sleep(0.2)
        os.kill(procs[0].pid, signal.SIGKILL)
        procs[0].wait(10)
        killed_at = _figures(own_database, name)
        assert killed_at["records"] < NEW  # it was killed mid-way

        deadline = time.monotonic() + 600
        while True:
            info = await js.consumer_info(STREAM, durable)
            done = _figures(own_database, name)
            if (
                info.num_pending == 0
                and info.num_ack_pending == 0
                and done["records"] == NEW
                and done["rejections"] >= TRUNCATED + REFUSED
            ):
                break
            assert time.monotonic() < deadline, (info, done)
            assert all(p.poll() is None for p in procs[1:]), "a consumer stopped"
            await asyncio.sleep(0.5)
        await asyncio.sleep(ACK_WAIT + 1)  # anything still to come back would come back now
        info = await js.consumer_info(STREAM, durable)
    finally:
        for p in procs[1:]:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(30)
    logs = "".join((tmp_path / f"consumer-{i}.log").read_text() for i in range(3))
    assert "Traceback" not in logs, logs[-3000:]
    await nc.flush()

    done = _figures(own_database, name)
    assert done["records"] == NEW  # each valid record stored once
    assert done["distinct"] == NEW
    assert done["outreach"] == NEW  # and invited once
    assert done["contacts"] == NEW
    assert done["accepted"] == NEW
    assert done["rejections"] == TRUNCATED + REFUSED  # each rejection counted once
    assert done["rejected"] == TRUNCATED + REFUSED
    assert done["marks"] == TRUNCATED + REFUSED
    # every delivery is in a batch's count: the first ones and any redelivered
    assert done["delivered"] == done["accepted"] + done["rejected"] + done["duplicates"]
    assert done["delivered"] >= len(payloads)
    assert done["duplicates"] >= REPEATED
    assert info.num_pending == 0  # nothing left in the stream for this consumer
    assert info.num_ack_pending == 0  # nothing delivered and not acknowledged
    assert info.delivered.consumer_seq == info.ack_floor.consumer_seq
    # each rejected record is reported on the errors subject (again after a redelivery)
    reported = {orjson.loads(e)["record_id"] for e in errors}
    assert {r["record_id"] for r in refused} <= reported
    print(  # noqa: T201 - the run's figures, for the report
        f"killed after {killed_at['records']} records; redelivered: {info.num_redelivered};"
        f" deliveries {done['delivered']} for {len(payloads)} messages"
    )
    await js.delete_consumer(STREAM, durable)
