"""Stored open-data files: built once, served from PostgreSQL, rebuilt when stale, one build
for concurrent first downloads."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from otklik.app import create_app
from otklik.config import Settings
from otklik.indicators import tables
from otklik.indicators.models import MethodologyVersion
from otklik.opendata import suppression
from otklik.opendata.models import OpendataFile, OpendataFileRow
from otklik.opendata.tasks import build_files
from tests.opendata.data import QUARTER, populate

URL = "/api/open/v1/organizations.csv"


def _restart() -> None:
    """What a new web process has: no protection or population caches."""
    suppression._CACHE.clear()
    tables._POPULATIONS.clear()
    tables._HIDDEN.clear()
    tables._HIDDEN_REGIONS.clear()


async def _files(session: AsyncSession, dataset: str) -> list[OpendataFile]:
    stmt = select(OpendataFile).where(
        OpendataFile.period == QUARTER, OpendataFile.dataset == dataset
    )
    return list((await session.scalars(stmt.execution_options(populate_existing=True))).all())


async def test_a_download_after_a_restart_streams_the_stored_file(
    session: AsyncSession, client: AsyncClient
) -> None:
    await populate(session)
    first = await client.get(URL, params={"period": QUARTER})
    assert first.status_code == 200
    [stored] = await _files(session, "organizations")
    assert stored.builds == 1
    assert stored.rows == first.text.count("\r\n") - 1
    # the stored rows are what is served: change one and a new process sends the change
    await session.execute(
        update(OpendataFileRow)
        .where(OpendataFileRow.file_id == stored.id, OpendataFileRow.seq == 0)
        .values(csv=b"stored,row\r\n")
    )
    await session.commit()
    _restart()
    again = await client.get(URL, params={"period": QUARTER})
    assert again.status_code == 200
    assert again.headers["etag"] == first.headers["etag"]
    assert again.text.splitlines()[1] == "stored,row"
    assert again.text.splitlines()[2:] == first.text.splitlines()[2:]
    [still] = await _files(session, "organizations")
    assert (still.id, still.builds) == (stored.id, 1)  # not built again


async def test_a_filtered_download_is_the_stored_rows_of_its_code(
    session: AsyncSession, client: AsyncClient
) -> None:
    await populate(session)
    whole = list(
        csv.DictReader(io.StringIO((await client.get(URL, params={"period": QUARTER})).text))
    )
    for key, column in (("region", "region_code"), ("type", "type_code")):
        code = whole[0][column]
        resp = await client.get(URL, params={"period": QUARTER, key: code})
        assert resp.status_code == 200
        assert list(csv.DictReader(io.StringIO(resp.text))) == [
            r for r in whole if r[column] == code
        ]
    json_resp = await client.get(
        "/api/open/v1/organizations.json", params={"period": QUARTER, "region": "16"}
    )
    body = json_resp.json()
    assert body["meta"]["filters"] == {"region": "16"}
    assert [r["ogrn"] for r in body["data"]] == [
        r["ogrn"] for r in whole if r["region_code"] == "16"
    ]
    [stored] = await _files(session, "organizations")
    assert stored.builds == 1  # every filter and format from the one stored file


async def test_a_new_methodology_version_rebuilds_the_file_and_the_job_builds_the_rest(
    session: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    await populate(session)
    first = await client.get(URL, params={"period": QUARTER})
    old = first.headers["x-methodology-version"]
    current = await session.get(MethodologyVersion, old)
    assert current is not None
    await session.execute(update(MethodologyVersion).values(is_default=False))
    session.add(
        MethodologyVersion(
            version="t-next", title="Next", definition=current.definition, is_default=True
        )
    )
    await session.commit()
    resp = await client.get(URL, params={"period": QUARTER})
    assert resp.status_code == 200
    assert resp.headers["x-methodology-version"] == "t-next"
    assert resp.headers["etag"] != first.headers["etag"]
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert {r["methodology_version"] for r in rows} == {"t-next"}
    [stored] = await _files(session, "organizations")
    assert stored.methodology_version == "t-next"  # the old version's file is gone
    # the periodic job builds the quarter's other files, one per run, then finds nothing to do
    # (the last published quarter, which depends on today, may be another one: built as well)
    built = 0
    while await build_files(session, settings):
        built += 1
        assert built <= 8
    assert built >= 3
    assert await build_files(session, settings) == 0
    for dataset in ("regions", "types", "founders"):
        [f] = await _files(session, dataset)
        assert (f.methodology_version, f.builds) == ("t-next", 1)
    regions = await client.get("/api/open/v1/regions.csv", params={"period": QUARTER})
    assert regions.status_code == 200
    [f] = await _files(session, "regions")
    assert f.builds == 1  # served as the job built it


async def test_concurrent_first_downloads_build_the_file_once(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """Separate connections (as several web processes): the advisory lock lets one build."""
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        secret_key="t" * 40,
        pii_key="p" * 40,
        opendata_requests_per_minute=100_000,
    )
    factory = async_sessionmaker(engine, expire_on_commit=False)
    apps = [create_app(settings) for _ in range(3)]
    for app in apps:
        app.state.sessionmaker = factory
    period = "2025-Q2"
    try:
        _restart()

        async def download(i: int) -> tuple[int, bytes, str]:
            transport = ASGITransport(app=apps[i % 3])
            async with AsyncClient(transport=transport, base_url="http://test") as c:
                r = await c.get("/api/open/v1/regions.csv", params={"period": period})
                return r.status_code, r.content, r.headers["etag"]

        got = await asyncio.gather(*(download(i) for i in range(6)))
        assert {g[0] for g in got} == {200}
        assert len({g[1] for g in got}) == 1
        assert len({g[2] for g in got}) == 1
        async with factory() as s:
            builds = (
                (
                    await s.execute(
                        select(OpendataFile.builds).where(
                            OpendataFile.period == period, OpendataFile.dataset == "regions"
                        )
                    )
                )
                .scalars()
                .all()
            )
            assert builds == [1]
            assert (
                await s.scalar(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database())"
                    )
                )
            ) == 0
    finally:
        async with factory() as s:
            await s.execute(delete(OpendataFile).where(OpendataFile.period == period))
            await s.commit()
