"""``OTKLIK_DATABASE_REPLICA_URL`` against a real streaming replica (docs/deployment.md, "Read
replica"): ``tests/pgcluster.py`` initdb's a primary, takes a ``pg_basebackup -R`` of it and
starts the replica, both on free ports under a temporary folder, and stops both at the end.

What would fail if reads went to the primary: while the replica's replay is paused, responses
added on the primary are invisible through the replica application and visible through a
primary-only one."""

from __future__ import annotations

import logging
import tempfile
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
from otklik.config import Settings
from otklik.db import create_engine, session_factory, to_async_url, transaction
from otklik.identity.roles import Role
from otklik.kit.clock import moscow_date
from otklik.kit.replica import APPLICATION_NAME, LSN_COOKIE
from otklik.migrate import upgrade
from otklik.registry.reference import seed_reference
from otklik.registry.service import seed_catalogue
from tests.factories import create_organization, create_user, csrf_from, login
from tests.indicators.factories import create_responses
from tests.pgcluster import PgCluster


@dataclass
class Cluster:
    pg: PgCluster
    primary: str  # the URLs of the application's database on each server
    replica: str


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A migrated primary and its streaming replica (``tests.pgcluster``), in memory where there
    is a tmpfs (creating and removing two clusters on a busy disk took 11 s of the test's 50);
    both stopped and removed afterwards, also on failure."""
    shm = Path("/dev/shm")  # noqa: S108 - a private folder made by mkdtemp
    pg = PgCluster(
        Path(tempfile.mkdtemp(prefix="otklik-replica-", dir=shm if shm.is_dir() else None))
    )
    try:
        pg.start()
        primary, replica = pg.create_database("otklik")
        upgrade(to_async_url(primary))
        yield Cluster(pg, primary, replica)
    finally:
        pg.remove()


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
        replica_app = create_app(_settings(cluster.pg.folder, cluster.replica), cluster.primary)
        primary_app = create_app(_settings(cluster.pg.folder, None), cluster.primary)
        for app in (replica_app, primary_app):
            await stack.enter_async_context(app.router.lifespan_context(app))
        on_replica = {n: await _client(stack, replica_app) for n in people}
        on_primary = {n: await _client(stack, primary_app) for n in people}
        for name, email in people.items():
            assert await login(on_replica[name], email) == 303
            assert await login(on_primary[name], email) == 303
        yield Site(replica_app, on_replica, on_primary, org.ogrn, day, quarter)


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
    cluster.pg.wait_replayed()  # the logins of both are on the replica
    cluster.pg.set_replay(paused=True)
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
        cluster.pg.set_replay(paused=False)
    cluster.pg.wait_replayed()
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
    cluster.pg.stop_replica()
    await _add_answers(cluster, site.ogrn, site.day, 3)  # only the primary can show these
    with caplog.at_level(logging.WARNING, logger="otklik.kit.replica"):
        assert await _answers(b, site) == 27
        assert await _figures(b, site) == await _figures(site.on_primary["b"], site)
        opendata_page = await b.get(f"/o/{site.ogrn}", params={"period": site.quarter})
        assert opendata_page.status_code == 200
    assert any("read replica unavailable" in r.getMessage() for r in caplog.records)
