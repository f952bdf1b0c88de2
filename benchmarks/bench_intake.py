"""Intake API throughput and server memory, against a raw COPY of the same rows, in one run.

A real server (``uv run otklik serve`` in a subprocess) receives NDJSON batches of
``BATCH`` valid records on ``POST /api/v1/service-records``, posted over HTTP by this
process. Three parts, in this order, on the same server and database:

1. **first pass**: ``OTKLIK_BENCH_INTAKE_RECORDS`` new records (default 1 000 000), posted
   one batch after another on one connection, while a thread samples the server's RSS
   (``VmRSS`` in ``/proc/<pid>/status``) every 50 ms: start, peak and end RSS;
2. **re-send**: the same bodies again: every record must come back as a duplicate and
   ``service_records`` must not grow; its rate and its ratio to the first pass;
3. **sustained intake**, ``REPEATS`` interleaved runs, each of: a COPY baseline
   (``COPY bench_raw FROM STDIN`` of the run's records as flat text rows into a table of text
   columns with no indexes or constraints), ``repeat_batches`` batches of new records posted
   on one connection, and as many new batches posted by two concurrent clients. Medians of
   records/s and their ratio to the COPY baseline.

Then one more batch is ingested in this process (``intake.service.ingest``, the same code the
server runs) with timers around the database calls, to show where the time goes.

Every timed HTTP figure runs from the first request to the moment the last batch is
*committed*: the clock stops only when ``intake_batches`` holds a row for every batch sent
(the server commits before it answers; the check guards against that ever changing).
Bodies are generated before the clock starts.

The database is the embedded PostgreSQL in a temporary folder under ``benchmarks/out/``,
or ``OTKLIK_BENCH_DATABASE_URL`` if set. Schema ``public`` of that database is DROPPED
and recreated at the start, so point the variable at a throwaway database only.
``OTKLIK_BENCH_INTAKE_PROFILE=1`` also prints a cProfile of the in-process batch.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import os
import pstats
import random
import secrets
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import httpx
import orjson
import psycopg

from otklik import db, migrate
from otklik.demo.seed import write_organizations_csv
from otklik.identity.audit import Actor
from otklik.intake import repository as intake_repository
from otklik.intake.formats import parse_body
from otklik.intake.service import authenticate_source, create_source, ingest
from otklik.intake.validation import validate
from otklik.kit.pii import PiiVault
from otklik.registry.reference import seed_reference
from otklik.registry.service import import_file, seed_catalogue
from otklik.registry.validators import snils_with_checksum

RECORDS = int(os.environ.get("OTKLIK_BENCH_INTAKE_RECORDS", "1000000"))
BATCH = 10_000
REPEATS = 5
REPEAT_BATCHES = max(1, min(10, RECORDS // (10 * BATCH)))  # 10 at the default N
ORGANIZATIONS = 2000
SEED = 1
RETENTION_DAYS = 45
OUT = Path(__file__).resolve().parent / "out"
ROOT = Path(__file__).resolve().parent.parent
ENDPOINT = "/api/v1/service-records"
COPY_COLUMNS = (
    "record_id",
    "organization_ogrn",
    "service_code",
    "served_at",
    "snils",
    "birth_date",
    "portal_account_confirmed",
    "email",
    "phone",
)
COPY_SQL = f"COPY bench_raw ({', '.join(COPY_COLUMNS)}) FROM STDIN"
CHUNK = 1 << 20
ACTOR = Actor.system("bench")
MSK = timezone(timedelta(hours=3))
SNILS_BASE = 2_000_000  # checksums apply from 001-001-999 on
SAMPLE_EVERY = 0.05
COMMIT_WAIT = 120.0

P = ParamSpec("P")
T = TypeVar("T")


class BenchFailure(RuntimeError):
    """The measured operation did not do what it should; the figures would be meaningless."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise BenchFailure(message)


def fmt_rate(rows_per_s: float) -> str:
    return f"{rows_per_s:,.0f}".replace(",", " ")


def fmt_mib(rss: int) -> str:
    return f"{rss / 2**20:.0f} MiB"


# --- data -----------------------------------------------------------------------------------


@dataclass
class Batch:
    """One request body (NDJSON) and the same records as flat text rows for COPY."""

    body: bytes
    rows: bytes
    count: int


