"""``otklik outreach``: re-plan the messages held by quiet hours."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

outreach_app = typer.Typer(help="Приглашения и их доставка.", no_args_is_help=True)
out = Console()


@outreach_app.command("replan-held")
def replan_held(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Показать, что изменится, ничего не меняя")
    ] = False,
) -> None:
    """Пересчитать время отправки сообщений, ожидающих окончания «тихих часов», по текущим
    настройкам OTKLIK_QUIET_HOURS_START / OTKLIK_QUIET_HOURS_END."""
    from otklik.config import get_settings
    from otklik.kit.cli import run_in_session
    from otklik.outreach.service import replan_held as replan

    settings = get_settings()
    done = run_in_session(settings, lambda s: replan(s, settings, apply=not dry_run))
    quiet = settings.quiet_hours
    window = f"с {quiet[0]}:00 до {quiet[1]}:00" if quiet else "отключены"
    verb = "будет перенесено" if dry_run else "перенесено"
    out.print(
        f"Тихие часы: {window} (местное время получателя). Ожидали отправки: {done.held}; "
        f"{verb}: {done.moved}, из них к отправке сейчас: {done.released}."
        + (" Ничего не изменено." if dry_run else ""),
        highlight=False,
    )
