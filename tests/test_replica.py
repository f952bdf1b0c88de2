"""``OTKLIK_DATABASE_REPLICA_URL`` against a real streaming replica: the test initdb's its own
primary, takes a ``pg_basebackup -R`` of it and starts the replica, both on free ports under a
temporary folder, and stops both at the end (docs/deployment.md, "Read replica").

What would fail if reads went to the primary: while the replica's replay is paused, responses
added on the primary are invisible through the replica application and visible through a
primary-only one."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from otklik.app import create_app
from otklik.backup import tool
from otklik.config import Settings
from otklik.db import create_engine, session_factory, to_async_url, transaction
from otklik.identity.roles import Role
from otklik.kit.clock import moscow_date
from otklik.kit.replica import APPLICATION_NAME, LSN_COOKIE
from otklik.migrate import upgrade
from otklik.registry.reference import seed_reference
from otklik.registry.service import seed_catalogue
from tests.factories import create_organization, create_user, csrf_from, free_port, login
from tests.indicators.factories import create_responses

SYSTEM_USER = "pgserver"  # PostgreSQL refuses to run as root; pgserver uses this user too


@dataclass
class Cluster:
    root: Path
    primary_port: int
    replica_port: int

    def url(self, port: int) -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/otklik"

    @property
    def primary(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica(self) -> str:
        return self.url(self.replica_port)

    def run(self, *args: str) -> None:
        as_user = {"user": SYSTEM_USER} if os.geteuid() == 0 else {}
        done = subprocess.run(  # noqa: S603 - PostgreSQL's own tools, our arguments
            [tool(args[0]), *args[1:]], capture_output=True, text=True, check=False, **as_user
        )
        assert done.returncode == 0, (args, done.stdout, done.stderr)

    def start(self, name: str, port: int) -> None:
        folder = self.root / name
        options = f"-p {port} -k {folder}"
        self.run(
            "pg_ctl", "-D", str(folder), "-l", str(folder / "log"), "-o", options, "-w", "start"
        )

    def stop(self, name: str) -> None:
        folder = self.root / name
        if (folder / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(folder), "-m", "fast", "-w", "stop")


def _own_folder() -> Path:
    """In memory where there is a tmpfs (creating and removing two clusters on a busy disk
    took 11 s of the test's 50)."""
    shm = Path("/dev/shm")  # noqa: S108 - a private folder made by mkdtemp
    root = Path(tempfile.mkdtemp(prefix="otklik-replica-", dir=shm if shm.is_dir() else None))
    if os.geteuid() == 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
            from pgserver.utils import ensure_user_exists

        entry = ensure_user_exists(SYSTEM_USER)
        assert entry is not None
        os.chown(root, entry.pw_uid, entry.pw_gid)
    return root


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A migrated primary (wal_level=replica, a replication entry in pg_hba) and its
    streaming replica from pg_basebackup; both stopped and removed afterwards, also on failure."""
    c = Cluster(_own_folder(), free_port(), free_port())
    primary = c.root / "primary"
    try:
        c.run("initdb", "-D", str(primary), "-U", "postgres", "--auth=trust", "-E", "UTF8", "-N")
        with (primary / "postgresql.conf").open("a") as conf:
            conf.write(
                "\nlisten_addresses = '127.0.0.1'\nwal_level = replica\nmax_wal_senders = 4\n"
                "fsync = off\nhot_standby = on\n"
            )
        with (primary / "pg_hba.conf").open("a") as hba:
            hba.write("\nhost replication postgres 127.0.0.1/32 trust\n")
        c.start("primary", c.primary_port)
        with psycopg.connect(c.url(c.primary_port).replace("/otklik", "/postgres")) as conn:
            conn.autocommit = True
            conn.execute("CREATE DATABASE otklik")
        upgrade(to_async_url(c.primary))
        replica = c.root / "replica"
        c.run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(c.primary_port), "-U", "postgres"),
            *("-D", str(replica), "-R", "-X", "stream", "-c", "fast"),
        )
        c.start("replica", c.replica_port)
        yield c
    finally:
        for name in ("replica", "primary"):
            try:
                c.stop(name)
            except AssertionError as exc:  # keep stopping the other one
                logging.getLogger(__name__).warning("could not stop %s: %s", name, exc)
        shutil.rmtree(c.root, ignore_errors=True)


def last_quarter(today: date) -> tuple[date, str]:
    """A day in the last complete quarter and its name (open data publishes only those)."""
    day = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1) - timedelta(days=40)
    return day, f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def _settings(root: Path, replica: str | None) -> Settings:
    return Settings(
        env="test",
        data_dir=root / "data",
        secret_key="t" * 40,
        pii_key="p" * 40,
        database_replica_url=replica,
        opendata_requests_per_minute=100_000,
    )


@dataclass
class Site:
    replica_app: FastAPI
    on_replica: dict[str, AsyncClient]  # by person, through the application with a replica
    on_primary: dict[str, AsyncClient]  # the same people, through a primary-only application
    ogrn: str
    day: date
    quarter: str


async def _client(stack: AsyncExitStack, app: FastAPI) -> AsyncClient:
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    return await stack.enter_async_context(AsyncClient(transport=transport, base_url="http://t"))


@pytest.fixture(scope="module")
async def site(cluster: Cluster) -> AsyncIterator[Site]:
    day, quarter = last_quarter(moscow_date())
    engine = create_engine(to_async_url(cluster.primary))
    async with transaction(session_factory(engine)) as session:
        await seed_reference(session)
        await seed_catalogue(session)
        org = await create_organization(session, region="16", participates_from=date(2020, 1, 1))
        await create_responses(session, org, day, [5, 5, 4, 4, 4, 3, 3, 2, 5, 4, 1, 5])
        people = {name: (await create_user(session, Role.coordinator)).email for name in "ab"}
    await engine.dispose()
    async with AsyncExitStack() as stack:
        replica_app = create_app(_settings(cluster.root, cluster.replica), cluster.primary)
        primary_app = create_app(_settings(cluster.root, None), cluster.primary)
        for app in (replica_app, primary_app):
            await stack.enter_async_context(app.router.lifespan_context(app))
        on_replica = {n: await _client(stack, replica_app) for n in people}
        on_primary = {n: await _client(stack, primary_app) for n in people}
        for name, email in people.items():
            assert await login(on_replica[name], email) == 303
            assert await login(on_primary[name], email) == 303
        yield Site(replica_app, on_replica, on_primary, org.ogrn, day, quarter)


def replay_lsn_reached(cluster: Cluster, timeout: float = 30.0) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    with psycopg.connect(cluster.primary, autocommit=True) as p:
        row = p.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    assert row is not None
    deadline = time.monotonic() + timeout
    with psycopg.connect(cluster.replica, autocommit=True) as r:
        while True:
            caught = r.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", row).fetchone()
            if caught and caught[0]:
                return
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.05)


def set_replay(cluster: Cluster, paused: bool) -> None:
    with psycopg.connect(cluster.replica, autocommit=True) as r:
        r.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")


async def _add_answers(cluster: Cluster, ogrn: str, day: date, n: int) -> None:
    """Answers arriving meanwhile on the primary (another person's doing, not the reader's)."""
    from sqlalchemy import select

    from otklik.registry.models import Organization

    engine = create_engine(to_async_url(cluster.primary))
    async with transaction(session_factory(engine)) as session:
        org = (await session.scalars(select(Organization).where(Organization.ogrn == ogrn))).one()
        await create_responses(session, org, day, [1] * n)
    await engine.dispose()


async def _answers(client: AsyncClient, site: Site) -> int:
    resp = await client.get(
        "/api/v1/indicators",
        params={"unit": f"organization:{site.ogrn}", "period": site.quarter},
    )
    assert resp.status_code == 200, resp.text[:300]
    n: int = resp.json()["counts"]["responses"]
    return n


async def _figures(client: AsyncClient, site: Site) -> dict[str, Any]:
    """What the cabinets, an export and open data show of the organization."""
    p = {"period": site.quarter}
    indicators = await client.get(
        "/api/v1/indicators", params={"unit": f"organization:{site.ogrn}", **p}
    )
    export = await client.get(
        "/cabinet/indicators/organizations", params={**p, "export": "table", "fmt": "csv"}
    )
    opendata = await client.get(f"/api/open/v1/organizations/{site.ogrn}", params=p)
    csv_file = await client.get("/api/open/v1/organizations.csv", params=p)
    page = await client.get(f"/cabinet/indicators/organization/{site.ogrn}", params=p)
    for resp in (indicators, export, opendata, csv_file, page):
        assert resp.status_code == 200, (resp.url, resp.text[:300])
    return {
        "indicators": indicators.json(),
        "export": export.content,
        "opendata": opendata.json(),
        "csv": csv_file.content,
        "page_has_figures": site.ogrn in page.text,
    }


async def test_reads_go_to_the_replica_and_each_person_sees_their_own_writes(
    cluster: Cluster, site: Site
) -> None:
    a, b = site.on_replica["a"], site.on_replica["b"]
    replay_lsn_reached(cluster)  # the logins of both are on the replica
    set_replay(cluster, paused=True)
    try:
        await _add_answers(cluster, site.ogrn, site.day, 12)
        # (a) reads go to the replica: it does not have the new answers yet, the primary does
        assert await _answers(b, site) == 12
        assert await _answers(site.on_primary["b"], site) == 24
        stale = await _figures(b, site)
        assert stale["opendata"] != (await _figures(site.on_primary["b"], site))["opendata"]
        assert stale["export"] != (await _figures(site.on_primary["b"], site))["export"]
        # (c) read-your-writes: a opens an incident; a's next pages come from the primary
        # although the replica has not replayed it, b's still from the replica
        new = await a.get("/incidents/new")
        created = await a.post(
            "/incidents/new",
            data={
                "csrf_token": csrf_from(new.text),
                "title": "Очередь в регистратуру",
                "subject": "service:health.outpatient_visit",
                "severity": "2",
                "region_code": "16",
            },
        )
        assert created.status_code == 303, created.text[:500]
        assert LSN_COOKIE in created.headers.get("set-cookie", "")
        assert "Открытых инцидентов: 1" in (await a.get("/cabinet")).text
        assert await _answers(a, site) == 24
        assert "Открытых инцидентов" not in (await b.get("/cabinet")).text
        assert await _answers(b, site) == 12
    finally:
        set_replay(cluster, paused=False)
    replay_lsn_reached(cluster)
    # (b) caught up, the replica's figures are the primary's, page by page
    assert "Открытых инцидентов: 1" in (await b.get("/cabinet")).text
    via_replica = await _figures(b, site)
    assert via_replica == await _figures(site.on_primary["b"], site)
    assert via_replica["indicators"]["counts"]["responses"] == 24
    assert via_replica["page_has_figures"]
    # every other page read from the replica answers (one that wrote would fail there: a
    # replica refuses writes), and the replica served them
    for url in READ_PAGES:
        resp = await b.get(url.format(ogrn=site.ogrn, quarter=site.quarter))
        assert resp.status_code in (200, 303), (url, resp.text[:300])
    assert replica_clients(cluster) > 0


READ_PAGES = (
    "/cabinet/fix-first",
    "/cabinet/indicators",
    "/cabinet/indicators/regions?period={quarter}",
    "/cabinet/indicators/region/16?period={quarter}",
    "/cabinet/indicators/region/16?period={quarter}&export=table&fmt=xlsx",
    "/cabinet/indicators/founder/r16-health?period={quarter}",
    "/cabinet/indicators/organization/{ogrn}?period={quarter}&export=trend&fmt=xlsx",
    "/reports",
    "/opendata",
    "/o/{ogrn}?period={quarter}",
    "/r?period={quarter}",
    "/r/16?period={quarter}",
    "/search?q=Тестовая",
    "/sitemap.xml",
    "/api/open/v1/dictionary",
    "/api/open/v1/quarters",
    "/api/open/v1/regions.json?period={quarter}",
)


def replica_clients(cluster: Cluster) -> int:
    """Connections of the application on the replica (its ``application_name``)."""
    with psycopg.connect(cluster.replica, autocommit=True) as r:
        row = r.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            (APPLICATION_NAME,),
        ).fetchone()
    return int(row[0]) if row else 0


async def test_pages_work_from_the_primary_when_the_replica_is_down(
    cluster: Cluster, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    b = site.on_replica["b"]
    cluster.stop("replica")
    await _add_answers(cluster, site.ogrn, site.day, 3)  # only the primary can show these
    with caplog.at_level(logging.WARNING, logger="otklik.kit.replica"):
        assert await _answers(b, site) == 27
        assert await _figures(b, site) == await _figures(site.on_primary["b"], site)
        opendata_page = await b.get(f"/o/{site.ogrn}", params={"period": site.quarter})
        assert opendata_page.status_code == 200
    assert any("read replica unavailable" in r.getMessage() for r in caplog.records)
