"""Respondent form throughput over real HTTP, against a bare endpoint of the same server.

A real server (``otklik serve --workers N`` in a subprocess, N = the cores unless
``OTKLIK_BENCH_SURVEYS_WORKERS``; ``OTKLIK_ENV=production``) on a throwaway database
(``OTKLIK_BENCH_DATABASE_URL``, else ``OTKLIK_TEST_DATABASE_URL``, else an embedded
PostgreSQL; schema ``public`` is DROPPED and recreated). Distinct links are prepared in bulk
(service records, invitations and their deliveries, inserted set-based with known tokens).
``CLIENTS`` concurrent keep-alive connections (a small HTTP/1.1 client on asyncio streams, so
the load generator costs little) each take a link, GET the form and POST a complete answer.
Per run: submissions/s, p50/p99 of a submission (GET + POST) and of single requests, then the
same connections hammer ``GET /healthz`` for the same number of requests: the ratio of the two
request rates. Each phase also records the server's CPU seconds (all its processes), the
database backends' serving it (from ``/proc``: the split web / database / client of a
submission's CPU) and the client's own: CPU per submission and per bare request is the figure
that survives a busy machine. A thread folds the indicator queue every second as the worker's
job ``indicators.fold_queue`` would, on its own connection: its backend's CPU is in the
database's share. Medians of ``RUNS`` runs. Also the form page's size (HTML, CSS
and script).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psutil
import psycopg

from otklik import db, migrate
from otklik.demo.seed import write_organizations_csv
from otklik.outreach.links import link_token, token_hash
from otklik.registry.reference import seed_reference
from otklik.registry.service import import_file, seed_catalogue

CLIENTS = 64
RUNS = 3
WORKERS = int(os.environ.get("OTKLIK_BENCH_SURVEYS_WORKERS") or len(os.sched_getaffinity(0)))
PER_RUN = int(os.environ.get("OTKLIK_BENCH_SURVEYS_SUBMISSIONS", "3000"))
WARMUP = 200
ORGANIZATIONS = 200
OUT = Path(__file__).resolve().parent / "out"
ROOT = Path(__file__).resolve().parent.parent
SECRET = secrets.token_urlsafe(48)
PII_KEY = secrets.token_urlsafe(48)
PACED_RATE = float(os.environ.get("OTKLIK_BENCH_SURVEYS_RATE", "500"))  # submissions/s
PACED_SECONDS = float(os.environ.get("OTKLIK_BENCH_SURVEYS_PACED_SECONDS", "6"))
PACED_CONNECTIONS = 256
ANSWERS = urlencode(
    {
        "overall": "5",
        "organization": "4",
        "comfort": "4",
        "staff": "5",
        "information": "3",
        "disability": "no",
        "recommend": "yes",
        "comment": "Всё понравилось, спасибо",
        "action": "submit",
    }
).encode()


class BenchFailure(RuntimeError):
    pass


# --- data -------------------------------------------------------------------------------------


async def seed(url: str, tmp: Path) -> None:
    engine = db.create_engine(db.to_async_url(url))
    csv_path = tmp / "organizations.csv"
    write_organizations_csv(csv_path, ORGANIZATIONS)
    async with db.transaction(db.session_factory(engine)) as session:
        await seed_reference(session)
        await seed_catalogue(session)
        await import_file(session, "organizations", csv_path, max_bytes=2**26)
    await engine.dispose()


def prepare_links(url: str, n: int) -> list[str]:
    """``n`` delivered invitations, one per service record; returns their link paths."""
    ids = [uuid.uuid4() for _ in range(n)]
    tokens = [link_token(SECRET, i) for i in ids]
    now = datetime.now(UTC)
    with psycopg.connect(db.to_libpq_url(url)) as conn:
        conn.execute(
            "INSERT INTO sources (name, key_hash, key_prefix, is_active) "
            "VALUES ('b', 'x', 'x', true)"
        )
        rows = conn.execute(
            """
            SELECT o.id, st.service_code FROM organizations o
            JOIN service_organization_types st ON st.type_code = o.type_code
            """
        ).fetchall()
        # the key rows first (intake writes them in the same statement as the records; the
        # queue's trigger names them); received_at is now() of this transaction in both
        conn.execute(
            "INSERT INTO service_record_keys (id, source_id, record_id, received_at)"
            " SELECT k, 1, 'B' || (k - 1), now() FROM generate_series(1, %s) k",
            (n,),
        )
        with conn.cursor().copy(
            "COPY service_records (id, source_id, record_id, content_hash, organization_id,"
            " service_code, served_at, person_key, age_band, is_minor, channel) FROM STDIN"
        ) as copy:
            for k in range(n):
                org, service = rows[k % len(rows)]
                served = now - timedelta(hours=2)
                copy.write_row(
                    (
                        k + 1,
                        1,
                        f"B{k}",
                        b"h",
                        org,
                        service,
                        served,
                        secrets.token_bytes(32),
                        "30-44",
                        False,
                        "api",
                    )
                )
        with conn.cursor().copy(
            "COPY invitations (id, public_id, service_record_id, person_key, organization_id,"
            " token_hash, status, expires_at, sent_at, questionnaire_version) FROM STDIN"
        ) as copy:
            for k in range(n):
                org = rows[k % len(rows)][0]
                copy.write_row(
                    (
                        k + 1,
                        ids[k],
                        k + 1,
                        b"p" * 32,
                        org,
                        token_hash(tokens[k]),
                        "sent",
                        now + timedelta(days=30),
                        now,
                        "2025.1",
                    )
                )
        # the key rows (intake and the planner write them in the same statement as the rows)
        conn.execute(
            "INSERT INTO invitation_keys (id, token_hash, public_id, service_record_id, created_at)"
            " SELECT id, token_hash, public_id, service_record_id, created_at FROM invitations"
        )
        conn.execute(
            "INSERT INTO deliveries (invitation_id, kind, channel, status, next_attempt_at)"
            " SELECT id, 'invite', 'log', 'sent', now()"
            " FROM invitations"
        )
        conn.execute("ANALYZE")
    return [f"/s/{t}" for t in tokens]


# --- the server and a small HTTP/1.1 client -----------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "OTKLIK_ENV": "production",  # as deployed: masking models loaded at start
        "OTKLIK_SECURE_COOKIES": "false",
        "OTKLIK_DATABASE_URL": db.to_async_url(url),
        "OTKLIK_SECRET_KEY": SECRET,
        "OTKLIK_PII_KEY": PII_KEY,
        "OTKLIK_SURVEY_IP_PER_MINUTE": "100000000",
    }
    otklik = str(Path(sys.executable).with_name("otklik"))
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own command line
            [otklik, "serve", "--port", str(port), "--workers", str(WORKERS)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:  # every worker answers (each has loaded its masking models) before the runs
            asyncio.run(load(port, [], healthz=WORKERS * 20))
            return proc
        except (OSError, asyncio.IncompleteReadError, IndexError, BenchFailure):
            if proc.poll() is not None:
                raise BenchFailure(log.read_text(errors="replace")) from None
            time.sleep(0.5)
    raise BenchFailure("the server did not start")


def server_cpu(proc: subprocess.Popen[bytes]) -> float:
    """CPU seconds (user + system) of the server: the supervisor and its worker processes."""
    root = psutil.Process(proc.pid)
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


class Conn:
    def __init__(self, port: int) -> None:
        self.port = port

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\n"
        if method == "POST":
            head += "Content-Type: application/x-www-form-urlencoded\r\n"
            head += f"Content-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return int(status_line.split()[1]), await self.reader.readexactly(length)


async def load(port: int, links: list[str], healthz: int = 0) -> dict[str, float]:
    """Submissions over ``CLIENTS`` connections (or ``healthz`` bare requests when > 0)."""
    queue = iter(links)
    submit_ms: list[float] = []
    request_ms: list[float] = []
    remaining = [healthz]

    async def client() -> None:
        conn = Conn(port)
        await conn.open()
        while True:
            if healthz:
                if remaining[0] <= 0:
                    break
                remaining[0] -= 1
                t0 = time.perf_counter()
                status, _ = await conn.request("GET", "/healthz")
                if status != 200:
                    raise BenchFailure(f"/healthz: {status}")
                request_ms.append((time.perf_counter() - t0) * 1000)
                continue
            path = next(queue, None)
            if path is None:
                break
            t0 = time.perf_counter()
            status, _ = await conn.request("GET", path)
            t1 = time.perf_counter()
            status2, done = await conn.request("POST", path, ANSWERS)
            t2 = time.perf_counter()
            if status != 200 or status2 != 200 or "Спасибо".encode() not in done:
                raise BenchFailure(f"{path}: {status} / {status2}: {done[:300]!r}")
            request_ms.extend([(t1 - t0) * 1000, (t2 - t1) * 1000])
            submit_ms.append((t2 - t0) * 1000)
        conn.writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    elapsed = time.perf_counter() - started

    def pct(values: list[float], q: float) -> float:
        return sorted(values)[min(len(values) - 1, int(q * len(values)))] if values else 0.0

    return {
        "submissions_per_s": len(submit_ms) / elapsed,
        "requests_per_s": len(request_ms) / elapsed,
        "submit_p50": pct(submit_ms, 0.5),
        "submit_p99": pct(submit_ms, 0.99),
        "request_p50": pct(request_ms, 0.5),
        "request_p99": pct(request_ms, 0.99),
    }


async def paced(port: int, links: list[str], rate: float) -> dict[str, float]:
    """Open loop: a submission (GET + POST) starts every 1/``rate`` s whatever the server does,
    each on a free keep-alive connection (a new one when all are busy, up to
    ``PACED_CONNECTIONS``). Latency counts from the scheduled start, so waiting for a
    connection or behind a slow server is included (no coordinated omission)."""
    idle: list[Conn] = []
    submit_ms: list[float] = []
    opened = asyncio.Semaphore(PACED_CONNECTIONS)

    async def one(path: str, due: float) -> None:
        async with opened:
            conn = idle.pop() if idle else None
            if conn is None:
                conn = Conn(port)
                await conn.open()
            status, _ = await conn.request("GET", path)
            status2, done = await conn.request("POST", path, ANSWERS)
            if status != 200 or status2 != 200 or "Спасибо".encode() not in done:
                raise BenchFailure(f"{path}: {status} / {status2}: {done[:300]!r}")
            submit_ms.append((time.perf_counter() - due) * 1000)
            idle.append(conn)

    started = time.perf_counter()
    tasks = []
    for k, path in enumerate(links):
        due = started + k / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(path, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    for conn in idle:
        conn.writer.close()
    ordered = sorted(submit_ms)
    return {
        "offered": rate,
        "achieved": len(links) / elapsed,
        "p50": ordered[len(ordered) // 2],
        "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
    }


async def page_size(port: int, path: str) -> tuple[int, int]:
    conn = Conn(port)
    await conn.open()
    _, html = await conn.request("GET", path)
    assets = 0
    for asset in ("/static/style.css", "/static/surveys/survey.css", "/static/surveys/autosave.js"):
        _, body = await conn.request("GET", asset)
        assets += len(body)
    conn.writer.close()
    return len(html), assets


class Folder(threading.Thread):
    """What the worker's job ``indicators.fold_queue`` does, on a connection of its own to the
    benchmark's database (so its backend's CPU counts in the database's share of a
    submission): fold the indicator queue every second, again at once while it finds work."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.folds = 0

    def fold(self, conn: psycopg.Connection[Any]) -> int:
        from otklik.indicators.rollup import FOLD, FOLD_LIMIT, FOLD_LOCK

        with conn.transaction():
            row = conn.execute(FOLD_LOCK).fetchone()
            if not (row and row[0]):
                return 0
            cur = conn.execute(FOLD.replace(":limit", "%(limit)s"), {"limit": FOLD_LIMIT})
            self.folds += 1
            return cur.rowcount

    def run(self) -> None:
        with psycopg.connect(db.to_libpq_url(self.url), autocommit=True) as conn:
            while not self.stop.is_set():
                while self.fold(conn):
                    pass
                self.stop.wait(1.0)
            while self.fold(conn):  # what is left after the load
                pass


