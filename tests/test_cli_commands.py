"""Every ``otklik`` command as a user runs it: a subprocess against a freshly migrated database.

Good and bad arguments; each answer is an exit code and a Russian message, never a traceback.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import typer
from sqlalchemy import make_url

from otklik import cli
from otklik.config import get_settings
from otklik.db import to_libpq_url
from tests.factories import snils

OTKLIK = [str(Path(sys.executable).with_name("otklik"))]


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture(scope="module")
def fresh_url(database_url: str) -> Iterator[str]:
    """An empty database next to the test database (created here, dropped afterwards)."""
    url = make_url(to_libpq_url(database_url))
    name = f"{url.database}_cli"
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def otklik(url: str, tmp: Path, *args: str, stdin: str = "", **env: str) -> Run:
    environ = {
        **os.environ,
        "OTKLIK_DATABASE_URL": url,
        "OTKLIK_DATA_DIR": str(tmp),
        "OTKLIK_ENV": "test",
        "COLUMNS": "200",
        **env,
    }
    done = subprocess.run(  # noqa: S603
        [*OTKLIK, *args], input=stdin, capture_output=True, text=True, env=environ, timeout=300
    )
    run = Run(done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in run.text, (args, run.text)
    return run


def test_every_command_from_a_fresh_database(fresh_url: str, tmp_path: Path) -> None:
    def ok(*args: str, stdin: str = "", expect: str = "") -> Run:
        run = otklik(fresh_url, tmp_path, *args, stdin=stdin)
        assert run.code == 0, (args, run.text)
        assert expect in run.text, (args, run.text)
        return run

    def refused(*args: str, code: int = 1, expect: str = "", **env: str) -> Run:
        run = otklik(fresh_url, tmp_path, *args, **env)
        assert run.code == code, (args, run.code, run.text)
        assert expect in run.text, (args, run.text)
        return run

    ok("--help", expect="Отклик")
    # before the first upgrade a command says what to do, not a traceback
    refused("indicators", "fold", expect="otklik db upgrade")
    refused("indicators", "compute", expect="otklik db upgrade")
    ok("db", "upgrade", expect="База данных обновлена.")
    ok("db", "upgrade", expect="База данных обновлена.")  # again: nothing to do, no error
    password = "correct horse battery\n"
    ok(
        "users",
        "create",
        "--email",
        "admin@example.ru",
        "--role",
        "admin",
        "--password-stdin",
        stdin=password,
        expect="Пользователь создан",
    )
    refused("users", "create", "--email", "admin@example.ru", "--role", "admin", expect="Ошибка")
    refused("users", "create", "--email", "не почта", "--role", "admin", expect="Ошибка")
    refused(
        "users",
        "create",
        "--email",
        "o@example.ru",
        "--role",
        "organization",
        "--scope",
        "organization:1234567890123",
        expect="Ошибка",
    )
    refused(
        "users",
        "create",
        "--email",
        "x@example.ru",
        "--role",
        "king",
        code=2,
        expect="недопустимое значение «king» параметра «--role»: допустимые значения: citizen",
    )
    ok(
        "users",
        "create",
        "--email",
        "op@example.ru",
        "--role",
        "is_operator",
        expect="Пользователь создан",
    )
    token = ok("users", "token", "admin@example.ru").out.strip()
    assert token.startswith("otk_")
    refused("users", "token", "nobody@example.ru", expect="Пользователь не найден")
    key = ok("sources", "create", "mis-1").out.strip()
    assert key.startswith("otks_")
    refused("sources", "create", "mis-1", expect="Ошибка")
    refused("sources", "create", "МИС 1", expect="латинские буквы")
    ok("sources", "link", "mis-1", "--email", "op@example.ru", expect="связан")
    refused("sources", "link", "нет-такой", "--email", "op@example.ru", expect="Ошибка")
    refused("sources", "link", "mis-1", "--email", "nobody@example.ru", expect="Ошибка")
    refused("registry", "import", "planets", str(tmp_path / "x.csv"), expect="Ошибка")
    refused("registry", "import", "organizations", str(tmp_path / "missing.csv"), expect="Ошибка")
    bad = tmp_path / "records.csv"
    with bad.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "record_id",
                "organization_ogrn",
                "service_code",
                "served_at",
                "recipient_snils",
                "recipient_birth_date",
            ]
        )
        w.writerow(
            [
                '=HYPERLINK("http://evil.example")',
                "1027700132195",
                "x.y",
                "2026-01-01T10:00:00+03:00",
                snils(),
                "1980-05-01",
            ]
        )
    refused("intake", "import", "--source", "mis-1", str(bad), code=3, expect="Полный отчёт")
    report = (tmp_path / "records.csv.errors.csv").read_text("utf-8-sig")
    assert "'=HYPERLINK" in report
    assert "\n=" not in report
    refused("intake", "import", "--source", "нет-такой", str(bad), expect="Ошибка")
    refused("intake", "import", "--source", "mis-1", str(tmp_path / "none.csv"), expect="Ошибка")
    refused(
        "intake",
        "consume",
        "--source",
        "mis-1",
        "--nats-url",
        "nats://127.0.0.1:9",
        "--once",
        expect="Ошибка",
    )
    ok("outbox", "list", expect="Сообщений пока нет.")
    ok("outbox", "list", "--json")
    refused(
        "outbox",
        "list",
        expect="канал log",
        OTKLIK_ENV="production",
        OTKLIK_SECRET_KEY="s" * 40,
        OTKLIK_PII_KEY="p" * 40,
    )
    ok("indicators", "compute", "--period", "2026-11", expect="Период")
    refused("indicators", "compute", "--period", "2026-13", expect="Месяц 13 не существует")
    ok("indicators", "fold", expect="Очередь показателей учтена")
    ok("worker", "--once")
    ok("insights", "analyse", "--limit", "10")
    # the insights commands answer a bad file with exit code 2 (tests/insights/test_cli.py)
    labels = str(tmp_path / "none.csv")
    refused("insights", "evaluate", "--labels", labels, code=2, expect="Файл не найден")
    refused(
        "users",
        "token",
        "admin@example.ru",
        expect="Ошибка",
        OTKLIK_DATABASE_URL="postgresql://postgres@127.0.0.1:9/none",
    )
    secrets = refused(
        "serve",
        expect="Запуск в рабочем режиме невозможен: OTKLIK_SECRET_KEY слишком короткий",
        OTKLIK_ENV="production",
        OTKLIK_SECRET_KEY="short",
    )
    assert "OTKLIK_PII_KEY не задан" in " ".join(secrets.text.split())
    refused(
        "demo",
        expect="Ошибка",
        OTKLIK_ENV="production",
        OTKLIK_SECRET_KEY="s" * 40,
        OTKLIK_PII_KEY="p" * 40,
    )
    refused("no-such-command", code=2, expect="Ошибка: нет такой команды: «no-such-command».")
    refused("intake", "import", code=2, expect="Ошибка: не указан аргумент «file».")
    refused("db", "backup", "--bogus", "x", code=2, expect="нет такого параметра: --bogus")


def _command_paths() -> list[tuple[str, ...]]:
    """Every leaf command of ``otklik`` (groups walked), as the words a user types."""
    import typer.main

    from otklik.cli import app

    paths: list[tuple[str, ...]] = []

    def walk(cmd: object, path: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, (*path, name))
        else:
            paths.append(path)

    walk(typer.main.get_command(app), ())
    return paths


def test_every_command_refuses_development_secrets_in_production(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 21: one start-up check for all entry points (serve, worker, every CLI command).
    Every command runs through the console script's entry point in process (the check comes
    before any argument of the command is read); two of them also as real subprocesses."""
    paths = _command_paths()
    # the commands the issue names must be among those walked
    for must in (("serve",), ("worker",), ("intake", "import"), ("db", "backup")):
        assert must in paths
    monkeypatch.setenv("OTKLIK_DATABASE_URL", "postgresql://postgres@127.0.0.1:9/unused")
    monkeypatch.setenv("OTKLIK_ENV", "production")
    monkeypatch.setenv("OTKLIK_SECRET_KEY", "dev-secret-change-me")
    monkeypatch.setenv("OTKLIK_PII_KEY", "dev-pii-key-change-me")
    for path in paths:
        if path == ("demo",):  # switches itself to OTKLIK_ENV=demo; refuses production itself
            continue
        monkeypatch.setattr(sys, "argv", ["otklik", *path])
        get_settings.cache_clear()  # the settings of this environment, not the suite's
        try:
            with pytest.raises(SystemExit) as exited:
                cli.main()
        finally:
            get_settings.cache_clear()
        captured = capsys.readouterr()
        text = " ".join((captured.out + captured.err).split())
        assert exited.value.code == 1, (path, exited.value.code, text)
        assert "Запуск в рабочем режиме невозможен" in text, (path, text)
        assert "OTKLIK_SECRET_KEY" in text, (path, text)
        assert "OTKLIK_PII_KEY" in text, (path, text)
    for path in (("serve",), ("intake", "import")):
        run = otklik(
            "postgresql://postgres@127.0.0.1:9/unused",
            tmp_path,
            *path,
            OTKLIK_ENV="production",
            OTKLIK_SECRET_KEY="dev-secret-change-me",
            OTKLIK_PII_KEY="dev-pii-key-change-me",
        )
        assert run.code == 1, (path, run.code, run.text)
        assert "Запуск в рабочем режиме невозможен" in " ".join(run.err.split()), run.text
    # a help text is not a run: it still answers
    shown = otklik(
        "postgresql://x@127.0.0.1:9/x", tmp_path, "worker", "--help", OTKLIK_ENV="production"
    )
    assert shown.code == 0, shown.text
    assert "worker" in shown.out


