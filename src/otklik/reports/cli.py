"""``otklik reports quarterly``: a quarterly report to a file, on demand."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

reports_app = typer.Typer(help="Квартальные отчёты.", no_args_is_help=True)
out = Console(width=120)


@reports_app.command("quarterly")
def quarterly(
    period: Annotated[str, typer.Option("--period", help="Квартал: 2026-Q3")],
    scope: Annotated[
        str,
        typer.Option(
            "--scope",
            help="country, region:<код>, founder:<код учредителя>, organization:<ОГРН>",
        ),
    ],
    out_file: Annotated[Path, typer.Option("--out", help="Куда записать файл")],
    fmt: Annotated[str, typer.Option("--format", help="pdf или xlsx")] = "pdf",
) -> None:
    """Составить квартальный отчёт по области и записать его в файл."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from otklik.config import get_settings
    from otklik.kit.cli import fail, run_in_session
    from otklik.reports import service

    if out_file.is_dir():
        fail(f"--out: «{out_file}» — это каталог, укажите имя файла.")
    if not out_file.parent.exists():
        fail(f"--out: каталога «{out_file.parent}» нет.")

    async def progress(pct: int, stage: str) -> None:
        out.print(f"{pct:3d} % {stage}", highlight=False)

    async def run(session: AsyncSession) -> tuple[bytes, service.ReportData]:
        return await service.make(session, scope, period, fmt, progress)

    content, data = run_in_session(get_settings(), run)
    try:
        out_file.write_bytes(content)
    except OSError as exc:
        fail(f"не удалось записать «{out_file}»: {exc.strerror}.")
    note = " Анкет за квартал нет: отчёт говорит об этом." if data.no_data else ""
    out.print(
        f"Отчёт «{data.unit.name}» за {data.period.label} записан: {out_file} "
        f"({len(content) // 1024 + 1} КБ).{note}",
        highlight=False,
    )
