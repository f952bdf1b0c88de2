"""``otklik db backup`` / ``otklik db restore``: pg_dump's custom format, whole database.

The tools come from the embedded server's package (``pgserver``, the same major version as the
embedded PostgreSQL), else from the system's PATH; they work against any database URL. The
password travels in the environment (PGPASSWORD), never on a command line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from otklik.errors import DomainError


class BackupFailed(DomainError):
    code = "backup_failed"


def tool(name: str) -> str:
    try:
        from pgserver._commands import POSTGRES_BIN_PATH

        bundled: Path | None = Path(POSTGRES_BIN_PATH) / name
    except ImportError:
        bundled = None
    if bundled is not None and bundled.exists():
        return str(bundled)
    found = shutil.which(name)
    if found is None:
        raise BackupFailed(f"не найдена программа {name} (PostgreSQL).")
    return found


def _target(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and the environment that carries it."""
    parsed = make_url(url).set(drivername="postgresql")
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return parsed.set(password=None).render_as_string(hide_password=False), env


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["без сообщения"])[-1]
        raise BackupFailed(f"{Path(args[0]).name} завершился с ошибкой: {last}")


def backup(url: str, file: Path) -> None:
    dsn, env = _target(url)
    _run([tool("pg_dump"), "--format=custom", "--no-owner", f"--file={file}", dsn], env)


def restore(url: str, file: Path) -> None:
    """Restore into an empty database (refused when it already holds tables)."""
    if not file.is_file():
        raise BackupFailed(f"файл {file} не найден.")
    dsn, env = _target(url)
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(libpq) as c:
            row = c.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', "
                "'information_schema')"
            ).fetchone()
    except psycopg.OperationalError:
        raise BackupFailed("нет соединения с базой данных.") from None
    if row and row[0]:
        raise BackupFailed(
            "база данных не пуста: восстановление выполняется только в пустую базу "
            "(создайте новую и укажите её в OTKLIK_DATABASE_URL)."
        )
    _run(
        [
            tool("pg_restore"),
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={dsn}",
            str(file),
        ],
        env,
    )