def test_bad_setting_is_a_russian_message_not_a_traceback(tmp_path: Path) -> None:
    run = otklik(
        "postgresql://postgres@127.0.0.1:9/unused",
        tmp_path,
        "worker",
        "--once",
        OTKLIK_SMTP_PORT="двадцать пять",
    )
    assert run.code == 1, run.text
    assert "неверные настройки: OTKLIK_SMTP_PORT" in run.err


def test_outreach_replan_held_command(fresh_url: str, tmp_path: Path) -> None:
    """Issue 21: the documented command that re-plans held messages (docs/outreach.md)."""
    assert otklik(fresh_url, tmp_path, "db", "upgrade").code == 0
    dry = otklik(fresh_url, tmp_path, "outreach", "replan-held", "--dry-run")
    assert dry.code == 0, dry.text
    assert "Ничего не изменено" in dry.out
    done = otklik(
        fresh_url,
        tmp_path,
        "outreach",
        "replan-held",
        OTKLIK_QUIET_HOURS_START="22",
        OTKLIK_QUIET_HOURS_END="8",
    )
    assert done.code == 0, done.text
    assert "с 22:00 до 8:00" in done.out
    assert "перенесено: 0" in done.out


# --- the parser's own errors: every command, in process (no database is reached) ---

ENGLISH = ("Usage:", "Error", "Try '", "No such", "Missing", "Invalid value", "Got unexpected")


