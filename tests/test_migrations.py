from __future__ import annotations

import uuid

import psycopg
from alembic.script import ScriptDirectory
from sqlalchemy import make_url

from otklik.db import to_async_url, to_libpq_url
from otklik.migrate import alembic_config, upgrade


def test_single_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, heads


def test_upgrade_from_empty_database(database_url: str) -> None:
    name = f"otklik_mig_{uuid.uuid4().hex[:8]}"
    admin = to_libpq_url(database_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(to_async_url(database_url)).set(database=name)
        upgrade(url.render_as_string(hide_password=False))
        with psycopg.connect(to_libpq_url(url.render_as_string(hide_password=False))) as conn:
            tables = {
                r[0]
                for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            }
        assert {"organizations", "users", "audit_log", "alembic_version"} <= tables
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
