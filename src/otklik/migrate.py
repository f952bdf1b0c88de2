"""Running Alembic migrations from code (CLI, demo, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

ROOT = Path(__file__).resolve().parents[2]


def alembic_config() -> Config:
    return Config(str(ROOT / "alembic.ini"))


def upgrade(url: str | None = None, connection: Connection | None = None) -> None:
    """Apply all migrations. ``url`` may be async-flavoured; Alembic runs synchronously."""
    cfg = alembic_config()
    if connection is not None:
        cfg.attributes["connection"] = connection
    elif url is not None:
        cfg.attributes["url"] = url
    command.upgrade(cfg, "head")
