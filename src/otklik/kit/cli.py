"""Command-line helpers shared by ``otklik.cli`` and the domains' own command groups."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings, SettingsError
from otklik.db import (
    DatabaseUnavailable,
    create_engine,
    resolve_database_url,
    session_factory,
    transaction,
)
from otklik.errors import DomainError

T = TypeVar("T")
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[red]Ошибка:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def run_in_session(settings: Settings, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``fn`` in one transaction against the configured database; friendly errors."""

    async def main() -> T:
        engine = create_engine(resolve_database_url(settings))
        try:
            async with transaction(session_factory(engine)) as session:
                return await fn(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        fail(exc.message)
    except (SettingsError, DatabaseUnavailable) as exc:
        fail(str(exc))
    except (OSError, OperationalError, InterfaceError) as exc:
        fail(f"нет соединения с базой данных ({exc.__class__.__name__}).")
    raise AssertionError("unreachable")