class RecordMaker:
    """Valid records for adults at participating organizations, each with a new record_id."""

    def __init__(self, organizations: Sequence[tuple[str, Sequence[str]]], seed: int) -> None:
        check(bool(organizations), "no participating organization offers a service")
        self.organizations = organizations
        self.rng = random.Random(seed)
        self.serial = 0

    def batch(self, size: int = BATCH) -> Batch:
        rng = self.rng
        now = datetime.now(MSK).replace(microsecond=0)
        lines: list[bytes] = []
        rows: list[str] = []
        for _ in range(size):
            n = self.serial
            self.serial += 1
            ogrn, services = self.organizations[rng.randrange(len(self.organizations))]
            service = services[rng.randrange(len(services))]
            served_at = (now - timedelta(seconds=rng.randint(600, 47 * 3600))).isoformat()
            digits = snils_with_checksum(f"{SNILS_BASE + n:09d}")
            snils = f"{digits[:3]}-{digits[3:6]}-{digits[6:9]} {digits[9:]}"
            birth = (date(1940, 1, 1) + timedelta(days=rng.randrange(60 * 365))).isoformat()
            portal = rng.random() < 0.6
            email = f"person{n}@example.ru"
            phone = f"+79{n:09d}"
            record_id = f"BENCH-{n:09d}"
            lines.append(
                orjson.dumps(
                    {
                        "record_id": record_id,
                        "organization_ogrn": ogrn,
                        "service_code": service,
                        "served_at": served_at,
                        "recipient": {
                            "snils": snils,
                            "birth_date": birth,
                            "portal_account_confirmed": portal,
                            "email": email,
                            "phone": phone,
                        },
                    }
                )
            )
            flag = "t" if portal else "f"
            rows.append(
                f"{record_id}\t{ogrn}\t{service}\t{served_at}\t{snils}\t{birth}\t{flag}\t"
                f"{email}\t{phone}\n"
            )
        return Batch(b"\n".join(lines) + b"\n", "".join(rows).encode(), size)

    def batches(self, records: int) -> list[Batch]:
        return [self.batch(min(BATCH, records - done)) for done in range(0, records, BATCH)]


