"""Outreach: planning speed and memory, delivery rate and its ceiling (what each part of a
worker's work costs per message), record → sent latency, reliability under SIGKILL, and a
channel down for an hour. Every figure is printed with a baseline measured in
the same run.

A throwaway database ``bench_outreach_<random>`` is created on the PostgreSQL of
``OTKLIK_BENCH_ADMIN_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``; if
nothing answers there, an embedded PostgreSQL under ``benchmarks/out/``) and dropped at the end.
Records, contacts and tasks are written with COPY exactly as intake leaves
them (not timed). The channel is ``portal`` pointed at a raw asyncio HTTP sink in a subprocess
(``outreach_support.py``); workers are ``otklik worker`` processes.

Usage: ``python benchmarks/bench_outreach.py [--records 200000] [--inflight 100000]
[--messages 20000] [--latency-seconds 60] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from outreach_support import PII_KEY, VAULT, RecordMaker, organizations

from otklik import db, migrate
from otklik.config import Settings
from otklik.demo.seed import write_organizations_csv
from otklik.outreach.channels import enabled_channels
from otklik.outreach.service import deliver, plan
from otklik.registry.reference import seed_reference
from otklik.registry.service import import_file, seed_catalogue

HERE = Path(__file__).resolve().parent
OTKLIK = Path(sys.executable).parent / "otklik"
SECRET = "bench-secret-" + "y" * 30


def rate(n: float) -> str:
    return f"{n:,.0f}".replace(",", " ")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        admin = os.environ.get(
            "OTKLIK_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        )
        try:
            psycopg.connect(admin, connect_timeout=3).close()
        except psycopg.OperationalError:  # no server there: the embedded one
            admin = db.start_embedded(HERE / "out" / "outreach-pgdata", database="postgres")
        self.admin = admin
        self.name = f"bench_outreach_{secrets.token_hex(4)}"
        self.url = make_url(admin).set(database=self.name).render_as_string(hide_password=False)
        self.sink_port = free_port()
        self.smtp_port = free_port()
        self.sink = f"http://127.0.0.1:{self.sink_port}"
        self.settings = Settings(
            env="test",
            database_url=self.url,
            secret_key=SECRET,
            pii_key=PII_KEY,
            portal_notify_url=self.sink + "/notify",
            portal_batch_url=None if args.single else self.sink + "/batch",
            quiet_hours_start=0,
            quiet_hours_end=0,
            channel_rate_per_second=100_000,
            delivery_batch=500,
        )
        self.workers: list[subprocess.Popen[bytes]] = []

    # --- environment ---

    @contextmanager
    def database(self) -> Iterator[None]:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        sink = subprocess.Popen(  # noqa: S603 - our own helper
            [
                sys.executable,
                str(HERE / "outreach_support.py"),
                "sink",
                str(self.sink_port),
                str(self.smtp_port),
            ]
        )
        self.sink_pid = sink.pid
        try:
            migrate.upgrade(db.to_async_url(self.url))
            asyncio.run(self.seed())
            time.sleep(0.5)
            yield
        finally:
            self.stop_workers()
            sink.kill()
            with psycopg.connect(self.admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    async def seed(self) -> None:
        path = Path(f"/tmp/{self.name}_orgs.csv")  # noqa: S108 - a throwaway file
        write_organizations_csv(path, 500)
        engine = db.create_engine(db.to_async_url(self.url))
        async with db.transaction(db.session_factory(engine)) as session:
            await seed_reference(session)
            await seed_catalogue(session)
            await import_file(session, "organizations", path, max_bytes=2**26)
        await engine.dispose()
        path.unlink()

    def conn(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url)

    def sql(self, query: str) -> Any:
        with self.conn() as c:
            row = c.execute(query).fetchone()
            c.commit()
            return row[0] if row else None

    def sink_call(self, path: str, post: bool = False) -> Any:
        r = httpx.post(self.sink + path) if post else httpx.get(self.sink + path)
        return r.json()

    def start_worker(self, channel: str = "portal") -> None:
        env = {
            **os.environ,
            "OTKLIK_ENV": "test",
            "OTKLIK_DATABASE_URL": self.url,
            "OTKLIK_SECRET_KEY": SECRET,
            "OTKLIK_PII_KEY": PII_KEY,
            "OTKLIK_QUIET_HOURS_START": "0",
            "OTKLIK_QUIET_HOURS_END": "0",
            "OTKLIK_CHANNEL_RATE_PER_SECOND": "100000",
            "OTKLIK_DELIVERY_BATCH": str(self.args.delivery_batch),
        }
        if channel == "portal":
            env["OTKLIK_PORTAL_NOTIFY_URL"] = self.sink + "/notify"
            if not self.args.single:
                env["OTKLIK_PORTAL_BATCH_URL"] = self.sink + "/batch"
        else:
            env.update(
                OTKLIK_SMTP_HOST="127.0.0.1",
                OTKLIK_SMTP_PORT=str(self.smtp_port),
                OTKLIK_SMTP_FROM="otklik@example.ru",
                OTKLIK_SMTP_SECURITY="none",
            )
        self.workers.append(
            subprocess.Popen(  # noqa: S603 - our own CLI
                [str(OTKLIK), "worker"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    def wait_workers_ready(self, timeout: float = 600) -> None:
        """Until every worker has connected to the database, and 5 s more for the rest of its
        first cycle of jobs (a worker still starting only lowers the figure)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            cycled = self.sql(
                "SELECT count(DISTINCT pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend'"
            )
            if cycled >= len(self.workers):
                time.sleep(5.0)
                return
            time.sleep(0.2)
        raise RuntimeError("workers did not start")

    def stop_workers(self) -> None:
        for w in self.workers:
            w.kill()
            w.wait()
        self.workers.clear()

    def wait_idle(self, timeout: float = 1800) -> None:
        """Until no task is pending and no message is queued."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            busy = self.sql(
                "SELECT (SELECT count(*) FROM outreach_tasks WHERE status = 'pending')"
                " + (SELECT count(*) FROM deliveries WHERE status = 'queued')"
            )
            if busy == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("workers did not finish")

    def park_deliveries(self) -> None:
        """Messages of an earlier part are taken out of the queue (marked sent, not timed)."""
        self.sql("UPDATE deliveries SET status = 'sent' WHERE status = 'queued' RETURNING 1")

    # --- parts ---

    async def plan_all(self, now: datetime | None = None) -> int:
        engine = db.create_engine(db.to_async_url(self.url))
        factory = db.session_factory(engine)
        done = 0
        while True:
            async with db.transaction(factory) as session:
                n = await plan(session, self.settings, limit=5000, now=now)
            done += n
            if n == 0:
                break
        await engine.dispose()
        return done

    def plan_parallel(self) -> int:
        """``--planners`` processes planning at once (partitioned by person key)."""
        if self.args.planners == 1:
            return asyncio.run(self.plan_all())
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(self.args.planners) as pool:
            done = pool.map(plan_process, [self.url] * self.args.planners)
            return sum(done)

    def planning(self, maker: RecordMaker) -> None:
        """Invitations/s of ``--planners`` planners, against a plain ``INSERT … SELECT`` of as
        many rows as they made (into an unindexed copy of ``invitations``, the same columns,
        a random uuid and two SHA-256 per row), measured right after them in the same run."""
        n = self.args.records
        ratios, speeds, inv_speeds, plain_speeds, rss, loads = [], [], [], [], [], []
        for _ in range(self.args.repeats):
            with self.conn() as c:
                maker.write(c, n, sealed=False)
                c.execute("CREATE TABLE IF NOT EXISTS bench_plain (LIKE invitations)")
                c.execute("TRUNCATE bench_plain")
                c.commit()
            before = self.sql("SELECT count(*) FROM invitations")
            loads.append(os.getloadavg()[0])
            with rss_sampler() as sample:
                started = time.perf_counter()
                planned = self.plan_parallel()
                elapsed = time.perf_counter() - started
            invited = self.sql("SELECT count(*) FROM invitations") - before
            assert planned == n, (planned, n)
            with self.conn() as c:
                started = time.perf_counter()
                c.execute(
                    "INSERT INTO bench_plain (id, public_id, service_record_id, contact_id,"
                    " person_key, organization_id, token_hash, status, created_at, expires_at)"
                    " SELECT g, gen_random_uuid(), g, g, sha256(g::text::bytea), 1,"
                    " sha256(('t' || g)::bytea), 'queued', now(), now()"
                    " FROM generate_series(1, %s) g",
                    (invited,),
                )
                c.commit()
                baseline = time.perf_counter() - started
            speeds.append(n / elapsed)
            inv_speeds.append(invited / elapsed)
            plain_speeds.append(invited / baseline)
            ratios.append(baseline / elapsed)
            rss.append(sample)
            self.park_deliveries()
            print(
                f"  run: {rate(invited)} invitations in {elapsed:.2f} s = {rate(invited / elapsed)}"
                f"/s; plain INSERT ... SELECT of {rate(invited)} rows {baseline:.2f} s ="
                f" {rate(invited / baseline)}/s; ratio {baseline / elapsed:.3f};"
                f" load {loads[-1]:.1f}",
                flush=True,
            )
        print(
            f"planning {rate(n)} records x{self.args.repeats}, {self.args.planners} planners:"
            f" median {rate(median(speeds))}"
            f" records/s, {rate(median(inv_speeds))} invitations/s (goal >= 20 000/s);"
            f" plain INSERT ... SELECT of the same number of rows {rate(median(plain_speeds))}"
            f" rows/s; ratio {median(ratios):.3f} (goal >= 0.25); load average"
            f" {min(loads):.1f}-{max(loads):.1f}"
        )
        for i, (start, peak, end) in enumerate(rss, 1):
            print(f"  run {i}: RSS start {start} MiB, peak {peak} MiB, end {end} MiB")

    def profile(self, maker: RecordMaker) -> None:
        """Where planning spends its time: cProfile of this process, database time apart."""
        import cProfile
        import pstats

        with self.conn() as c:
            maker.write(c, self.args.records, sealed=False)
        prof = cProfile.Profile()
        started = time.perf_counter()
        prof.enable()
        asyncio.run(self.plan_all())
        prof.disable()
        print(f"planned {rate(self.args.records)} in {time.perf_counter() - started:.1f} s")
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)

    def profile_delivery(self, maker: RecordMaker) -> None:
        """Where a worker's delivery time goes: cProfile of in-process ``deliver`` batches."""
        import cProfile
        import pstats

        with self.conn() as c:
            maker.write(c, int(self.args.messages / 0.63) + 1)
        asyncio.run(self.plan_all())
        queued = self.sql("SELECT count(*) FROM deliveries WHERE status = 'queued'")
        settings = self.settings.model_copy(update={"delivery_batch": self.args.delivery_batch})

        async def drain() -> None:
            engine = db.create_engine(db.to_async_url(self.url))
            factory = db.session_factory(engine)
            async with httpx.AsyncClient() as client:
                channels = enabled_channels(settings, client)
                while True:
                    async with db.transaction(factory) as session:
                        n = await deliver(session, settings, vault=VAULT, channels=channels)
                    if not n:
                        break
            await engine.dispose()

        prof = cProfile.Profile()
        started = time.perf_counter()
        prof.enable()
        asyncio.run(drain())
        prof.disable()
        elapsed = time.perf_counter() - started
        print(f"delivered {rate(queued)} in {elapsed:.1f} s in-process: {rate(queued / elapsed)}/s")
        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)

    def claim_before_after(self) -> None:
        """D: the old claim (sort all due rows by id) against the new one (index order)."""
        old = (
            "SELECT d.id FROM deliveries d WHERE d.status = 'queued' AND d.next_attempt_at <= now()"
            " ORDER BY d.id LIMIT 500 FOR UPDATE OF d SKIP LOCKED"
        )
        new = (
            "SELECT id FROM deliveries WHERE status = 'queued' AND next_attempt_at <= now()"
            " ORDER BY next_attempt_at, id LIMIT 500 FOR UPDATE SKIP LOCKED"
        )
        with self.conn() as c:
            # the parked messages back in the queue: half due now, half held until morning
            c.execute(
                "UPDATE deliveries SET status = 'queued', next_attempt_at = CASE WHEN id % 2 = 0"
                " THEN now() - interval '1 minute' ELSE now() + interval '12 hours' END"
            )
            c.execute("CREATE INDEX bench_old_queued ON deliveries (id) WHERE status = 'queued'")
            c.commit()
            c.execute("ANALYZE deliveries")
            queued = c.execute("SELECT count(*) FROM deliveries WHERE status = 'queued'").fetchone()
            times = {}
            for label, q in (("before", old), ("after", new)):
                runs = []
                for _ in range(5):
                    started = time.perf_counter()
                    c.execute(q).fetchall()
                    runs.append((time.perf_counter() - started) * 1000)
                    c.rollback()
                times[label] = median(runs)
            c.rollback()
            c.execute("DROP INDEX bench_old_queued")
            c.execute("UPDATE deliveries SET status = 'sent' WHERE status = 'queued'")
            c.commit()
        print(
            f"claim 500 of {rate(queued[0] if queued else 0)} queued messages (half due):"
            f" before {times['before']:.1f} ms, after {times['after']:.1f} ms"
            f" ({times['before'] / max(times['after'], 1e-6):.1f}x faster)"
        )

    def contacts_before_after(self) -> None:
        """D: deleting 200 contacts referenced by invitations, without and with the index."""
        times = {}
        with self.conn() as c:
            for label in ("without index", "with index"):
                if label == "without index":
                    c.execute("DROP INDEX ix_invitations_contact_id")
                ids = [
                    r[0]
                    for r in c.execute(
                        "SELECT contact_id FROM invitations WHERE contact_id IS NOT NULL LIMIT 200"
                    )
                ]
                started = time.perf_counter()
                c.execute("DELETE FROM contacts WHERE id = ANY(%s)", (ids,))
                times[label] = time.perf_counter() - started
                c.rollback()
            invitations = c.execute("SELECT count(*) FROM invitations").fetchone()
        print(
            f"delete 200 contacts with {rate(invitations[0] if invitations else 0)} invitations:"
            f" without index {times['without index'] * 1000:.0f} ms,"
            f" with index {times['with index'] * 1000:.0f} ms"
        )

    def delivery(self, maker: RecordMaker, channel: str = "portal") -> None:
        m = self.args.messages if channel == "portal" else self.args.emails
        speeds, ratios, singles, arrivals = [], [], [], []
        # the workers start once (imports, a first cycle of every job: a minute and more on a
        # loaded machine, not timed); each run's messages are planned for tomorrow (parked),
        # and the clock runs from the moment they all fall due to the last one sent
        boot = time.perf_counter()
        for _ in range(2):
            self.start_worker(channel)
        self.wait_workers_ready()
        boot = time.perf_counter() - boot
        for _ in range(self.args.repeats):
            with self.conn() as c:
                maker.write(c, int(m / 0.63) + 1, hold=True)
            tomorrow = datetime.now(UTC) + timedelta(days=1, minutes=1)  # after the hold
            asyncio.run(self.plan_all(now=tomorrow))
            if channel == "email":  # the same messages, all by e-mail (no portal configured)
                self.sql(
                    "UPDATE deliveries SET channel = 'email' WHERE status = 'queued' RETURNING 1"
                )
            self.sink_call("/reset", post=True)
            queued = self.sql(
                "WITH due AS (UPDATE deliveries SET next_attempt_at = now()"
                " WHERE status = 'queued' RETURNING 1) SELECT count(*) FROM due"
            )
            started = time.perf_counter()
            self.wait_idle()
            elapsed = time.perf_counter() - started
            stats = self.sink_call("/stats")
            got = stats["unique"]
            assert got >= queued, (got, queued)
            # the same messages from the first to the last arrival at the sink: without the
            # workers' polling (up to 1 s to notice the due messages, a cycle of other jobs)
            arrivals.append(queued / max(stats["last"] - stats["first"], 1e-3))
            if channel == "email":
                base = asyncio.run(plain_smtp(self.smtp_port, queued))
            elif self.args.single:
                base = asyncio.run(plain_client(self.sink + "/notify", queued))
            else:
                base = asyncio.run(plain_same_batches(self.sink, queued, self.args.delivery_batch))
                if not singles:  # slow (the old ceiling): once, on at most 2 000 messages
                    singles.append(
                        asyncio.run(plain_client(self.sink + "/notify", min(queued, 2000)))
                    )
            speeds.append(queued / elapsed)
            ratios.append((queued / elapsed) / base)
            print(
                f"  run: {rate(queued)} messages, {rate(speeds[-1])} msg/s; baseline"
                f" {rate(base)} msg/s; ratio {ratios[-1]:.3f}; at the receiver"
                f" {rate(arrivals[-1])} msg/s; load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        if channel == "email":
            what = "e-mail (local aiosmtpd, pipelining), 2 worker processes"
            goal = "goal >= 500/s"
            baseline = "plain aiosmtplib clients (2 sessions, one message after another)"
        elif self.args.single:
            what = "portal, one request per message, 2 worker processes"
            goal = "goal >= 2 000/s"
            baseline = "a plain httpx client (100 concurrent) to the same sink"
        else:
            what = "portal batch endpoint, 2 worker processes"
            goal = "goal >= 2 000/s"
            baseline = (
                "a plain client sending the same batch requests (the same channel code and"
                " httpx client, messages of the same templates, 2 callers like 2 workers)"
            )
        print(
            f"delivery, {what}, ~{rate(m)} messages x{self.args.repeats}:"
            f" median {rate(median(speeds))} msg/s ({goal});"
            f" {median(ratios):.2f}x {baseline}"
            f" ({rate(median(speeds) / median(ratios))} msg/s)"
        )
        self.stop_workers()
        print(
            f"  first to last message at the receiver: median {rate(median(arrivals))} msg/s;"
            f" load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
        )
        print(f"  (worker start-up, not timed: {boot:.1f} s)")
        if singles:
            print(
                f"  the same messages one request each, plain httpx client (100 concurrent):"
                f" median {rate(median(singles))} msg/s; batches are"
                f" {median(speeds) / median(singles):.1f}x that"
            )

    def ceiling(self, maker: RecordMaker) -> None:
        """What a delivery of the same messages costs when the worker does less and less of
        its work: 2 processes at once (like the 2 workers), each over its half of the same due
        messages in batches of ``--delivery-batch``, without the worker's job scheduling.

        - ``prebuilt``: messages rendered beforehand, read from a narrow table of their own by a
          cursor (no join) and sent — the most a worker reading from PostgreSQL could reach;
        - ``read``: the claim's statement without its row locks (a keyset cursor), rows
          fetched — no write at all;
        - ``build``: + each message built (contact opened, link token, text): the worker's
          work with zero database writes per message, and no send;
        - ``send``: + the batch sent (``send_many``): the delivery with zero writes;
        - ``batch``: + success recorded per batch (one row of the batch's ids, the invitations
          updated; no ``deliveries`` row written): design (1) of the deliv19b section;
        - ``deliver``: the real ``service.deliver`` (claim with locks, build, send, record);
        - the plain client: the same batches of pre-built messages, same channel code.

        Per message: wall time, and the CPU of the two processes, of their database backends
        and of the sink (from /proc), so the ceiling of each design is shown, not guessed."""
        m = self.args.messages
        with self.conn() as c:
            maker.write(c, int(m / 0.63) + 1, hold=True)
        tomorrow = datetime.now(UTC) + timedelta(days=1, minutes=1)
        asyncio.run(self.plan_all(now=tomorrow))
        # every message due at the same time: the two halves are two ranges of the due order
        due_at = self.sql("SELECT now() - interval '1 s'")
        queued = self.sql(
            f"WITH due AS (UPDATE deliveries SET next_attempt_at = '{due_at.isoformat()}'"  # noqa: S608 - our values
            " WHERE status = 'queued' RETURNING 1) SELECT count(*) FROM due"
        )
        with self.conn() as c:
            c.commit()
            c.autocommit = True
            c.execute("VACUUM ANALYZE deliveries")
            c.execute("ANALYZE invitations")
            ids = [r[0] for r in c.execute("SELECT id FROM deliveries WHERE status = 'queued'")]
        ids.sort()
        half = len(ids) // 2
        ranges = [(ids[0], ids[half - 1]), (ids[half], ids[-1])]
        # the best a worker could do: messages rendered beforehand (as a planner could), one
        # narrow row each in a table of their own, read by a cursor and sent; no join, no write
        with self.conn() as c:
            c.execute(
                "CREATE TABLE bench_prebuilt (id bigint PRIMARY KEY, key uuid, snils text,"
                " title text, body text, link text)"
            )
            with c.cursor().copy(
                "COPY bench_prebuilt (id, key, snils, title, body, link) FROM STDIN"
            ) as copy:
                for i, msg in enumerate(sample_messages(queued), 1):
                    copy.write_row(
                        (i, msg.idempotency_key, msg.snils, msg.subject, msg.text, msg.link)
                    )
            c.commit()
            c.autocommit = True
            c.execute("VACUUM ANALYZE bench_prebuilt")
        prebuilt = [(1, queued // 2), (queued // 2 + 1, queued)]
        with self.conn() as c:
            c.execute(
                "CREATE TABLE bench_delivery_batches (id bigserial PRIMARY KEY,"
                " sent_at timestamptz NOT NULL, ids bigint[] NOT NULL)"
            )
            c.commit()
        variants = ("prebuilt", "read", "build", "send", "batch", "deliver")
        got: dict[str, list[dict[str, float]]] = {v: [] for v in (*variants, "plain")}
        sink_pid = self.sink_pid
        for repeat in range(self.args.repeats):
            if repeat:  # the real ``deliver`` sent them: the same rows queued again
                self.sql(
                    "WITH q AS (UPDATE deliveries SET status = 'queued', attempts = 0,"  # noqa: S608 - our values
                    f" sent_at = NULL, error = NULL, next_attempt_at = '{due_at.isoformat()}'"
                    f" WHERE id BETWEEN {ids[0]} AND {ids[-1]} RETURNING 1)"
                    " SELECT count(*) FROM q"
                )
                with self.conn() as c:
                    c.autocommit = True
                    c.execute("VACUUM ANALYZE deliveries")
            for variant in variants:
                self.sink_call("/reset", post=True)
                load = os.getloadavg()[0]
                sink0 = proc_cpu(sink_pid)
                results = run_ceiling(
                    self.url,
                    self.sink,
                    variant,
                    prebuilt if variant == "prebuilt" else ranges,
                    self.args,
                )
                sink_cpu = proc_cpu(sink_pid) - sink0
                wall = max(r["end"] for r in results) - min(r["start"] for r in results)
                n = sum(r["n"] for r in results)
                assert n == queued, (variant, n, queued)
                got[variant].append(
                    {
                        "rate": n / wall,
                        "py": sum(r["cpu"] for r in results) / n * 1e6,
                        "db": sum(r["db"] for r in results) / n * 1e6,
                        "sink": sink_cpu / n * 1e6,
                        "load": load,
                    }
                )
            self.sink_call("/reset", post=True)
            load = os.getloadavg()[0]
            sink0, cpu = proc_cpu(sink_pid), list[float]()
            base = asyncio.run(
                plain_same_batches(self.sink, queued, self.args.delivery_batch, cpu=cpu)
            )
            got["plain"].append(
                {
                    "rate": base,
                    "py": cpu[0] / queued * 1e6,
                    "db": 0.0,
                    "sink": (proc_cpu(sink_pid) - sink0) / queued * 1e6,
                    "load": load,
                }
            )
            print(
                "  run: "
                + "; ".join(f"{v} {rate(got[v][-1]['rate'])}/s" for v in (*variants, "plain"))
                + f"; load {load:.1f}",
                flush=True,
            )
        plain = median([g["rate"] for g in got["plain"]])
        print(
            f"ceiling, {rate(queued)} due messages, 2 processes, batches of"
            f" {self.args.delivery_batch}, medians of {self.args.repeats}"
            " (CPU in microseconds per message):"
        )
        for v in (*variants, "plain"):
            runs = got[v]
            r = median([g["rate"] for g in runs])
            py, dbc, sink = (median([g[k] for g in runs]) for k in ("py", "db", "sink"))
            print(
                f"  {v:8} {rate(r):>8} msg/s = {r / plain:.2f}x plain;"
                f" CPU/msg: processes {py:.1f}, database {dbc:.1f}, sink {sink:.1f},"
                f" all {py + dbc + sink:.1f}; load"
                f" {min(g['load'] for g in runs):.1f}-{max(g['load'] for g in runs):.1f}"
            )

    def email(self, maker: RecordMaker) -> None:
        self.delivery(maker, "email")

    def latency(self, maker: RecordMaker) -> None:
        """Records arrive at a steady rate for a while; record accepted → invitation sent."""
        per_second = self.args.latency_rate
        seconds = self.args.latency_seconds
        since = self.sql("SELECT coalesce(max(id), 0) FROM service_records")
        for _ in range(2):
            self.start_worker()
        with self.conn() as c:
            started = time.monotonic()
            for tick in range(seconds * 2):
                maker.write(c, per_second // 2)
                time.sleep(max(0.0, started + (tick + 1) / 2 - time.monotonic()))
        self.wait_idle()
        self.stop_workers()
        with self.conn() as c:
            rows = c.execute(
                "SELECT extract(epoch FROM d.sent_at - r.received_at) FROM deliveries d"
                " JOIN invitations i ON i.id = d.invitation_id"
                " JOIN service_records r ON r.id = i.service_record_id"
                " WHERE r.id > %s AND d.kind = 'invite' AND d.sent_at IS NOT NULL",
                (since,),
            ).fetchall()
        lat = sorted(float(r[0]) for r in rows)
        p95 = lat[int(len(lat) * 0.95)]
        print(
            f"record accepted -> invitation sent at {per_second} records/s for {seconds} s,"
            f" 2 workers: median {statistics.median(lat):.1f} s, p95 {p95:.1f} s"
            f" (goal p95 < 60 s; baseline: the worker's 1 s polling interval), {len(lat)} sent"
        )

    def reliability(self, maker: RecordMaker) -> None:
        n = self.args.inflight
        self.sink_call("/reset", post=True)
        since = self.sql("SELECT coalesce(max(id), 0) FROM service_records")
        with self.conn() as c:
            maker.write(c, n)
        rng = random.Random(7)
        for _ in range(2):
            self.start_worker()
        kills = 0
        until = time.monotonic() + self.args.kill_seconds
        while time.monotonic() < until and self.sql(
            "SELECT (SELECT count(*) FROM outreach_tasks WHERE status = 'pending')"
            " + (SELECT count(*) FROM deliveries WHERE status = 'queued')"
        ):
            time.sleep(rng.uniform(3.0, 12.0))  # a worker needs 1-3 s to start
            victim = self.workers.pop(rng.randrange(len(self.workers)))
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            kills += 1
            self.start_worker()
        self.wait_idle()
        self.stop_workers()
        with self.conn() as c:

            def one(q: str) -> int:
                row = c.execute(q, {"since": since}).fetchone()
                return int(row[0]) if row else -1

            planned = one(
                "SELECT count(*) FROM outreach_outcomes t WHERE t.service_record_id > %(since)s"
                " AND t.status = 'planned'"
            )
            wrong = one(
                "SELECT count(*) FROM outreach_outcomes t WHERE t.service_record_id > %(since)s"
                " AND t.status = 'planned' AND (SELECT count(*) FROM invitations i"
                " WHERE i.service_record_id = t.service_record_id) <> 1"
            )
            unsent = one(
                "SELECT count(*) FROM deliveries d JOIN invitations i ON i.id = d.invitation_id"
                " WHERE i.service_record_id > %(since)s AND d.status <> 'sent'"
            )
            keys = [
                str(r[0])
                for r in c.execute(
                    "SELECT d.idempotency_key FROM deliveries d"
                    " JOIN invitations i ON i.id = d.invitation_id"
                    " WHERE i.service_record_id > %(since)s",
                    {"since": since},
                )
            ]
        stats = self.sink_call("/stats")
        order = set(self.sink_call("/order"))
        lost = sum(1 for k in keys if k not in order)
        print(
            f"reliability: {rate(n)} records in flight, {kills} SIGKILLs of 2 workers:"
            f" {rate(planned)} eligible records, {wrong} without exactly one invitation,"
            f" {unsent} messages not sent, {lost} keys never reached the sink;"
            f" sink got {rate(stats['total'])} requests for {rate(stats['unique'])} keys:"
            f" {rate(stats['total'] - stats['unique'])} raw duplicates,"
            f" {rate(stats['dup_keys'])} keys received more than once"
        )

    def outage(self, maker: RecordMaker) -> None:
        n = 2000
        with self.conn() as c:
            maker.write(c, int(n / 0.63))
        asyncio.run(self.plan_all())
        self.sink_call("/reset", post=True)
        self.sink_call("/mode/down", post=True)
        sent_order = asyncio.run(self.outage_run())
        print(
            f"channel down for a simulated hour with {rate(sent_order[0])} messages queued:"
            f" {rate(sent_order[1])} delivered after it returned,"
            f" {sent_order[2]} out of oldest-first order (after the first message)"
        )

    async def outage_run(self) -> tuple[int, int, int]:
        engine = db.create_engine(db.to_async_url(self.url))
        factory = db.session_factory(engine)
        now = datetime.now(UTC)
        async with httpx.AsyncClient() as client:
            channels = enabled_channels(self.settings, client)

            async def batch(at: datetime) -> int:
                async with db.transaction(factory) as session:
                    return await deliver(
                        session,
                        self.settings,
                        vault=VAULT,
                        channels=channels,
                        now=at,
                        concurrency=1,
                    )

            for minute in range(0, 61):
                while await batch(now + timedelta(minutes=minute)):
                    pass
            async with factory() as session:
                from sqlalchemy import text

                rows = (
                    await session.execute(
                        text("SELECT idempotency_key, id FROM deliveries WHERE status = 'queued'")
                    )
                ).all()
            ids = {str(k): i for k, i in rows}
            httpx.post(self.sink + "/mode/ok")
            back = now + timedelta(minutes=75)
            while await batch(back):
                pass
        await engine.dispose()
        got = [ids[k] for k in self.sink_call("/order") if k in ids]
        disorder = sum(1 for a, b in itertools.pairwise(got[1:]) if b < a)
        return len(ids), len(set(got)), disorder

    def partitions(self, maker: RecordMaker) -> None:
        """The delivery loop's statements on ``deliveries`` partitioned by month (``--history``
        rows spread over 48 past months, the current month's queued messages planned from
        ``--records`` records) against an unpartitioned copy of the same rows, in the same run:
        the claim (``EXPLAIN ANALYZE`` and medians of ``--repeats``), and a batch's outcome
        update by ``(id, created_at)`` (partitioned) and by ``id`` (the copy)."""
        from otklik.kit.clock import moscow_date
        from otklik.ops import partitions
        from otklik.outreach import repository

        with self.conn() as c:
            maker.write(c, self.args.records)
        asyncio.run(self.plan_all())

        async def months() -> None:
            engine = db.create_engine(db.to_async_url(self.url))
            async with db.transaction(db.session_factory(engine)) as session:
                table = partitions.TABLES[0]
                assert table.name == "deliveries"
                this = moscow_date(datetime.now(UTC)).replace(day=1)
                have = await partitions.months(session, table)
                for k in range(1, 49):
                    month = partitions.add_months(this, -k)
                    if month not in have:
                        await partitions.create_month(session, table, month)
            await engine.dispose()

        asyncio.run(months())
        with self.conn() as c:
            started = time.perf_counter()
            c.execute(
                "INSERT INTO deliveries (invitation_id, kind, channel, idempotency_key, status,"
                " attempts, next_attempt_at, created_at, sent_at)"
                " SELECT g %% 100000 + 1, 'invite', 'portal', delivery_key(t.at), 'sent', 1,"
                " t.at, t.at, t.at FROM generate_series(1, %s) g,"
                " LATERAL (SELECT now() - interval '1 day' - (g %% 1440) * interval '1 day'"
                " - (g %% 86400) * interval '1 second') t(at)",
                (self.args.history,),
            )
            c.execute("CREATE TABLE deliveries_flat (LIKE deliveries INCLUDING DEFAULTS)")
            c.execute("INSERT INTO deliveries_flat SELECT * FROM deliveries")
            c.execute("ALTER TABLE deliveries_flat ADD PRIMARY KEY (id)")
            c.execute(
                "CREATE INDEX ON deliveries_flat (next_attempt_at, id) WHERE status = 'queued'"
            )
            c.execute("CREATE INDEX ON deliveries_flat (invitation_id)")
            c.execute("CREATE UNIQUE INDEX ON deliveries_flat (idempotency_key)")
            c.commit()
            c.execute("ANALYZE deliveries")
            c.execute("ANALYZE deliveries_flat")
            c.commit()
            loaded = time.perf_counter() - started
            parts = c.execute(
                "SELECT count(*) FROM pg_inherits WHERE inhparent = 'deliveries'::regclass"
            ).fetchone()
            total, queued = c.execute(
                "SELECT count(*), count(*) FILTER (WHERE status = 'queued') FROM deliveries"
            ).fetchone() or (0, 0)
        print(
            f"partitions: {rate(total)} deliveries in {parts[0] if parts else 0} partitions"
            f" ({rate(queued)} queued, this month), loaded in {loaded:.0f} s",
            flush=True,
        )
        claim = (
            str(repository.CLAIM_DELIVERIES)
            .replace(":now", "now()")
            .replace(":limit", "500")
            .replace(":since", "%s")
        )
        flat = claim.replace("FROM deliveries", "FROM deliveries_flat")
        ids_of = (
            "SELECT array_agg(id), array_agg(created_at) FROM (SELECT id, created_at"
            " FROM deliveries WHERE status = 'queued' ORDER BY next_attempt_at, id LIMIT 500) x"
        )
        update = (
            "UPDATE {t} d SET attempts = d.attempts + 1 FROM unnest(%s::bigint[],"
            " %s::timestamptz[]) u(id, at) WHERE d.id = u.id{by_time}"
        )
        cases: dict[str, tuple[str, Any]] = {
            "claim, partitioned": (claim, (repository.since(datetime.now(UTC)),)),
            "claim, unpartitioned": (flat, (repository.since(datetime.now(UTC)),)),
        }
        with self.conn() as c:
            row = c.execute(ids_of).fetchone()
            assert row is not None
            ids, ats = row
            cases["outcomes by (id, created_at), partitioned"] = (
                update.format(t="deliveries", by_time=" AND d.created_at = u.at"),
                (ids, ats),
            )
            cases["outcomes by (id, created_at) within the batch's months, partitioned"] = (
                update.format(
                    t="deliveries",
                    by_time=" AND d.created_at = u.at AND d.created_at BETWEEN %s AND %s",
                ),
                (ids, ats, min(ats), max(ats)),
            )
            cases["outcomes by id, unpartitioned"] = (
                update.format(t="deliveries_flat", by_time=""),
                (ids, ats),
            )
            cases["outcomes by id alone, partitioned (not used)"] = (
                update.format(t="deliveries", by_time=""),
                (ids, ats),
            )
            for name, (sql, params) in cases.items():
                times, loads = [], []
                for _ in range(self.args.repeats):
                    loads.append(os.getloadavg()[0])
                    started = time.perf_counter()
                    c.execute(sql, params)
                    times.append((time.perf_counter() - started) * 1000)
                    c.rollback()
                plan = [r[0] for r in c.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)]
                c.rollback()
                print(
                    f"  {name}: median {statistics.median(times):.1f} ms of {len(times)}"
                    f" (load average {min(loads):.1f}-{max(loads):.1f})"
                )
                for line in plan:
                    print("    " + line)

    def run(self) -> None:
        with self.database():
            with self.conn() as c:
                maker = RecordMaker(organizations(c))
            if self.args.profile:
                self.profile(maker)
                return
            if self.args.profile_delivery:
                self.profile_delivery(maker)
                return
            parts = self.args.parts.split(",")
            if "planning" in parts:
                self.planning(maker)
                self.claim_before_after()
                self.contacts_before_after()
            for name in (
                "delivery",
                "ceiling",
                "email",
                "latency",
                "outage",
                "reliability",
                "partitions",
            ):
                if name in parts:
                    getattr(self, name)(maker)


def plan_process(url: str) -> int:
    """One planner process of ``plan_parallel``: plans until no task is left."""
    bench = Bench.__new__(Bench)
    bench.url = url
    bench.settings = Settings(
        env="test",
        database_url=url,
        secret_key=SECRET,
        pii_key=PII_KEY,
        quiet_hours_start=0,
        quiet_hours_end=0,
    )
    return asyncio.run(bench.plan_all())


BODY = {"idempotency_key": "", "snils": "00000000000", "title": "t", "text": "x" * 300}


def sample_messages(n: int) -> list[Any]:
    """Portal messages like the workers': the same templates and wording, an organization
    and a service name of typical length, a personal link and key each (built untimed)."""
    from otklik.outreach.channels import Message
    from otklik.outreach.texts import render_personal

    served, expires = datetime.now(UTC).date(), datetime.now(UTC).date() + timedelta(days=30)
    out = []
    for i in range(n):
        link = f"https://otklik.example/s/{secrets.token_urlsafe(24)}"
        subject, text, _ = render_personal(
            "portal",
            "healthcare",
            "ГБУЗ «Городская поликлиника № 12»",
            "Приём врача-терапевта участкового",
            served,
            expires,
            reminder=False,
            parent=False,
            operator="",
            verify_url="",
            link=link,
            unsubscribe="",
        )
        out.append(Message(uuid.uuid4(), "portal", f"{i:011d}", None, None, subject, text, link))
    return out


async def plain_same_batches(
    sink: str, n: int, batch: int, callers: int = 2, cpu: list[float] | None = None
) -> float:
    """Baseline: the workers' requests without the database. The same channel code
    (``PortalBatchChannel``: requests of ``BATCH_MAX`` messages, a worker batch's requests at
    once) over the same httpx client, ``callers`` batches of ``batch`` at a time like the 2
    workers, messages of the same templates and size; messages/s."""
    from otklik.outreach.channels import PortalBatchChannel

    messages = sample_messages(n)
    chunks = iter([messages[i : i + batch] for i in range(0, n, batch)])
    async with httpx.AsyncClient(timeout=10) as client:
        channel = PortalBatchChannel(sink + "/notify", sink + "/batch", client)

        async def caller() -> None:
            for chunk in chunks:
                results = await channel.send_many(chunk)
                assert all(r.outcome == "sent" for r in results), results[:1]

        started, cpu0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(caller() for _ in range(callers)))
        if cpu is not None:  # this process's CPU while sending (not building the messages)
            cpu.append(time.process_time() - cpu0)
        return n / (time.perf_counter() - started)


async def plain_smtp(port: int, n: int) -> float:
    """Baseline: aiosmtplib, 2 sessions at once, each sending its half one message after
    another (no pipelining: aiosmtplib has none); messages of our size; messages/s."""
    import aiosmtplib

    from otklik.outreach.channels import Message
    from otklik.outreach.mail import build_email

    settings = Settings(env="test", secret_key=SECRET, pii_key=PII_KEY, smtp_from="o@example.ru")

    def raw(i: int) -> bytes:
        m = Message(
            uuid.uuid4(),
            "email",
            None,
            f"p{i}@example.ru",
            None,
            "Оцените качество услуги",
            "Текст " * 80,
            "https://otklik.example/s/x",
            html="<p>" + "Текст " * 80 + "</p>",
        )
        return build_email(m, settings, "o@example.ru")

    async def session(ids: range) -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await smtp.connect()
        for i in ids:
            await smtp.sendmail("o@example.ru", [f"p{i}@example.ru"], raw(i))
        await smtp.quit()

    started = time.perf_counter()
    await asyncio.gather(session(range(0, n // 2)), session(range(n // 2, n)))
    return n / (time.perf_counter() - started)


async def plain_client(url: str, n: int) -> float:
    """Baseline: one httpx client, 100 concurrent POSTs of the same shape; messages/s."""
    body = BODY
    gate = asyncio.Semaphore(100)
    async with httpx.AsyncClient() as client:

        async def one(i: int) -> None:
            async with gate:
                await client.post(url, json={**body, "idempotency_key": f"base-{i}"})

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - started)


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_ceiling(
    url: str, sink: str, variant: str, ranges: list[tuple[int, int]], args: argparse.Namespace
) -> list[dict[str, float]]:
    """``ceiling_process`` in as many processes as ``ranges``, started together once each has
    imported everything and connected (start-up is not timed)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(ranges) + 1)
    out = ctx.Queue()
    procs = [
        ctx.Process(
            target=ceiling_process,
            args=(url, sink, variant, lo, hi, args.delivery_batch, barrier, out),
        )
        for lo, hi in ranges
    ]
    for proc in procs:
        proc.start()
    barrier.wait(timeout=600)
    results = [out.get(timeout=1200) for _ in procs]
    for proc in procs:
        proc.join()
    return results


def ceiling_process(
    url: str, sink: str, variant: str, lo: int, hi: int, batch: int, barrier: Any, out: Any
) -> None:
    out.put(asyncio.run(_ceiling(url, sink, variant, lo, hi, batch, barrier)))


async def _ceiling(
    url: str, sink: str, variant: str, lo: int, hi: int, batch: int, barrier: Any
) -> dict[str, float]:
    from sqlalchemy import text

    from otklik.outreach.channels import Message, PortalBatchChannel
    from otklik.outreach.repository import DELIVERY_ROWS, since
    from otklik.outreach.service import Outbound, _message, _send

    read = text(
        "WITH d AS (SELECT id, invitation_id, kind, channel, idempotency_key, attempts,"  # noqa: S608 - fixed fragments
        " next_attempt_at, created_at FROM deliveries"
        " WHERE status = 'queued' AND next_attempt_at <= :now AND created_at >= :since"
        " AND (next_attempt_at, id) > (:at, :after) AND id <= :hi"
        " ORDER BY next_attempt_at, id LIMIT :limit)"
        + DELIVERY_ROWS.replace("FROM deliveries d", "FROM d")
        + " ORDER BY d.next_attempt_at, d.id"
    )
    settings = Settings(
        env="test",
        database_url=url,
        secret_key=SECRET,
        pii_key=PII_KEY,
        portal_notify_url=sink + "/notify",
        portal_batch_url=sink + "/batch",
        quiet_hours_start=0,
        quiet_hours_end=0,
        channel_rate_per_second=100_000,
        delivery_batch=batch,
    )
    # design (1) of docs/performance.md at its cheapest: the batch's ids in one row, the
    # invitations of those sent updated as ``RECORD_OUTCOMES`` does; no deliveries row written
    record_batch = text(
        """
        WITH b AS (INSERT INTO bench_delivery_batches (sent_at, ids)
                   VALUES (:now, CAST(:ids AS bigint[])))
        UPDATE invitations i SET sent_at = coalesce(i.sent_at, :now),
          status = CASE WHEN i.status IN ('queued', 'failed') THEN 'sent' ELSE i.status END,
          reminder_at = :reminder_at
        FROM invitation_keys k
        WHERE k.id = ANY(CAST(:invitations AS bigint[]))
          AND i.id = k.id AND i.created_at = k.created_at
        """
    )
    prebuilt = text(
        "SELECT id, key, snils, title, body, link FROM bench_prebuilt"
        " WHERE id > :after AND id <= :hi ORDER BY id LIMIT :limit"
    )

    def build(rows: list[Any]) -> list[Outbound]:
        return [Outbound(r, _message(r, settings, VAULT)) for r in rows]

    engine = db.create_engine(db.to_async_url(url))
    factory = db.session_factory(engine)
    n = 0
    async with httpx.AsyncClient(timeout=10) as client:
        channels = enabled_channels(settings, client)
        portal = channels["portal"]
        assert isinstance(portal, PortalBatchChannel)
        async with db.transaction(factory) as session:  # one connection, used throughout
            backend = int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)
            due_at = await session.scalar(
                text("SELECT min(next_attempt_at) FROM deliveries WHERE id = :lo"), {"lo": lo}
            )
            if variant == "prebuilt":
                due_at = None
        await asyncio.to_thread(barrier.wait, 600)
        db0, cpu0, start = proc_cpu(backend), time.process_time(), time.time()
        after = lo - 1
        while True:
            async with db.transaction(factory) as session:
                if variant == "deliver":
                    got = await deliver(session, settings, vault=VAULT, channels=channels)
                    n += got
                    if not got:
                        break
                    continue
                if variant == "prebuilt":
                    rows = list(
                        (
                            await session.execute(
                                prebuilt, {"after": after, "hi": hi, "limit": batch}
                            )
                        ).all()
                    )
                    if not rows:
                        break
                    after, n = rows[-1].id, n + len(rows)
                    messages = [
                        Message(r.key, "portal", r.snils, None, None, r.title, r.body, r.link)
                        for r in rows
                    ]
                    sent = await portal.send_many(messages)
                    assert all(r.outcome == "sent" for r in sent), sent[:1]
                    continue
                now = datetime.now(UTC)
                params = {"now": now, "since": since(now), "at": due_at, "after": after}
                rows = list(
                    (await session.execute(read, {**params, "hi": hi, "limit": batch})).all()
                )
                if not rows:
                    break
                after, n = rows[-1].id, n + len(rows)
                if variant == "read":
                    continue
                built = await asyncio.to_thread(build, rows)
                if variant in ("send", "batch"):
                    results = await _send(built, channels, None, 50)
                    assert all(r.outcome == "sent" for r in results), results[:1]
                if variant == "batch":  # success recorded per batch, not per message
                    await session.execute(
                        record_batch,
                        {
                            "ids": [r.id for r in rows],
                            "invitations": [r.invitation_id for r in rows],
                            "now": now,
                            "reminder_at": now + timedelta(days=3),
                        },
                    )
        end = time.time()
        cpu, dbc = time.process_time() - cpu0, proc_cpu(backend) - db0
    await engine.dispose()
    return {"n": n, "start": start, "end": end, "cpu": cpu, "db": dbc}


def median(values: list[float]) -> float:
    return statistics.median(values)


@contextmanager
def rss_sampler() -> Iterator[list[int]]:
    """[start, peak, end] RSS of this process in MiB, sampled every 50 ms."""
    out: list[int] = []
    samples: list[int] = []
    stop = threading.Event()

    def rss() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
        return 0

    def loop() -> None:
        while not stop.wait(0.05):
            samples.append(rss())

    thread = threading.Thread(target=loop, daemon=True)
    samples.append(rss())
    thread.start()
    try:
        yield out
    finally:
        stop.set()
        thread.join()
        samples.append(rss())
        out.extend([samples[0], max(samples), samples[-1]])


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--records", type=int, default=200_000)
    p.add_argument("--inflight", type=int, default=100_000)
    p.add_argument("--messages", type=int, default=20_000)
    p.add_argument("--emails", type=int, default=5_000)
    p.add_argument("--delivery-batch", type=int, default=1000, help="OTKLIK_DELIVERY_BATCH")
    p.add_argument("--planners", type=int, default=2, help="planner processes at once")
    p.add_argument("--single", action="store_true", help="portal: one request per message")
    p.add_argument("--latency-seconds", type=int, default=60)
    p.add_argument("--latency-rate", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--kill-seconds", type=int, default=180, help="how long workers are killed")
    p.add_argument("--profile", action="store_true", help="profile planning only")
    p.add_argument("--profile-delivery", action="store_true", help="profile delivery only")
    p.add_argument("--parts", default="planning,delivery,ceiling,email,latency,outage,reliability")
    p.add_argument("--history", type=int, default=2_500_000, help="partitions: past deliveries")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # clean up (drop the database)
    Bench(p.parse_args()).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
