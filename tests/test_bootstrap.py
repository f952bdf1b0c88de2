"""``otklik db upgrade`` on an empty database, as an operator runs it: everything built in is
loaded (services, life situations, questionnaire, methodology), and a second run changes
nothing and says so."""

from __future__ import annotations

import csv
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import make_url

from otklik.db import to_libpq_url

OTKLIK = str(Path(sys.executable).with_name("otklik"))
TABLES = (
    "regions",
    "founders",
    "organization_types",
    "services",
    "service_organization_types",
    "life_situations",
    "life_situation_services",
    "questionnaire_versions",
    "methodology_versions",
)


@pytest.fixture(scope="module")
def empty_url(database_url: str) -> Iterator[str]:
    url = make_url(to_libpq_url(database_url))
    name = f"{url.database}_boot"
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _upgrade(url: str, tmp: Path) -> str:
    env = {
        **os.environ,
        "OTKLIK_ENV": "production",
        "OTKLIK_DATABASE_URL": url,
        "OTKLIK_DATA_DIR": str(tmp),
        "OTKLIK_SECRET_KEY": secrets.token_urlsafe(48),
        "OTKLIK_PII_KEY": secrets.token_urlsafe(48),
        "COLUMNS": "200",
    }
    done = subprocess.run(  # noqa: S603
        [OTKLIK, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=300, cwd=tmp
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def _snapshot(url: str) -> dict[str, tuple[int, str]]:
    """Per table: the row count and a digest of every row (with its system columns' xmin, so
    even a rewrite to identical values shows up)."""
    found = {}
    with psycopg.connect(url) as conn:
        for t in TABLES:
            row = conn.execute(
                f"SELECT count(*), coalesce(md5(string_agg(t::text || t.xmin::text, ','"  # noqa: S608
                f" ORDER BY t::text)), '') FROM {t} t"
            ).fetchone()
            assert row is not None
            found[t] = (row[0], row[1])
    return found


def _packaged_rows(name: str) -> int:
    text = resources.files("otklik.registry").joinpath("data", name).read_text(encoding="utf-8")
    return len(list(csv.DictReader(text.splitlines())))


def test_db_upgrade_loads_everything_built_in_once(empty_url: str, tmp_path: Path) -> None:
    first = _upgrade(empty_url, tmp_path)
    after_first = _snapshot(empty_url)
    services = _packaged_rows("services.csv")
    situations = _packaged_rows("life_situations.csv")
    assert after_first["services"][0] == services > 30
    assert after_first["life_situations"][0] == situations > 10
    assert after_first["regions"][0] == _packaged_rows("regions.csv") == 89
    assert after_first["organization_types"][0] == _packaged_rows("organization_types.csv")
    assert after_first["service_organization_types"][0] > services
    assert after_first["life_situation_services"][0] > situations
    assert after_first["questionnaire_versions"][0] == 1
    assert after_first["methodology_versions"][0] == 1
    # it says what it loaded, in Russian
    assert f"Услуги: {services} (добавлено {services}, обновлено 0)" in first
    assert f"Жизненные ситуации: {situations} (добавлено {situations}" in first
    assert "Регионы: 89 (добавлено 89" in first
    assert "Анкета: версия 2025.1 опубликована" in first
    assert "Методика расчёта показателей: версия 2025.1" in first
    assert "База данных обновлена." in first

    second = _upgrade(empty_url, tmp_path)
    assert _snapshot(empty_url) == after_first  # not a row rewritten
    assert "добавлено" not in second
    assert "обновлено" not in second
    assert f"Услуги: {services} (без изменений)" in second
    assert "Регионы: 89 (без изменений)" in second
    assert "(добавлена)" not in second


def test_db_upgrade_restores_a_changed_built_in_row(empty_url: str, tmp_path: Path) -> None:
    """A packaged row changed in the database (or by an older release) is brought back."""
    _upgrade(empty_url, tmp_path)
    with psycopg.connect(empty_url) as conn:
        conn.execute("UPDATE regions SET name = 'x' WHERE code = '77'")
    out = _upgrade(empty_url, tmp_path)
    assert "Регионы: 89 (добавлено 0, обновлено 1)" in out
    with psycopg.connect(empty_url) as conn:
        row = conn.execute("SELECT name FROM regions WHERE code = '77'").fetchone()
    assert row is not None
    assert row[0] != "x"