def prepare_database(url: str) -> None:
    """Empty schema public, migrate to head and add the unindexed baseline table."""
    with psycopg.connect(db.to_libpq_url(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    migrate.upgrade(db.to_async_url(url))
    with psycopg.connect(db.to_libpq_url(url), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE bench_raw ({', '.join(f'{c} text' for c in COPY_COLUMNS)})")


async def seed(url: str, tmp: Path) -> str:
    """Reference data, catalogue, organizations and a source, in one transaction; its key."""
    csv_path = tmp / "organizations.csv"
    write_organizations_csv(csv_path, ORGANIZATIONS, seed=SEED)
    engine = db.create_engine(db.to_async_url(url))
    try:
        async with db.transaction(db.session_factory(engine)) as session:
            await seed_reference(session)
            await seed_catalogue(session)
            report = await import_file(session, "organizations", csv_path, max_bytes=100 * 2**20)
            check(
                not report.errors and report.inserted == ORGANIZATIONS,
                f"organization import: {report.summary()}, first errors {report.errors[:3]}",
            )
            _, key = await create_source(session, ACTOR, "bench")
    finally:
        await engine.dispose()
    return key


def participating(conn: psycopg.Connection[tuple[Any, ...]]) -> list[tuple[str, list[str]]]:
    """OGRNs taking part (for every date in the last 3 days) and the services of their type."""
    services: dict[str, list[str]] = {}
    for service_code, type_code in conn.execute(
        "SELECT service_code, type_code FROM service_organization_types ORDER BY 1, 2"
    ):
        services.setdefault(type_code, []).append(service_code)
    orgs = conn.execute(
        "SELECT ogrn, type_code FROM organizations"
        " WHERE participates_from <= current_date - 3"
        " AND (participates_to IS NULL OR participates_to >= current_date) ORDER BY ogrn"
    ).fetchall()
    return [(ogrn, services[t]) for ogrn, t in orgs if services.get(t)]


# --- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def random_secret() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(40))


def descendants(pid: int) -> list[int]:
    """Process ids below ``pid``, parents before children (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        children = sorted(p for p, parent in parents.items() if parent in frontier)
        found.extend(children)
        frontier = children
    return found


def rss_of(pid: int) -> int:
    """Resident set size in bytes, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise BenchFailure(f"no VmRSS for process {pid}")


class Server:
    """``uv run otklik serve`` in its own process group, killed by ``stop``."""

    def __init__(self, url: str, log_path: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        uv = os.environ.get("UV") or shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
        env = {
            **os.environ,
            "OTKLIK_ENV": "test",
            "OTKLIK_DATABASE_URL": url,
            "OTKLIK_INTAKE_REQUESTS_PER_MINUTE": "100000",
            "OTKLIK_SECRET_KEY": random_secret(),
            "OTKLIK_PII_KEY": random_secret(),
        }
        self.pii_key = env["OTKLIK_PII_KEY"]
        with log_path.open("wb") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - our own command line
                [uv, "run", "otklik", "serve", "--port", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid = self.proc.pid

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Wait for ``GET /healthz`` to answer 200, then find the Python process serving it."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise BenchFailure(
                    f"the server exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                if httpx.get(self.base_url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise BenchFailure(f"the server did not answer /healthz:\n{self.log_tail()}")
            time.sleep(0.2)
        below = descendants(self.proc.pid)
        # `uv run` stays as the parent of the interpreter; the server is the last descendant.
        self.pid = below[-1] if below else self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)


class RssSampler:
    """Samples the RSS of a process in a thread; ``samples`` are (seconds, bytes)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = 0.0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter() - self._started, rss_of(self.pid)))
            self._stop.wait(SAMPLE_EVERY)

    def __enter__(self) -> RssSampler:
        self._started = time.perf_counter()
        self.samples.append((0.0, rss_of(self.pid)))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.perf_counter() - self._started, rss_of(self.pid)))

    @property
    def start(self) -> int:
        return self.samples[0][1]

    @property
    def peak(self) -> int:
        return max(rss for _, rss in self.samples)

    @property
    def end(self) -> int:
        return self.samples[-1][1]

    def timeline(self, parts: int = 10) -> str:
        """RSS at the end of each tenth of the sampled time, to see whether it is flat."""
        total = self.samples[-1][0]
        points = []
        for k in range(1, parts + 1):
            at = total * k / parts
            points.append(next(rss for t, rss in self.samples if t >= at - 1e-9))
        return " ".join(f"{rss / 2**20:.0f}" for rss in points)


# --- posting --------------------------------------------------------------------------------


@dataclass
class Counts:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0


def post_batches(base_url: str, key: str, batches: Sequence[Batch], *, duplicates: bool) -> Counts:
    """POST every batch in order on one connection; check each answer."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
    totals = Counts()
    with httpx.Client(base_url=base_url, headers=headers, timeout=600) as client:
        for batch in batches:
            resp = client.post(ENDPOINT, content=batch.body)
            check(resp.status_code == 200, f"HTTP {resp.status_code}: {resp.text[:500]}")
            data = resp.json()
            expected = (
                (0, batch.count, 0) if duplicates else (batch.count, 0, 0)
            )  # accepted, duplicates, rejected
            got = (data["accepted"], data["duplicates"], data["rejected"])
            check(
                got == expected,
                f"answer {got} (accepted, duplicates, rejected), expected {expected}; "
                f"first errors: {data['errors'][:3]}",
            )
            totals.accepted += got[0]
            totals.duplicates += got[1]
            totals.rejected += got[2]
    return totals


def post_concurrently(
    base_url: str, key: str, batches: Sequence[Batch], clients: int, *, duplicates: bool
) -> Counts:
    """Split the batches between ``clients`` threads, each with its own connection."""
    shares = [batches[i::clients] for i in range(clients)]
    with ThreadPoolExecutor(clients) as pool:
        futures = [
            pool.submit(post_batches, base_url, key, share, duplicates=duplicates)
            for share in shares
        ]
        results = [f.result() for f in futures]
    return Counts(
        sum(r.accepted for r in results),
        sum(r.duplicates for r in results),
        sum(r.rejected for r in results),
    )


class Ledger:
    """Counts ``intake_batches`` rows, to know when every batch sent has been committed."""

    def __init__(self, conn: psycopg.Connection[tuple[Any, ...]]) -> None:
        self.conn = conn
        self.expected = self.committed()

    def committed(self) -> int:
        row = self.conn.execute("SELECT count(*) FROM intake_batches").fetchone()
        assert row is not None
        return int(row[0])

    def wait(self, sent: int) -> None:
        """Block until ``sent`` more batches than before are committed."""
        self.expected += sent
        deadline = time.monotonic() + COMMIT_WAIT
        while (n := self.committed()) < self.expected:
            check(
                time.monotonic() < deadline,
                f"only {n} of {self.expected} intake batches committed after {COMMIT_WAIT} s",
            )
            time.sleep(0.005)
        check(n == self.expected, f"{n} intake batches committed, expected {self.expected}")


def count_records(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    row = conn.execute("SELECT count(*) FROM service_records").fetchone()
    assert row is not None
    return int(row[0])


def timed(ledger: Ledger, batches: Sequence[Batch], post: Callable[[], Counts]) -> float:
    """Seconds from the first request until every batch is committed."""
    started = time.perf_counter()
    post()
    ledger.wait(len(batches))
    return time.perf_counter() - started


def copy_baseline(conn: psycopg.Connection[tuple[Any, ...]], batches: Sequence[Batch]) -> float:
    """Truncate ``bench_raw``, then time COPY of the batches' flat rows, in 1 MiB chunks."""
    conn.execute("TRUNCATE bench_raw")
    data = b"".join(b.rows for b in batches)
    records = sum(b.count for b in batches)
    started = time.perf_counter()
    with conn.cursor() as cur, cur.copy(COPY_SQL) as copy:
        for i in range(0, len(data), CHUNK):
            copy.write(data[i : i + CHUNK])
    elapsed = time.perf_counter() - started  # autocommit: the COPY has committed here
    row = conn.execute("SELECT count(*) FROM bench_raw").fetchone()
    check(row is not None and row[0] == records, f"COPY loaded {row} rows, expected {records}")
    return elapsed


# --- the parts ------------------------------------------------------------------------------


@dataclass
class PassResult:
    records: int
    seconds: float
    rss: RssSampler
    rows_before: int
    rows_after: int

    @property
    def rate(self) -> float:
        return self.records / self.seconds


@dataclass
class Sustained:
    records: int
    seconds: dict[str, list[float]] = field(
        default_factory=lambda: {"copy": [], "one": [], "two": []}
    )

    def rate(self, key: str) -> float:
        return self.records / statistics.median(self.seconds[key])


def full_pass(
    server: Server,
    key: str,
    conn: psycopg.Connection[tuple[Any, ...]],
    ledger: Ledger,
    batches: Sequence[Batch],
    *,
    duplicates: bool,
) -> PassResult:
    records = sum(b.count for b in batches)
    label = "re-send" if duplicates else "first pass"
    before = count_records(conn)
    with RssSampler(server.pid) as rss:
        started = time.perf_counter()
        counts = post_batches(server.base_url, key, batches, duplicates=duplicates)
        ledger.wait(len(batches))
        seconds = time.perf_counter() - started
    after = count_records(conn)
    if duplicates:
        check(
            counts.duplicates == records and counts.accepted == 0,
            f"{label}: {counts}, expected {records} duplicates",
        )
        check(after == before, f"{label}: service_records went from {before} to {after}")
    else:
        check(counts.accepted == records, f"{label}: {counts}, expected {records} accepted")
        check(
            after == before + records,
            f"{label}: service_records went from {before} to {after}, expected +{records}",
        )
    result = PassResult(records, seconds, rss, before, after)
    print(
        f"  {label}: {fmt_rate(records)} records in {seconds:.1f} s = "
        f"{fmt_rate(result.rate)} records/s; server RSS start {fmt_mib(rss.start)}, "
        f"peak {fmt_mib(rss.peak)}, end {fmt_mib(rss.end)}; "
        f"service_records {before} -> {after}",
        flush=True,
    )
    return result


def sustained(
    server: Server,
    key: str,
    conn: psycopg.Connection[tuple[Any, ...]],
    ledger: Ledger,
    maker: RecordMaker,
) -> Sustained:
    """Interleave COPY, one client and two clients ``REPEATS`` times, on new records."""
    result = Sustained(REPEAT_BATCHES * BATCH)
    for i in range(1, REPEATS + 1):
        one = maker.batches(result.records)
        two = maker.batches(result.records)
        result.seconds["copy"].append(copy_baseline(conn, one))
        post_one = partial(post_batches, server.base_url, key, one, duplicates=False)
        result.seconds["one"].append(timed(ledger, one, post_one))
        post_two = partial(post_concurrently, server.base_url, key, two, 2, duplicates=False)
        result.seconds["two"].append(timed(ledger, two, post_two))
        print(
            f"  run {i}/{REPEATS}: COPY {result.seconds['copy'][-1]:.2f} s, "
            f"1 client {result.seconds['one'][-1]:.2f} s, "
            f"2 clients {result.seconds['two'][-1]:.2f} s",
            flush=True,
        )
    return result


# --- where the time goes (in this process) --------------------------------------------------


def timing_wrapper(
    totals: dict[str, float], name: str, fn: Callable[P, Awaitable[T]]
) -> Callable[P, Awaitable[T]]:
    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> T:
        started = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            totals[name] = totals.get(name, 0.0) + time.perf_counter() - started

    return wrapped


DB_CALLS = (
    "stage_records",
    "check_staged",
    "insert_staged",
    "clear_stage",
    "add_batch",
    "add_rejections",
    "source_for_key",
)


async def split_batch(
    url: str, key: str, pii_key: str, batch: Batch, profile: bool
) -> dict[str, float]:
    """Parse, validate and ingest one batch as the handler does, timing its phases."""
    totals: dict[str, float] = {}
    originals = {name: getattr(intake_repository, name) for name in DB_CALLS}
    for name, fn in originals.items():
        setattr(intake_repository, name, timing_wrapper(totals, name, fn))
    engine = db.create_engine(db.to_async_url(url))
    factory = db.session_factory(engine)
    vault = PiiVault(pii_key)
    try:
        started = time.perf_counter()
        items = parse_body(batch.body, "application/x-ndjson", BATCH)
        totals["parse"] = time.perf_counter() - started
        now = datetime.now(UTC)
        started = time.perf_counter()
        for item in items:
            validate(item, now=now, retention=timedelta(days=RETENTION_DAYS), vault=vault)
        totals["validate (alone)"] = time.perf_counter() - started
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        async with db.transaction(factory) as session:
            source = await authenticate_source(session, key)
            check(source is not None, "the bench source key was refused in process")
            assert source is not None
            if profiler:
                profiler.enable()
            result = await ingest(
                session,
                source.id,
                items,
                vault=vault,
                retention_days=RETENTION_DAYS,
                channel="api",
            )
            if profiler:
                profiler.disable()
            commit_started = time.perf_counter()
        totals["commit"] = time.perf_counter() - commit_started
        totals["request total"] = time.perf_counter() - started
        check(result.accepted == batch.count, f"in-process batch: {result.as_dict()['errors'][:3]}")
    finally:
        for name, fn in originals.items():
            setattr(intake_repository, name, fn)
        await engine.dispose()
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        print(out.getvalue())
    return totals


def report_split(totals: dict[str, float], records: int) -> None:
    database = sum(totals.get(name, 0.0) for name in DB_CALLS) + totals["commit"]
    python = totals["request total"] - database
    print()
    print(f"where the time goes, one {fmt_rate(records)}-record batch in this process:")
    print(f"  parse NDJSON (orjson)            {totals['parse']:.3f} s")
    print(f"  validate every record (alone)    {totals['validate (alone)']:.3f} s")
    print(f"  authenticate + ingest + commit   {totals['request total']:.3f} s, of which:")
    for name in (*DB_CALLS, "commit"):
        if name in totals:
            print(f"    {name:<30} {totals[name]:.3f} s")
    print(f"    {'the rest (Python)':<30} {python:.3f} s")
    print(
        f"  share: database calls {database / totals['request total']:.0%}, "
        f"Python outside them {python / totals['request total']:.0%} "
        "(stage_records includes formatting the COPY rows in Python)"
    )


# --- report ---------------------------------------------------------------------------------


def report(first: PassResult, resend: PassResult, runs: Sustained, final_rss: int) -> None:
    copy_rate = runs.rate("copy")
    print()
    print(
        f"sustained intake: {REPEAT_BATCHES} batches of {fmt_rate(BATCH)} records per run, "
        f"median of {REPEATS} interleaved runs"
    )
    print(f"{'figure':<36} {'records/s':>10} {'÷ COPY':>7}   runs (s)")
    for title, key in (
        ("COPY baseline (bench_raw)", "copy"),
        ("HTTP intake, 1 client", "one"),
        ("HTTP intake, 2 concurrent clients", "two"),
    ):
        r = runs.rate(key)
        seconds = " ".join(f"{s:.2f}" for s in runs.seconds[key])
        print(f"{title:<36} {fmt_rate(r):>10} {r / copy_rate:>7.3f}   {seconds}")
    print()
    print(
        f"first pass, {fmt_rate(first.records)} records, 1 client: "
        f"{fmt_rate(first.rate)} records/s in {first.seconds:.1f} s"
    )
    print(
        f"  server RSS: start {fmt_mib(first.rss.start)}, peak {fmt_mib(first.rss.peak)}, "
        f"end {fmt_mib(first.rss.end)} ({len(first.rss.samples)} samples)"
    )
    print(f"  server RSS at each tenth of the pass (MiB): {first.rss.timeline()}")
    print(
        f"re-send of the same {fmt_rate(resend.records)} records: all duplicates, "
        f"service_records {resend.rows_before} -> {resend.rows_after}; "
        f"{fmt_rate(resend.rate)} records/s in {resend.seconds:.1f} s, "
        f"ratio to the first pass {resend.rate / first.rate:.2f}"
    )
    print(
        f"  server RSS: start {fmt_mib(resend.rss.start)}, peak {fmt_mib(resend.rss.peak)}, "
        f"end {fmt_mib(resend.rss.end)}"
    )
    print(f"server RSS after the sustained runs: {fmt_mib(final_rss)}")
    one = runs.rate("one")
    print()
    print(
        f"HTTP intake: {fmt_rate(one)} records/s (median of {REPEATS}, 1 client; goal 30 000), "
        f"COPY baseline: {fmt_rate(copy_rate)} records/s, ratio {one / copy_rate:.3f} "
        "(goal 0.25)"
    )
    print(
        f"server memory over {fmt_rate(first.records)} records: peak "
        f"{fmt_mib(first.rss.peak)} (goal: flat, under 300 MB)"
    )


def run(url: str, tmp: Path) -> None:
    check(RECORDS >= 1, f"OTKLIK_BENCH_INTAKE_RECORDS must be positive, got {RECORDS}")
    prepare_database(url)
    key = asyncio.run(seed(url, tmp))
    with psycopg.connect(db.to_libpq_url(url), autocommit=True) as conn:
        orgs = participating(conn)
        print(f"data: {len(orgs)} participating organizations with services", flush=True)
        maker = RecordMaker(orgs, SEED)
        started = time.perf_counter()
        first_batches = maker.batches(RECORDS)
        size_mib = sum(len(b.body) for b in first_batches) / 2**20
        print(
            f"data: {fmt_rate(RECORDS)} records in {len(first_batches)} NDJSON bodies, "
            f"{size_mib:.0f} MiB, generated in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        server = Server(url, tmp / "server.log")
        try:
            server.wait_ready()
            print(f"server: pid {server.pid}, {server.base_url}", flush=True)
            ledger = Ledger(conn)
            first = full_pass(server, key, conn, ledger, first_batches, duplicates=False)
            resend = full_pass(server, key, conn, ledger, first_batches, duplicates=True)
            del first_batches
            runs = sustained(server, key, conn, ledger, maker)
            final_rss = rss_of(server.pid)
        except BenchFailure:
            print(f"server log:\n{server.log_tail()}", file=sys.stderr)
            raise
        finally:
            server.stop()
    profile = os.environ.get("OTKLIK_BENCH_INTAKE_PROFILE") == "1"
    split = asyncio.run(split_batch(url, key, server.pii_key, maker.batch(), profile))
    report(first, resend, runs, final_rss)
    report_split(split, BATCH)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="intake-", dir=OUT))
    try:
        url = os.environ.get("OTKLIK_BENCH_DATABASE_URL")
        if url:
            print("database: OTKLIK_BENCH_DATABASE_URL", flush=True)
        else:
            print(f"database: embedded PostgreSQL in {tmp / 'pgdata'}", flush=True)
            url = db.start_embedded(tmp / "pgdata", database="bench")
        run(url, tmp)
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
