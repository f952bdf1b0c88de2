"""The whole loop on a small cluster of real processes, with exact counts at the end.

``make test-cluster`` (not part of ``make test``): a primary and a streaming replica, NATS
JetStream, two web processes on one port, two workers, two consumers of one durable stream, a
portal sink and an SMTP server. ``OTKLIK_CLUSTER_RECORDS`` distinct valid records (100 000 by
default) go through NATS, with repeats and invalid messages; the workers plan and deliver the
invitations; respondents follow ``OTKLIK_CLUSTER_ANSWER_PERCENT`` % (7) of the links the sinks
received; the workers mask the comments. Every count is then compared with what the inputs
imply (``data.expect``), never with what the code reports about itself. Stage timings are
printed (run with ``-s``).
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.db import create_engine, session_factory, transaction
from otklik.intake.stream import ensure_stream, subject_for
from otklik.jobs.service import FREQUENT_SECONDS
from otklik.schedule import SCHEDULE
from tests.cluster.data import Expected, Inputs, expect, make_inputs
from tests.cluster.respondents import PHONE_DIGITS, Submitted, chosen, respond
from tests.cluster.topology import OTKLIK, Topology
from tests.factories import create_organization

RECORDS = int(os.environ.get("OTKLIK_CLUSTER_RECORDS", "100000"))
ANSWER_PERCENT = int(os.environ.get("OTKLIK_CLUSTER_ANSWER_PERCENT", "7"))
ORGANIZATIONS = 200
SOURCE = f"cluster-{secrets.token_hex(3)}"  # its own durable consumer, even on a shared NATS
TOTALS = re.compile(r"Принято: (\d+); повторов: (\d+); отклонено: (\d+)\.")


class Clock:
    def __init__(self) -> None:
        self.start = self.last = time.monotonic()
        self.stages: list[tuple[str, float]] = []

    def stage(self, name: str) -> None:
        now = time.monotonic()
        self.stages.append((name, now - self.last))
        print(f"  {name}: {now - self.last:.1f} s", flush=True)  # noqa: T201
        self.last = now


@pytest.fixture
def topology() -> Iterator[Topology]:
    # Not pytest's tmp_path: pytest keeps only the last three base folders of a user, so
    # another pytest session of the same user could delete the servers' data mid-run.
    folder = Path(tempfile.mkdtemp(prefix="otklik-cluster-"))
    folder.chmod(0o755)  # the PostgreSQL servers may run as another user
    t = Topology(folder)
    try:
        yield t
    finally:
        t.stop()
        t.remove_data()  # the logs stay for a look after a failure
        print(f"  logs: {folder / 'logs'}")  # noqa: T201


def scalar(url: str, sql: str, *args: Any) -> Any:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql, args).fetchone()
        return row[0] if row else None


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def wait_for(t: Topology, what: str, done: Callable[[], bool], timeout: float = 3600) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        t.check_alive()
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)


async def _register(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with transaction(session_factory(engine)) as session:
            return [await _org(session, n) for n in range(ORGANIZATIONS)]
    finally:
        await engine.dispose()


async def _org(session: AsyncSession, n: int) -> str:
    org = await create_organization(session, name=f"Кластер-{n:04d}")
    return org.ogrn


async def _publish(nats_url: str, messages: list[bytes]) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(nc)
        subject = subject_for(SOURCE)
        for i in range(0, len(messages), 2000):
            await asyncio.gather(*(js.publish(subject, m) for m in messages[i : i + 2000]))
    finally:
        await nc.close()


def test_the_whole_loop_on_two_of_everything(topology: Topology) -> None:
    t = topology
    clock = Clock()
    print(f"\ntopology test: {RECORDS} records, {ANSWER_PERCENT} % answered")  # noqa: T201
    t.start_databases()
    t.run("db", "upgrade")
    ogrns = asyncio.run(_register(t.primary))
    t.run("sources", "create", SOURCE)
    clock.stage("databases (initdb, base backup, migrations, registry)")

    inputs = make_inputs(RECORDS, ogrns)
    want = expect(inputs)
    clock.stage(f"inputs generated ({len(inputs.messages)} messages)")
    t.start_nats()
    t.start_services()
    t.wait_web()
    clock.stage("processes up (NATS, sinks, 2 web, 2 workers)")

    asyncio.run(_publish(t.nats_url, inputs.messages))
    clock.stage(f"published {len(inputs.messages)} messages")
    _consume(t, inputs)
    clock.stage("consumed by 2 consumers")

    wait_for(t, "planning", lambda: _pending(t.primary) == 0)
    clock.stage("planned (until no task pending)")
    sink = f"http://127.0.0.1:{t.sink_port}"
    wait_for(t, "delivery", lambda: _received(sink) >= want.invitations)
    clock.stage("delivered (every invitation in a sink)")

    links = [m["link"] for m in _messages(sink)]
    answered = asyncio.run(respond(chosen(links, ANSWER_PERCENT)))
    clock.stage(f"answered {sum(answered.responses.values())} questionnaires over HTTP")
    wait_for(t, "masking", lambda: scalar(t.primary, "SELECT count(*) FROM sealed_comments") == 0)
    clock.stage("comments masked")
    queued = "SELECT count(*) FROM indicator_queue"
    wait_for(t, "indicators", lambda: scalar(t.primary, queued) == 0)
    clock.stage("answers folded into the indicators (queue empty)")

    _check_intake(t, inputs, want)
    _check_outreach(t, want, sink)
    _check_answers(t, answered, links)
    _check_jobs(t)
    _check_logs(t, inputs)
    t.pg.wait_replayed()  # type: ignore[union-attr]
    _check_replica(t)
    clock.stage("checks")
    total = sum(s for _, s in clock.stages)
    print(f"  total: {total:.1f} s, load average {os.getloadavg()}")  # noqa: T201


def _consume(t: Topology, inputs: Inputs) -> None:
    for n in (1, 2):
        t.spawn(
            f"consumer{n}",
            [
                *OTKLIK,
                *["intake", "consume", "--source", SOURCE, "--nats-url", t.nats_url, "--once"],
            ],
        )
    totals = []
    for n in (1, 2):
        child = t.children[f"consumer{n}"]
        assert child.wait(3600) == 0, t.log(f"consumer{n}")
        found = TOTALS.search(t.log(f"consumer{n}"))
        assert found, t.log(f"consumer{n}")[-2000:]
        totals.append(tuple(int(x) for x in found.groups()))
    print(f"  consumers (accepted, repeats, rejected): {totals}")  # noqa: T201
    assert all(a + d + r > 0 for a, d, r in totals), "each consumer took a share"
    assert sum(a for a, _, _ in totals) == len(inputs.records)
    assert sum(d for _, d, _ in totals) == inputs.duplicates
    assert sum(r for _, _, r in totals) == inputs.invalid


def _pending(url: str) -> int:
    return int(scalar(url, "SELECT count(*) FROM outreach_tasks WHERE status = 'pending'"))


def _received(sink: str) -> int:
    return sum(httpx.get(f"{sink}/stats", timeout=60).json()["channels"].values())


def _messages(sink: str) -> list[dict[str, str]]:
    return list(httpx.get(f"{sink}/messages", timeout=60).json())


def _check_intake(t: Topology, inputs: Inputs, want: Expected) -> None:
    p = t.primary
    assert scalar(p, "SELECT count(*) FROM service_records") == want.stored
    assert scalar(p, "SELECT count(DISTINCT record_id) FROM service_records") == want.stored
    accepted, repeats, rejected, seen = rows(
        p, "SELECT sum(accepted), sum(duplicates), sum(rejected), sum(records) FROM intake_batches"
    )[0]
    assert (accepted, repeats, rejected) == (want.stored, inputs.duplicates, inputs.invalid)
    assert seen == len(inputs.messages)
    assert scalar(p, "SELECT sum(count) FROM intake_rejections") == inputs.invalid


def _check_outreach(t: Topology, want: Expected, sink: str) -> None:
    p = t.primary
    assert scalar(p, "SELECT count(*) FROM invitations") == want.invitations
    tasks = dict(
        rows(p, "SELECT coalesce(reason, status), count(*) FROM outreach_outcomes GROUP BY 1")
    )
    fatigued = tasks.pop("fatigue_organization", 0) + tasks.pop("fatigue_week", 0)
    assert tasks == {"planned": want.invitations, "no_confirmed_account": want.no_account}
    assert fatigued == want.fatigued
    refused = want.portal_refused
    deliveries = {
        (c, s): n
        for c, s, n in rows(p, "SELECT channel, status, count(*) FROM deliveries GROUP BY 1, 2")
    }
    assert deliveries == {
        ("portal", "sent"): want.invitations - refused,
        ("portal", "failed"): refused,
        ("email", "delivered"): refused,  # SMTP accepted it: delivered
    }
    stats = httpx.get(f"{sink}/stats").json()
    assert stats["channels"] == {"portal": want.invitations - refused, "email": refused}
    assert stats["repeated_keys"] == 0, "a message was sent twice"
    assert stats["rejected"] == refused


def _check_answers(t: Topology, answered: Submitted, links: list[str]) -> None:
    p = t.primary
    assert answered.failures == []
    submitted = sum(answered.responses.values())
    assert submitted == len(chosen(links, ANSWER_PERCENT)) > 0
    assert scalar(p, "SELECT count(*) FROM responses") == submitted
    assert scalar(p, "SELECT count(*) FROM invitations WHERE status = 'completed'") == submitted
    assert scalar(p, "SELECT count(*) FROM response_comments") == answered.comments > 0
    assert scalar(p, "SELECT count(*) FROM sealed_comments") == 0
    leaked = "SELECT count(*) FROM response_comments WHERE text LIKE %s OR text LIKE %s"
    assert scalar(p, leaked, f"%{PHONE_DIGITS}%", "%Марин%") == 0
    masked = "SELECT count(*) FROM response_comments WHERE text LIKE %s"
    assert scalar(p, masked, "%[телефон]%") == answered.comments
    # the indicators (the worker's folds of the queue): answers and overall ratings per organization
    got = rows(
        p,
        "SELECT o.short_name, sum(s.resp), sum(s.s_overall) FROM indicator_summary s"
        " JOIN organizations o ON o.id = s.organization_id WHERE s.grain = 'y'"
        " GROUP BY 1 HAVING sum(s.resp) > 0",
    )
    assert {int(name.split("-")[1]): (int(n), int(s)) for name, n, s in got} == {
        org: (n, answered.overall[org]) for org, n in answered.responses.items()
    }
    print(f"  web processes (pid: requests): {dict(answered.pids)}")  # noqa: T201
    assert set(answered.pids) == t.web_pids(), "both web processes served respondents"


def _check_jobs(t: Topology) -> None:
    """Every job of a minute or more started exactly once in each period of the run across both
    workers (never twice, never skipped, however long the delivery batches), none failed."""
    p = t.primary
    assert scalar(p, "SELECT count(*) FROM job_runs WHERE failed") == 0, rows(
        p, "SELECT job, error, error_detail FROM job_runs WHERE failed LIMIT 5"
    )
    now = float(scalar(p, "SELECT extract(epoch FROM now())"))
    runs: dict[str, list[tuple[float, float]]] = {}
    for job, started, due in rows(
        p,
        "SELECT job, extract(epoch FROM started_at), extract(epoch FROM scheduled_at)"
        " FROM job_runs ORDER BY job, started_at",
    ):
        runs.setdefault(job, []).append((float(started), float(due)))
    for entry in SCHEDULE:
        period = entry.interval
        starts = [s for s, _ in runs.get(entry.name, [])]
        dues = [d for _, d in runs.get(entry.name, [])]
        # never twice in one period, as the claims recorded it (a run's period began before it)
        assert len(set(dues)) == len(dues), entry.name
        assert all(d <= s for s, d in zip(starts, dues, strict=True)), entry.name
        if period < FREQUENT_SECONDS:
            continue  # only the runs that did something are kept: a skipped period is not seen
        assert starts, entry.name
        # Exactly once in every period that began and ended during the run, by the workers'
        # clocks alone: the periods follow the first start at whole intervals (the claim keeps
        # them on that grid), and a window of one period centred on each period's start holds
        # exactly one start (none twice, none skipped, none half a period late).
        first = starts[0]
        ended = int((now - first) // period)
        found = [
            sum(1 for s in starts if first + (k - 0.5) * period <= s < first + (k + 0.5) * period)
            for k in range(ended)
        ]
        assert found == [1] * ended, (entry.name, found)
        if ended:
            late = max(s - d for s, d in zip(starts, dues, strict=True))
            print(f"  {entry.name}: {ended} periods, started at most {late:.1f} s late")  # noqa: T201
    workers = rows(
        p,
        "SELECT job, worker, sum(done) FROM job_runs WHERE job IN ('outreach.plan_invitations',"
        " 'outreach.deliver_messages', 'surveys.mask_comments') GROUP BY 1, 2 ORDER BY 1, 2",
    )
    print(f"  work per job and worker: {workers}")  # noqa: T201
    assert len({w for _, w, _ in workers}) == 2, "both workers did work"


def _check_logs(t: Topology, inputs: Inputs) -> None:
    """No personal data and no personal link in the logs of any of our processes."""
    snils = {p.digits for p in inputs.people}
    for name in t.children:
        if name in ("nats", "sinks"):
            continue
        text = t.log(name)
        assert "@cluster.example" not in text, name
        assert not re.search(r"/s/(?!\{token\})[A-Za-z0-9_\-]{8}", text), name
        assert not snils.intersection(re.findall(r"\d{11}", re.sub(r"[ -]", "", text))), name


def _check_replica(t: Topology) -> None:
    assert scalar(t.replica, "SELECT pg_is_in_recovery()") is True
    for table in (
        "service_records",
        "invitations",
        "deliveries",
        "responses",
        "response_comments",
        "indicator_summary",
        "job_runs",
    ):
        sql = f"SELECT count(*) FROM {table}"  # noqa: S608 - table names from the list above
        assert scalar(t.replica, sql) == scalar(t.primary, sql), table
    sums = "SELECT sum(resp), sum(s_overall) FROM indicator_summary"
    assert rows(t.replica, sums) == rows(t.primary, sums)