def _commands() -> list[tuple[list[str], Any]]:
    """(path, command) of every group and command of ``otklik``."""
    found: list[tuple[list[str], Any]] = []

    def walk(path: list[str], command: Any) -> None:
        found.append((path, command))
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk([*path, name], sub)

    walk([], typer.main.get_command(cli.app))
    return found


def _usage(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run ``otklik ARGS`` through the console script's entry point, ``otklik.cli:main``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "argv", ["otklik", *args])
        mp.setenv("COLUMNS", "200")
        mp.setenv("OTKLIK_ENV", "test")  # the settings check passes: the parser's errors show
        get_settings.cache_clear()
        try:
            with pytest.raises(SystemExit) as exited:
                cli.main()
        finally:
            get_settings.cache_clear()
    code = exited.value.code
    captured = capsys.readouterr()
    text = " ".join((captured.out + captured.err).split())
    assert code == 2, (args, code, text)
    assert "Traceback" not in text, (args, text)
    for word in ENGLISH:
        assert word not in text, (args, word, text)
    assert text.startswith("Ошибка: "), (args, text)
    return text


def test_usage_errors_are_russian_for_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    commands = _commands()
    bad_values = missing = 0
    for path, command in commands:
        where = " ".join(["otklik", *path])
        text = _usage(capsys, *path, "--zzz")
        assert "нет такого параметра: --zzz." in text, text
        assert text.endswith(f"Справка: {where} --help"), text
        if getattr(command, "commands", None):
            text = _usage(capsys, *path, "no-such-command")
            assert "нет такой команды: «no-such-command»." in text, text
            continue
        params = [p for p in command.params if p.name != "help"]
        required = [p for p in params if p.required]
        if required:
            missing += 1
            text = _usage(capsys, *path)
            named = [
                f"не указан аргумент «{p.name}»."
                if type(p).__name__.endswith("Argument")
                else f"не указан обязательный параметр «{max(p.opts, key=len)}»."
                for p in required
            ]
            assert any(n in text for n in named), (text, named)
        for p in params:
            descriptor = getattr(p, "type_descriptor", None)
            kind = getattr(descriptor, "annotation", None)
            choices = getattr(descriptor, "choices", None)
            option = [o for o in p.opts if o.startswith("--")]
            if not option or not (choices or kind in (int, float)):
                continue
            bad_values += 1
            text = _usage(capsys, *path, option[0], "не-то")
            expected = "допустимые значения: " if choices else "ожидается "
            assert f"недопустимое значение «не-то» параметра «{option[0]}»: {expected}" in text
    # the walk really reached the commands: 25 or so, a dozen required, several typed
    assert len(commands) >= 25
    assert missing >= 8
    assert bad_values >= 5


def test_extra_arguments_and_missing_values_are_russian(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = _usage(capsys, "users", "token", "a@example.ru", "b", "c")
    assert "лишние аргументы: b c." in text
    text = _usage(capsys, "users", "create", "--email")
    assert "параметру «--email» нужно значение." in text
