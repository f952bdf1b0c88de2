"""Backup and restore drill: ``otklik db backup`` then ``otklik db restore`` into an empty
database brings back every row, and the indicators recompute to the same values."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import make_url

from otklik.db import create_engine, session_factory, to_async_url, to_libpq_url, transaction
from otklik.registry.service import seed_catalogue
from tests.factories import create_organization
from tests.indicators.factories import create_response
from tests.test_cli_commands import otklik

DAY = date(2026, 11, 10)


@pytest.fixture(scope="module")
def two_databases(database_url: str) -> Iterator[tuple[str, str]]:
    url = make_url(to_libpq_url(database_url))
    names = (f"{url.database}_bk_source", f"{url.database}_bk_restored")
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    yield (
        url.set(database=names[0]).render_as_string(hide_password=False),
        url.set(database=names[1]).render_as_string(hide_password=False),
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _contents(url: str) -> dict[str, tuple[int, str]]:
    """Every table: its row count and a digest of all its rows."""
    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        out = {}
        for t in tables:
            row = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) "  # noqa: S608
                f'FROM "{t}" x'
            ).fetchone()
            assert row is not None
            out[t] = (int(row[0]), str(row[1]))
    return out


async def test_backup_restores_every_row_and_the_same_indicators(
    two_databases: tuple[str, str], tmp_path: Path
) -> None:
    source, restored = two_databases
    assert otklik(source, tmp_path, "db", "upgrade").code == 0
    engine = create_engine(to_async_url(source))
    async with transaction(session_factory(engine)) as s:
        await seed_catalogue(s)
        for n in range(3):
            org = await create_organization(s)
            for v in [5, 4, 4, 3, 5, 2, 4, 5, 3, 4][n:]:
                await create_response(s, org, DAY, {"overall": v, "staff": 4}, comment="Хорошо")
    await engine.dispose()
    assert otklik(source, tmp_path, "indicators", "compute", "--period", "2026").code == 0
    before = _contents(source)
    assert before["responses"][0] == 27
    assert before["indicator_rollup"][0] > 0
    file = tmp_path / "otklik.dump"
    run = otklik(source, tmp_path, "db", "backup", str(file))
    assert run.code == 0, run.text
    assert file.stat().st_size > 0
    run = otklik(restored, tmp_path, "db", "restore", str(file))
    assert run.code == 0, run.text
    assert "восстановлена" in run.text
    assert _contents(restored) == before  # every row of every table
    with psycopg.connect(restored, autocommit=True) as conn:
        conn.execute("DELETE FROM indicator_rollup")
    run = otklik(restored, tmp_path, "indicators", "compute", "--period", "2026")
    assert run.code == 0, run.text
    assert _contents(restored)["indicator_rollup"] == before["indicator_rollup"]
    again = otklik(restored, tmp_path, "db", "restore", str(file))  # not into a full database
    assert again.code == 1
    assert "не пуста" in again.text
    missing = otklik(restored, tmp_path, "db", "restore", str(tmp_path / "none.dump"))
    assert missing.code == 1
    assert "не найден" in missing.text
