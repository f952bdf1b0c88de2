"""Command-line helpers shared by ``otklik.cli`` and the domains' own command groups."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError
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
UNDEFINED_TABLE = "42P01"  # a table of the schema is missing: migrations were not applied
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
    except ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) != UNDEFINED_TABLE:
            raise
        fail("база данных не подготовлена: сначала выполните «otklik db upgrade».")
    raise AssertionError("unreachable")


# --- Click's own usage errors, in Russian ---
# Typer's parser (a copy of Click's) phrases its errors in English. The command line answers
# each kind in Russian, from the exception's kind and parameter, never with a traceback. The
# kinds are told apart by class name (Typer keeps its copy of Click's classes private).

_QUOTED = re.compile(r"'([^']*)'")
_NO_SUCH_COMMAND = re.compile(r"No such command '(.*)'")
_EXTRA = re.compile(r"unexpected extra argument(?:s|\(s\))? \((.*)\)")
_RUSSIAN = re.compile("[а-яё]", re.I)


def _kinds(obj: object) -> set[str]:
    return {c.__name__ for c in type(obj).__mro__}


def _is_argument(param: Any) -> bool:
    return any(kind.endswith("Argument") for kind in _kinds(param))


def _param_name(param: Any) -> str:
    opts = [str(o) for o in getattr(param, "opts", None) or () if str(o).startswith("-")]
    if opts and not _is_argument(param):
        return max(opts, key=len)
    return str(getattr(param, "name", None) or "?")


def _expected(param: Any) -> str:
    """What the parameter takes, from its annotation (Typer's type descriptor)."""
    descriptor = getattr(param, "type_descriptor", None)
    choices = getattr(descriptor, "choices", None)
    if choices:
        return "допустимые значения: " + ", ".join(str(getattr(c, "value", c)) for c in choices)
    annotation = getattr(descriptor, "annotation", None)
    if annotation is bool:
        return "ожидается да или нет (true/false)"
    if annotation is int:
        return "ожидается целое число"
    if annotation is float:
        return "ожидается число"
    if annotation in (date, datetime):
        return "ожидается дата ГГГГ-ММ-ДД"
    if annotation is Path:
        return "нет такого файла или к нему нет доступа"
    return "значение не подходит"


def _given(exc: Exception, message: str) -> str | None:
    """The refused value: from the validation error behind the exception, or quoted in it."""
    errors = getattr(exc.__cause__, "errors", None)
    if callable(errors):
        try:
            given = errors()[0].get("input")
        except (IndexError, TypeError, AttributeError, ValueError):
            given = None
        if isinstance(given, str):
            return given
    found = _QUOTED.search(message)
    return found.group(1) if found else None


def usage_error(exc: Exception) -> str:
    """The Russian message for one of the parser's own errors (without the final full stop)."""
    kinds, message = _kinds(exc), str(getattr(exc, "message", "") or "")
    param = getattr(exc, "param", None)
    if "NoSuchOption" in kinds:
        text = f"нет такого параметра: {getattr(exc, 'option_name', '?')}"
        possibilities = sorted(getattr(exc, "possibilities", None) or ())
        if possibilities:
            text += "; возможно, имелось в виду: " + ", ".join(possibilities)
        return text
    if "MissingParameter" in kinds:
        if _is_argument(param) or getattr(exc, "param_type", None) == "argument":
            return f"не указан аргумент «{_param_name(param)}»"
        return f"не указан обязательный параметр «{_param_name(param)}»"
    if "BadParameter" in kinds:
        if param is None:
            return "недопустимое значение"
        if _RUSSIAN.search(_QUOTED.sub("", message)):  # our validators speak Russian already
            return f"параметр «{_param_name(param)}»: {message.rstrip('.')}"
        given = _given(exc, message)
        value = f" «{given[:60]}»" if given is not None else ""
        return f"недопустимое значение{value} параметра «{_param_name(param)}»: {_expected(param)}"
    if "BadOptionUsage" in kinds:
        name = getattr(exc, "option_name", "?")
        if "requires" in message:
            return f"параметру «{name}» нужно значение"
        if "does not take" in message:
            return f"параметр «{name}» не принимает значения"
        return f"неверное использование параметра «{name}»"
    if "FileError" in kinds:
        return f"не удалось открыть файл «{getattr(exc, 'ui_filename', '?')}»"
    if "UsageError" in kinds:
        found = _NO_SUCH_COMMAND.search(message)
        if found:
            return f"нет такой команды: «{found.group(1)}»"
        found = _EXTRA.search(message)
        if found:
            return f"лишние аргументы: {found.group(1)}"
        if "Missing command" in message:
            return "не указана команда"
        return "неверный вызов команды"
    return message.rstrip(".") if _RUSSIAN.search(message) else "команда не выполнена"


def run_app(command: Any, args: Sequence[str] | None = None) -> int:
    """Run the command line (``typer.main.get_command(app)``); returns the exit code. The
    parser's own errors answer in Russian with the exit code 2, and a pointer to the help."""
    try:
        result = command.main(args=args, prog_name="otklik", standalone_mode=False)
    except typer.Abort:
        err.print("Прервано.", highlight=False)
        return 1
    except typer.TyperException as exc:
        code = int(getattr(exc, "exit_code", 1))
        if "NoArgsIsHelpError" in _kinds(exc):  # the help is printed already: nothing to add
            return code
        err.print(f"[red]Ошибка:[/red] {usage_error(exc)}.", highlight=False, soft_wrap=True)
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            err.print(f"Справка: {ctx.command_path} --help", highlight=False, soft_wrap=True)
        return code
    return result if isinstance(result, int) else 0