def run(url: str, tmp: Path) -> None:
    with psycopg.connect(db.to_libpq_url(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
    migrate.upgrade(db.to_async_url(url))
    asyncio.run(seed(url, tmp))
    per_paced = int(PACED_RATE * PACED_SECONDS)
    links = prepare_links(url, WARMUP + RUNS * (PER_RUN + per_paced) + 1)
    port = free_port()
    proc = start_server(url, port, tmp / "server.log")
    folder = Folder(url)
    folder.start()
    try:
        html, assets = asyncio.run(page_size(port, links[-1]))
        asyncio.run(load(port, links[:WARMUP]))
        results, paced_runs = [], []
        at = WARMUP
        for r in range(RUNS):
            chunk, at = links[at : at + PER_RUN], at + PER_RUN
            form = measured(proc, load(port, chunk), url)
            bare = measured(proc, load(port, [], healthz=2 * PER_RUN), url)
            chunk, at = links[at : at + per_paced], at + per_paced
            steady = asyncio.run(paced(port, chunk, PACED_RATE))
            results.append((form, bare))
            paced_runs.append(steady)
            print(
                f"run {r + 1}: {form['submissions_per_s']:.0f} submissions/s "
                f"({form['requests_per_s']:.0f} requests/s), submission p50 "
                f"{form['submit_p50']:.0f} ms p99 {form['submit_p99']:.0f} ms, server CPU "
                f"{1000 * form['server_cpu'] / PER_RUN:.2f} ms/submission; /healthz "
                f"{bare['requests_per_s']:.0f} requests/s p99 {bare['request_p99']:.0f} ms, "
                f"server CPU {1000 * bare['server_cpu'] / (2 * PER_RUN):.3f} ms/request; "
                f"database CPU {1000 * form['database_cpu'] / PER_RUN:.2f} ms/submission; "
                f"paced {steady['offered']:.0f}/s (achieved {steady['achieved']:.0f}/s): "
                f"p50 {steady['p50']:.0f} ms p99 {steady['p99']:.0f} ms; "
                f"load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
        folder.stop.set()
        folder.join()
    report(results, paced_runs, html, assets)
    check_indicators(url, folder.folds)
    submitted = WARMUP + RUNS * (PER_RUN + per_paced)  # the last link is only opened
    asyncio.run(drain_masking(url, submitted))


def check_indicators(url: str, folds: int) -> None:
    """Every stored questionnaire is in the indicators' summary once the queue is folded."""
    with psycopg.connect(db.to_libpq_url(url)) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM responses), (SELECT count(*) FROM indicator_queue), "
            "(SELECT coalesce(sum(resp), 0) FROM indicator_summary WHERE grain = 'y')"
        ).fetchone()
    assert row is not None
    responses, queued, counted = row
    print(
        f"  indicators: {folds} folds during the runs (the worker's job, every second); "
        f"{responses} responses, {counted} in the yearly summary, {queued} left queued"
    )
    if queued or counted != responses:
        raise BenchFailure("the indicators do not count every response once")


async def drain_masking(url: str, submitted: int) -> None:
    """The masking worker's job (in this process) until no sealed comment is left; every
    submission's comment must come out masked and no sealed text may remain."""
    from otklik.config import Settings
    from otklik.surveys.masking import warm_up
    from otklik.surveys.tasks import mask_comments

    warm_up()
    settings = Settings(env="production", secret_key=SECRET, pii_key=PII_KEY)
    engine = db.create_engine(db.to_async_url(url))
    factory = db.session_factory(engine)
    done, cpu0, t0 = 0, time.process_time(), time.perf_counter()
    while True:
        async with db.transaction(factory) as session:
            n = await mask_comments(session, settings)
        if n == 0:
            break
        done += n
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    with psycopg.connect(db.to_libpq_url(url)) as conn:
        left = conn.execute("SELECT count(*) FROM sealed_comments").fetchone()
        stored = conn.execute("SELECT count(*) FROM response_comments").fetchone()
        responses = conn.execute("SELECT count(*) FROM responses").fetchone()
    await engine.dispose()
    print(
        f"  masking worker (one process, after the load): {done} comments in {wall:.1f} s = "
        f"{done / wall:.0f} comments/s, {1000 * cpu / max(done, 1):.2f} ms CPU per comment; "
        f"sealed left {left[0] if left else '?'}, masked comments {stored[0] if stored else '?'} "
        f"for {responses[0] if responses else '?'} responses (submitted {submitted})"
    )
    if not (left and stored and responses) or left[0] or stored[0] != responses[0]:
        raise BenchFailure("masking left sealed comments or lost some")


def database_cpu(url: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to the benchmark's database (the
    server's connections; this query's own backend left out)."""
    with psycopg.connect(db.to_libpq_url(url), autocommit=True) as conn:
        pids = [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
    out = {}
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        out[pid] = t.user + t.system
    return out


def measured(
    proc: subprocess.Popen[bytes], phase: Coroutine[Any, Any, dict[str, float]], url: str
) -> dict[str, float]:
    """A load phase with the CPU seconds spent during it by the server, by the database's
    backends serving it (a backend opened during the phase counts whole) and by this client."""
    database0 = database_cpu(url)
    server0, client0 = server_cpu(proc), time.process_time()
    result = asyncio.run(phase)
    result["server_cpu"] = server_cpu(proc) - server0
    result["client_cpu"] = time.process_time() - client0
    database1 = database_cpu(url)
    result["database_cpu"] = sum(t - database0.get(pid, 0.0) for pid, t in database1.items())
    return result


def report(
    results: list[tuple[dict[str, float], dict[str, float]]],
    paced_runs: list[dict[str, float]],
    html: int,
    assets: int,
) -> None:
    def med(part: int, key: str) -> float:
        return statistics.median(r[part][key] for r in results)

    print(
        f"\nmedians of {RUNS} runs, {PER_RUN} submissions each, {CLIENTS} clients, "
        f"{WORKERS} server processes, load average {os.getloadavg()[0]:.1f} "
        f"({len(os.sched_getaffinity(0))} cores):"
    )
    print(f"  submissions/s: {med(0, 'submissions_per_s'):.0f} (goal >= 1000)")
    print(
        f"  submission (GET + POST) p50 {med(0, 'submit_p50'):.1f} ms, "
        f"p99 {med(0, 'submit_p99'):.1f} ms; single request p99 {med(0, 'request_p99'):.1f} ms "
        f"({CLIENTS} clients in a closed loop)"
    )
    p99 = statistics.median(r["p99"] for r in paced_runs)
    print(
        f"  paced at {PACED_RATE:.0f} submissions/s for {PACED_SECONDS:.0f} s: achieved "
        f"{statistics.median(r['achieved'] for r in paced_runs):.0f}/s, p50 "
        f"{statistics.median(r['p50'] for r in paced_runs):.1f} ms, p99 {p99:.1f} ms "
        "(goal < 100 ms)"
    )
    ratio = med(0, "requests_per_s") / med(1, "requests_per_s")
    print(
        f"  form requests/s {med(0, 'requests_per_s'):.0f} vs /healthz "
        f"{med(1, 'requests_per_s'):.0f} requests/s: ratio {ratio:.2f}"
    )
    per_submission = 1000 * med(0, "server_cpu") / PER_RUN
    per_bare = 1000 * med(1, "server_cpu") / (2 * PER_RUN)
    print(
        f"  server CPU: {per_submission:.2f} ms per submission (GET + POST), "
        f"{per_bare:.3f} ms per /healthz request: ratio {per_submission / per_bare:.1f} "
        f"(goal <= 15; = {per_submission / 2 / per_bare:.1f} bare requests per form request); "
        f"{2000 / per_submission:.0f} submissions/s would fill 2 cores (database not counted)"
    )
    ratios = [r[0]["server_cpu"] / (r[1]["server_cpu"] / 2) for r in results]
    print(
        "  ratio per run (submission CPU / /healthz CPU, same run): "
        + ", ".join(f"{x:.1f}" for x in ratios)
        + f"; median {statistics.median(ratios):.1f}"
    )
    print(
        f"  client CPU: {1000 * med(0, 'client_cpu') / (2 * PER_RUN):.3f} ms per form request, "
        f"{1000 * med(1, 'client_cpu') / (2 * PER_RUN):.3f} ms per /healthz request"
    )
    web = 1000 * med(0, "server_cpu") / PER_RUN
    database = 1000 * med(0, "database_cpu") / PER_RUN
    client = 1000 * med(0, "client_cpu") / PER_RUN
    total = web + database + client
    print(
        f"  CPU per submission: web {web:.2f} ms + database backends {database:.2f} ms + "
        f"benchmark client {client:.2f} ms = {total:.2f} ms: {2000 / total:.0f} submissions/s "
        f"would fill 2 cores with all three on them, {2000 / (web + database):.0f} with the "
        "client elsewhere (goal >= 1000: total <= 2 ms)"
    )
    print(
        f"  form page: HTML {html / 1024:.1f} KB, CSS and script {assets / 1024:.1f} KB, "
        f"total {(html + assets) / 1024:.1f} KB uncompressed (goal < 50 KB)"
    )


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="surveys-", dir=OUT))
    embedded = False
    try:
        url = os.environ.get("OTKLIK_BENCH_DATABASE_URL") or os.environ.get(
            "OTKLIK_TEST_DATABASE_URL"
        )
        if not url:
            url = db.start_embedded(tmp / "pgdata", database="bench")
            embedded = True
        run(url, tmp)
    except BenchFailure as exc:
        print(f"BENCHMARK FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if embedded:
            db.stop_embedded()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
