"""``otklik mszu``: import application statistics from a file, close a reported quarter."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn

mszu_app = typer.Typer(help="Перечень МСЗУ и статистика заявлений.", no_args_is_help=True)
out = Console(width=120)
err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[red]Ошибка:[/red] {message}", highlight=False)
    raise typer.Exit(2)


@mszu_app.command("import-statistics")
def import_statistics(
    source: Annotated[str, typer.Option("--source", help="Имя информационной системы")],
    file: Annotated[Path, typer.Argument(help="CSV, XLSX или NDJSON")],
) -> None:
    """Принять статистику заявлений из файла с теми же проверками, что и в API."""
    from otklik.config import get_settings
    from otklik.db import create_engine, resolve_database_url, session_factory, transaction
    from otklik.errors import DomainError
    from otklik.intake import repository as intake_repository
    from otklik.kit.tabular import FileProblem, write_error_report
    from otklik.mszu.statistics import FileReport, ingest_file, read_rows

    settings = get_settings()

    async def main() -> FileReport:
        engine = create_engine(resolve_database_url(settings))
        try:
            async with transaction(session_factory(engine)) as session:
                src = await intake_repository.get_source_by_name(session, source)
                if src is None or not src.is_active:
                    raise DomainError(f"Источник «{source}» не найден или отключён.")
                rows = read_rows(file, settings.import_max_bytes)
                with Progress(
                    SpinnerColumn(), TextColumn("{task.description}"), console=err, transient=True
                ) as bar:
                    task = bar.add_task("Приём статистики…")

                    async def commit() -> None:
                        await session.commit()
                        bar.update(task, description="Приём статистики…")

                    return await ingest_file(session, src.id, rows, after_chunk=commit)
        finally:
            await engine.dispose()

    try:
        report = asyncio.run(main())
    except (DomainError, FileProblem) as exc:
        _fail(exc.message)
    except OSError as exc:
        _fail(f"нет соединения с базой данных ({exc.__class__.__name__}).")
    out.print(
        f"Строк: {report.rows}; новых: {report.accepted}; заменено: {report.replaced}; "
        f"повторов: {report.duplicates}; отклонено: {report.rejected}."
    )
    if report.errors:
        path = file.with_name(file.name + ".errors.csv")
        write_error_report(path, report.errors, ["Строка", "Поле", "Код", "Сообщение"])
        for line, field, code, message in report.errors[:10]:
            err.print(f"  строка {line}, поле {field or '—'}: {message} [{code}]", highlight=False)
        err.print(f"Полный отчёт об ошибках: {path}")
        raise typer.Exit(3)


@mszu_app.command("close-quarter")
def close_quarter(
    quarter: Annotated[str, typer.Argument(help="Квартал, например 2026-Q3")],
) -> None:
    """Закрыть отчётный квартал: его статистику больше нельзя добавить или заменить."""
    from otklik.config import get_settings
    from otklik.errors import DomainError
    from otklik.indicators.periods import parse_period
    from otklik.kit.cli import run_in_session
    from otklik.mszu import repository

    try:
        p = parse_period(quarter)
    except DomainError as exc:
        _fail(exc.message)
    if p.kind != "quarter":
        _fail("укажите квартал в виде 2026-Q3.")
    added = run_in_session(get_settings(), lambda s: repository.add_closure(s, p.start, "cli"))
    out.print("Квартал закрыт." if added else "Квартал уже был закрыт.")
