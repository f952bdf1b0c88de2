"""The ``otklik`` command line."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.ext.asyncio import AsyncSession
from typer.core import TyperGroup

import otklik.models  # noqa: F401 - every table, so foreign keys between domains resolve
from otklik.config import Settings, SettingsError, get_settings
from otklik.db import (
    DatabaseUnavailable,
    create_engine,
    resolve_database_url,
    session_factory,
)
from otklik.errors import DomainError
from otklik.identity.audit import Actor, record_import
from otklik.identity.roles import Role
from otklik.insights.cli import insights_app
from otklik.kit.cli import err, fail, run_app, run_in_session
from otklik.mszu.cli import mszu_app
from otklik.outreach.cli import outreach_app
from otklik.reports.cli import reports_app

T = TypeVar("T")


class _Root(TyperGroup):
    """The root group notes whether the command line asks for a help text: the settings check
    (``check_settings``) runs before the subcommand reads its own arguments."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        ctx.meta["otklik.help"] = "--help" in rest
        return super().invoke(ctx)


app = typer.Typer(
    cls=_Root,
    help="Отклик: оценка гражданами качества услуг.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="База данных.", no_args_is_help=True)
users_app = typer.Typer(help="Учётные записи.", no_args_is_help=True)
sources_app = typer.Typer(help="Информационные системы.", no_args_is_help=True)
registry_app = typer.Typer(help="Реестр.", no_args_is_help=True)
intake_app = typer.Typer(help="Приём записей об оказанных услугах.", no_args_is_help=True)
outbox_app = typer.Typer(help="Сообщения канала log.", no_args_is_help=True)
indicators_app = typer.Typer(help="Показатели.", no_args_is_help=True)
exchange_app = typer.Typer(help="Передача анкет во внешние системы.", no_args_is_help=True)
keys_app = typer.Typer(help="Ключи шифрования персональных данных.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(sources_app, name="sources")
app.add_typer(registry_app, name="registry")
app.add_typer(intake_app, name="intake")
app.add_typer(outbox_app, name="outbox")
app.add_typer(insights_app, name="insights")
app.add_typer(mszu_app, name="mszu")
app.add_typer(indicators_app, name="indicators")
app.add_typer(exchange_app, name="exchange")
app.add_typer(reports_app, name="reports")
app.add_typer(outreach_app, name="outreach")
app.add_typer(keys_app, name="keys")
out = Console()
CLI_ACTOR = Actor.system("cli")
# Commands that choose their own mode (``demo`` switches to OTKLIK_ENV=demo itself).
NO_SETTINGS_CHECK = frozenset({"demo"})
WORKER_HEALTHCHECK_SECONDS = 120


@app.callback()
def check_settings(ctx: typer.Context) -> None:
    """Отклик: оценка гражданами качества услуг."""
    # One start-up check for every entry point: a command run in production mode with the
    # development secrets would read or write personal data under keys nobody else uses
    # (another person key, contacts sealed under the wrong key), so it refuses here.
    if ctx.invoked_subcommand in NO_SETTINGS_CHECK or ctx.meta.get("otklik.help"):
        return
    try:
        settings = get_settings()
    except ValidationError as exc:
        where = ", ".join(
            "OTKLIK_" + str(e["loc"][0]).upper() for e in exc.errors() if e.get("loc")
        )
        fail(f"неверные настройки: {where or 'OTKLIK_*'}.")
        return
    try:
        settings.check_secrets()
        if settings.dkim_selector:  # a missing DKIM key: said now, not by every worker cycle
            from otklik.outreach.mail import DkimSigner

            DkimSigner.from_settings(settings)
    except SettingsError as exc:
        fail(str(exc))


def migrate(settings: Settings) -> list[str]:
    """Apply the migrations and load the built-in data; what was loaded, one line per kind."""
    from otklik.bootstrap import load_builtin
    from otklik.migrate import upgrade

    try:
        upgrade(resolve_database_url(settings))
    except DatabaseUnavailable as exc:
        fail(str(exc))
    return run_in_session(settings, load_builtin).lines()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Применить миграции и загрузить встроенные справочники, анкету и методику."""
    lines = migrate(get_settings())
    out.print("Встроенные данные:")
    for line in lines:
        out.print(f"  {line}", highlight=False)
    out.print("База данных обновлена.")


@db_app.command("backup")
def db_backup(
    file: Annotated[Path, typer.Argument(help="Файл копии (формат pg_dump custom)")],
) -> None:
    """Сохранить резервную копию всей базы данных в файл."""
    from otklik.backup import backup

    url = _url_or_fail(get_settings())
    try:
        backup(url, file)
    except DomainError as exc:
        fail(exc.message)
    out.print(f"Резервная копия сохранена: {file}", highlight=False)


@db_app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="Файл копии, сделанной otklik db backup")],
) -> None:
    """Восстановить базу данных из резервной копии (только в пустую базу)."""
    from otklik.backup import restore

    url = _url_or_fail(get_settings())
    try:
        restore(url, file)
    except DomainError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"нет соединения с базой данных ({exc.__class__.__name__}).")
    out.print("База данных восстановлена из резервной копии.")


def _url_or_fail(settings: Settings) -> str:
    try:
        return resolve_database_url(settings)
    except (SettingsError, DatabaseUnavailable) as exc:
        fail(str(exc))
    raise AssertionError("unreachable")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option("--email", help="Электронная почта")],
    role: Annotated[Role, typer.Option("--role", help="Роль")],
    scope: Annotated[
        str | None,
        typer.Option(
            "--scope", help="organization:<ОГРН>, region:<код>, founder:<код> или country"
        ),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Прочитать пароль из stdin")
    ] = False,
) -> None:
    """Создать учётную запись."""
    from otklik.identity.service import create_user

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    run_in_session(
        get_settings(),
        lambda s: create_user(s, CLI_ACTOR, email=email, role=role, scope=scope, password=password),
    )
    out.print(f"Пользователь создан: роль {role.value}.")


@users_app.command("token")
def users_token(email: str, name: Annotated[str, typer.Option(help="Назначение")] = "cli") -> None:
    """Выпустить персональный токен API (показывается один раз)."""
    from otklik.identity import repository
    from otklik.identity.service import create_api_token

    async def go(session: AsyncSession) -> str:
        user = await repository.get_user_by_email(session, email)
        if user is None:
            raise DomainError("Пользователь не найден.")
        return await create_api_token(session, user, name)

    out.print(run_in_session(get_settings(), go), highlight=False)


@sources_app.command("create")
def sources_create(name: str) -> None:
    """Зарегистрировать информационную систему и вывести её ключ API (один раз)."""
    from otklik.intake.service import create_source

    _, key = run_in_session(get_settings(), lambda s: create_source(s, CLI_ACTOR, name))
    err.print("Ключ API (сохраните его, повторно он не показывается):")
    out.print(key, highlight=False)


@sources_app.command("link")
def sources_link(
    name: str, email: Annotated[str, typer.Option("--email", help="Оператор ИС")]
) -> None:
    """Разрешить оператору загружать файлы от имени информационной системы."""
    from otklik.intake.service import link_operator

    run_in_session(get_settings(), lambda s: link_operator(s, CLI_ACTOR, email, name))
    out.print("Оператор связан с информационной системой.")


@registry_app.command("import")
def registry_import(
    kind: Annotated[str, typer.Argument(help="organizations, services или life_situations")],
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8 или cp1251) или XLSX")],
) -> None:
    """Импортировать записи реестра с построчным отчётом об ошибках."""
    from otklik.registry.service import ImportReport, import_file

    settings = get_settings()
    with Progress(
        TextColumn("Импорт"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("import", total=None)

        async def go(session: AsyncSession) -> ImportReport:
            report = await import_file(
                session,
                kind,
                file,
                max_bytes=settings.import_max_bytes,
                on_start=lambda total: bar.update(task, total=total),
                progress=lambda n: bar.advance(task, n),
            )
            await record_import(session, CLI_ACTOR, kind, file.name, report.summary())
            return report

        report = run_in_session(settings, go)
    s = report.summary()
    out.print(
        f"Строк: {s['rows']}; добавлено: {s['inserted']}; обновлено: {s['updated']}; "
        f"без изменений: {s['unchanged']}; отклонено: {s['rejected']}."
    )
    if report.errors:
        rows = [(e.row, e.field, e.code, e.message) for e in report.errors]
        _exit_with_errors(file, ["Строка", "Поле", "Код", "Сообщение"], rows)


def _exit_with_errors(file: Path, header: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Write FILE.errors.csv, show the first ten problems and exit with code 3."""
    from otklik.kit.tabular import write_error_report

    path = file.with_name(file.name + ".errors.csv")
    write_error_report(path, rows, header)
    for *where, code, message in rows[:10]:
        place = ", ".join(f"{h.lower()} {v or '—'}" for h, v in zip(header, where, strict=False))
        err.print(f"  {place}: {message} [{code}]", highlight=False)
    if len(rows) > 10:
        err.print(f"  … и ещё {len(rows) - 10}.")
    err.print(f"Полный отчёт об ошибках: {path}")
    raise typer.Exit(3)


@intake_app.command("import")
def intake_import(
    source: Annotated[str, typer.Option("--source", help="Имя информационной системы")],
    file: Annotated[Path, typer.Argument(help="CSV, XLSX или NDJSON")],
) -> None:
    """Принять записи из файла с теми же проверками, что и в API (с отчётом об ошибках)."""
    from otklik.intake.imports import import_records_file

    try:
        report = import_records_file(get_settings(), source, file, err)
    except DomainError as exc:
        fail(exc.message)
    except (SettingsError, DatabaseUnavailable) as exc:
        fail(str(exc))
    out.print(
        f"Записей: {report.rows}; принято: {report.accepted}; повторов: {report.duplicates}; "
        f"отклонено: {report.rejected}."
    )
    if report.errors:
        _exit_with_errors(file, ["Строка", "record_id", "Поле", "Код", "Сообщение"], report.errors)


@intake_app.command("consume")
def intake_consume(
    source: Annotated[str, typer.Option("--source", help="Имя информационной системы")],
    nats_url: Annotated[str | None, typer.Option("--nats-url", help="Адрес NATS")] = None,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Сообщений за раз")] = 1000,
    once: Annotated[bool, typer.Option("--once", help="Выйти, когда очередь пуста")] = False,
) -> None:
    """Принимать записи из NATS JetStream (тема otklik.intake.<источник>)."""
    from otklik.intake.imports import consume_stream

    settings = get_settings()
    try:
        total = consume_stream(settings, source, nats_url or settings.nats_url, batch, once)
    except (OSError, LookupError) as exc:
        fail(f"не удалось начать приём из NATS: {exc}")
    out.print(
        f"Принято: {total.accepted}; повторов: {total.duplicates}; отклонено: {total.rejected}."
    )


def _serve(
    settings: Settings,
    port: int,
    host: str,
    *,
    with_worker: bool,
    extra: Coroutine[Any, Any, None] | None = None,
) -> None:
    import uvicorn

    from otklik.app import create_app

    _observe(settings, f"http://{host}:{port}")
    url = resolve_database_url(settings)
    web = create_app(settings, url)
    config = uvicorn.Config(
        web,
        host=host,
        port=port,
        log_level="warning",
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )
    server = uvicorn.Server(config)

    # The worker is a process of its own: a long job (training the comment model, a quarterly
    # report's PDF) takes its own core; in this process (even in a thread, under the GIL) it
    # held the web's requests for seconds.
    workers = [_worker_process(url)] if with_worker else []

    async def watch_worker() -> None:
        # A worker that dies (out of memory, a crash in a native library) is restarted and said
        # aloud: without it, invitations, masking and indicators silently stop in the demo.
        while True:
            await asyncio.sleep(WORKER_WATCH_SECONDS)
            code = workers[0].poll()
            if code is not None:
                typer.echo(
                    f"Фоновый обработчик остановился (код {code}); запускаю его снова.", err=True
                )
                workers[0] = _worker_process(url)

    async def main() -> None:
        tasks = [asyncio.create_task(extra)] if extra is not None else []
        if workers:
            tasks.append(asyncio.create_task(watch_worker()))
        try:
            await server.serve()
        finally:
            for t in tasks:
                t.cancel()

    try:
        asyncio.run(main())
    finally:
        for worker in workers:
            worker.terminate()
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()


WORKER_WATCH_SECONDS = 2.0


def _worker_process(url: str) -> subprocess.Popen[bytes]:
    """``otklik worker`` on ``url`` as a child that the kernel stops when this process dies."""

    def die_with_parent() -> None:
        if sys.platform == "linux":
            import ctypes

            pr_set_pdeathsig = 1
            ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)

    return subprocess.Popen(
        [sys.executable, "-c", "from otklik.cli import main; main()", "worker"],
        env={**os.environ, "OTKLIK_DATABASE_URL": url},
        preexec_fn=die_with_parent,
    )


def _observe(settings: Settings, listen: str | None = None) -> None:
    """Structured logs for this process; metrics shared with the other processes."""
    from otklik.kit import logs, metrics

    logs.configure(settings.log_level, settings.log_format)
    metrics.use_directory(settings.metrics_folder)
    if listen:
        os.environ[logs.LISTEN_ENV] = listen


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Порт")] = 8000,
    host: Annotated[str, typer.Option(help="Адрес")] = "127.0.0.1",
    workers: Annotated[
        int, typer.Option(help="Число процессов сервера (0 — по числу ядер)", min=0)
    ] = 0,
) -> None:
    """Запустить веб-сервер (API и страницы) в нескольких процессах на одном порту."""
    import uvicorn

    settings = get_settings()
    try:
        settings.check_secrets()
        settings.check_networks()
        if settings.dkim_selector:  # a missing DKIM key: said now, not by every worker cycle
            from otklik.outreach.mail import DkimSigner

            DkimSigner.from_settings(settings)
    except SettingsError as exc:
        fail(str(exc))
    _observe(settings, f"http://{host}:{port}")
    # Resolved once here (an embedded PostgreSQL starts in this process and lives as long as
    # it); the worker processes read the URL from the environment.
    os.environ["OTKLIK_DATABASE_URL"] = resolve_database_url(settings)
    uvicorn.run(
        "otklik.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers or _cores(),
        # A new worker process imports every domain before it can answer the supervisor's
        # health ping; on a loaded machine that takes longer than uvicorn's default 5 s, and
        # the supervisor then kills and restarts workers for ever, silently.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        log_level="warning",
        log_config=None,  # each process logs through otklik.kit.logs (JSON, redacted)
        access_log=False,
        proxy_headers=False,
    )


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Выполнить всё, что пора, и выйти")] = False,
) -> None:
    """Запустить фоновый обработчик периодических задач."""
    from otklik.worker import run_due, run_forever

    settings = get_settings()
    _observe(settings)

    async def main() -> None:
        engine = create_engine(resolve_database_url(settings))
        factory = session_factory(engine)
        try:
            if once:
                done = await run_due(factory, settings, drain_seconds=3600)
                out.print(", ".join(f"{k}: {v}" for k, v in done.items()) or "Нечего делать.")
            else:
                await run_forever(factory, settings)
        finally:
            await engine.dispose()

    asyncio.run(main())


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Порт")] = 8000,
    host: Annotated[str, typer.Option(help="Адрес")] = "127.0.0.1",
    size: Annotated[int, typer.Option(help="Число организаций")] = 2000,
    seed_only: Annotated[bool, typer.Option("--seed-only", help="Только заполнить базу")] = False,
) -> None:
    """Демонстрация: встроенная PostgreSQL, миграции, синтетическая страна, сервер."""
    from otklik.demo import history, simulator
    from otklik.demo import improvement as improvement_demo
    from otklik.demo import incidents as incidents_demo
    from otklik.demo import roadmaps as roadmaps_demo
    from otklik.demo import yswd as yswd_demo
    from otklik.demo.seed import DEMO_PASSWORD, seed_demo
    from otklik.identity.roles import ROLE_LABELS

    os.environ.setdefault("OTKLIK_ENV", "demo")
    # The demo sends around the clock so that a visitor always sees invitations flow;
    # the production default holds messages between 21:00 and 09:00 in the region.
    os.environ.setdefault("OTKLIK_QUIET_HOURS_START", "0")
    os.environ.setdefault("OTKLIK_QUIET_HOURS_END", "0")
    os.environ.setdefault("OTKLIK_BASE_URL", f"http://{host}:{port}")
    os.environ.setdefault("OTKLIK_IASMKGU_URL", f"http://127.0.0.1:{port}/demo/iasmkgu/batches")
    get_settings.cache_clear()
    settings = get_settings()
    if not settings.is_dev:
        fail("otklik demo работает только в режиме demo (OTKLIK_ENV=demo).")
    err.print("Подготовка базы данных…")
    migrate(settings)
    err.print("Заполнение демонстрационными данными…")
    logins = run_in_session(settings, lambda s: seed_demo(s, settings.data_dir / "demo", size))
    clinic = next((x.scope or "" for x in logins if x.email == "clinic@demo.otklik.ru"), "")
    clinic = clinic.removeprefix("organization:")
    err.print("Записи об услугах за две недели…")
    key, places = run_in_session(
        settings,
        lambda s: simulator.prepare(s, settings, per_day=max(300, size * 3 // 2), first=clinic),
    )
    err.print("Ответы за прошлые месяцы…")
    ogrns = [p.ogrn for p in places]
    run_in_session(settings, lambda s: history.seed(s, ogrns))
    err.print("Улучшение услуг: паспорта, запросы на изменение, заседание рабочей группы…")
    run_in_session(settings, lambda s: improvement_demo.seed(s, settings))
    err.print("Дорожные карты: мероприятия, отчёты, риск срыва сроков…")
    run_in_session(settings, roadmaps_demo.seed)
    # Incidents, lab studies and measured effects (issue 13): one separate step.
    err.print("Инциденты из сигналов, лабораторные исследования, измеренные эффекты…")
    run_in_session(settings, lambda s: incidents_demo.seed(s, settings))
    err.print("«Вы сказали — мы сделали» демонстрационной поликлиники…")
    run_in_session(settings, yswd_demo.seed)
    # decree 923, issue 14: МСЗУ list, application statistics, priorities, information measures
    from otklik.demo.mszu import seed_mszu_demo

    err.print("Перечень МСЗУ, статистика заявлений, приоритеты…")
    run_in_session(settings, seed_mszu_demo)
    from otklik.demo import reports as reports_demo

    err.print("Квартальные отчёты за прошлый квартал (составит фоновый процесс)…")
    run_in_session(settings, lambda s: reports_demo.seed(s, clinic))
    # The history is back-dated: its rows wait in the DEFAULT partitions. They are moved to
    # their months now, before the worker starts: moving them takes exclusive locks on five
    # tables, and the worker's first planning and reports, reading the same tables, would
    # otherwise deadlock with the partition job.
    from otklik.ops.partitions import maintain_partitions

    err.print("Помесячные разделы таблиц для истории…")
    run_in_session(settings, lambda s: maintain_partitions(s, settings))
    from otklik.db import refresh_statistics

    run_in_session(settings, refresh_statistics)
    out.print(f"\n[bold]Отклик — демонстрация[/bold]: http://{host}:{port}/")
    out.print(f"Пароль всех демонстрационных пользователей: [bold]{DEMO_PASSWORD}[/bold]")
    for login in logins:
        out.print(f"  {login.email:<28} {ROLE_LABELS[login.role]}", highlight=False)
    if not seed_only:
        live = simulator.run_live(f"http://127.0.0.1:{port}", key, places) if places else None
        _serve(settings, port, host, with_worker=True, extra=live)


@outbox_app.command("list")
def outbox_list(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Сколько последних")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="В формате JSON")] = False,
) -> None:
    """Сообщения канала log (только разработка и демонстрация)."""
    import json

    settings = get_settings()
    if not settings.log_channel_enabled:
        fail("канал log включён только в режимах demo и test (OTKLIK_ENV).")
    rows = run_in_session(settings, lambda s: _outbox_rows(s, limit))
    if as_json:
        out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        out.print("Сообщений пока нет.")
    for r in rows:
        out.print(f"{r['created_at'][:16]}  {r['recipient']:<22} {r['link']}", highlight=False)


async def _outbox_rows(session: AsyncSession, limit: int) -> list[dict[str, str]]:
    from otklik.outreach.repository import outbox

    return [
        {
            "created_at": m.created_at.isoformat(),
            "recipient": m.recipient,
            "subject": m.subject,
            "link": m.link,
            "body": m.body,
        }
        for m in await outbox(session, limit)
    ]


@indicators_app.command("compute")
def indicators_compute(
    period: Annotated[
        str | None,
        typer.Option("--period", help="2026, 2026-Q3, 2026-11 или 2026-11-01..2026-11-30"),
    ] = None,
) -> None:
    """Пересчитать итоги показателей за годы периода (по умолчанию — текущий год)."""

    from otklik.indicators.periods import parse_period
    from otklik.indicators.tasks import rebuild
    from otklik.kit.clock import moscow_date

    try:
        p = parse_period(period or str(moscow_date().year))
    except DomainError as exc:
        fail(exc.message)
    with Progress(
        TextColumn("Пересчёт"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task("compute", total=p.days())
        rows = run_in_session(
            get_settings(), lambda s: rebuild(s, p, lambda n: bar.advance(task, n))
        )
    out.print(f"Период {p.label}: пересчитано строк итогов: {rows}.")


@indicators_app.command("fold")
def indicators_fold() -> None:
    """Учесть в показателях все ответы из очереди сейчас (обычно это делает фоновый процесс)."""
    from otklik.indicators.tasks import drain

    rows = run_in_session(get_settings(), drain)
    out.print(f"Очередь показателей учтена: записано строк итогов: {rows}.")


@exchange_app.command("iasmkgu")
def exchange_iasmkgu(
    since: Annotated[
        str | None, typer.Option("--since", help="Только анкеты с этой даты (ГГГГ-ММ-ДД)")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Показать, что будет передано, ничего не меняя")
    ] = False,
) -> None:
    """Упаковать новые анкеты в пакеты и отправить в ИАС МКГУ все пакеты, срок которых настал."""
    from datetime import date

    from otklik.exchange import repository, service
    from otklik.kit.clock import now_utc

    first: date | None = None
    try:
        first = date.fromisoformat(since) if since else None
    except ValueError:
        fail(f"--since: ожидается дата ГГГГ-ММ-ДД, получено «{(since or '')[:20]}».")
    settings = get_settings()
    if dry_run:
        n, low, high = run_in_session(
            settings, lambda s: repository.count_queued(s, first or service.EPOCH)
        )
        batches = -(-n // settings.iasmkgu_batch)
        span = f" за {low:%d.%m.%Y} — {high:%d.%m.%Y}" if low and high else ""
        out.print(f"Будет упаковано анкет: {n}{span}, пакетов: {batches}. Ничего не изменено.")
        return
    if not settings.iasmkgu_url:
        fail("не задан адрес ИАС МКГУ (OTKLIK_IASMKGU_URL): передавать некуда.")

    async def run(session: AsyncSession) -> service.Packed:
        packed = await service.pack(session, settings, since=first)
        while await service.send_due(session, settings, now_utc()):
            pass
        return packed

    packed = run_in_session(settings, run)
    summary = run_in_session(settings, lambda s: service.reconciliation(s, settings))
    out.print(
        f"Упаковано анкет: {packed.answers} в {packed.batches} пакетов. "
        f"Принято получателем всего: {summary.acknowledged}; "
        f"в непринятых пакетах: {summary.in_flight}; ждут упаковки: {summary.queued}."
    )
    if summary.in_flight:
        for row in summary.rows:
            if row.status == "retrying":
                out.print(f"  не принято {row.answers}: {row.last_error}", highlight=False)
        raise typer.Exit(1)


@keys_app.command("rotate-pii")
def keys_rotate_pii() -> None:
    """Перешифровать контакты новым ключом OTKLIK_PII_KEY (новый ключ — из stdin).

    Остановите сервер и обработчик на время замены; затем запишите новый ключ в настройки.
    """
    from otklik.config import DEV_PII_KEY
    from otklik.kit.pii import PiiVault
    from otklik.ops.keys import rotate_pii

    settings = get_settings()
    new_key = sys.stdin.readline().strip()
    if len(new_key) < 32 or new_key == DEV_PII_KEY:
        fail("новый ключ читается из stdin: не короче 32 случайных символов.")
    if new_key == settings.pii_key:
        fail("новый ключ совпадает с текущим OTKLIK_PII_KEY.")
    old, new = PiiVault(settings.pii_key), PiiVault(new_key)
    done = run_in_session(settings, lambda s: rotate_pii(s, old, new))
    out.print(
        f"Контактов перешифровано: {done.contacts}; уже под новым ключом: {done.already}; "
        f"нечитаемых: {done.unreadable}. Ключей лиц заменено: {done.people} "
        f"(записей: {done.records}, приглашений: {done.invitations}, "
        f"пользователей: {done.users})."
    )
    out.print("Теперь замените OTKLIK_PII_KEY на новый ключ и запустите сервер и обработчик.")


@keys_app.command("comment-pair")
def keys_comment_pair() -> None:
    """Новая пара ключей для комментариев: закрытый — только обработчику (OTKLIK_COMMENT_KEY),
    открытый — веб-процессам (OTKLIK_COMMENT_PUBLIC_KEY)."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from otklik.kit.pii import encode_key

    key = X25519PrivateKey.generate()
    out.print(f"OTKLIK_COMMENT_KEY={encode_key(key)}", highlight=False)
    out.print(f"OTKLIK_COMMENT_PUBLIC_KEY={encode_key(key.public_key())}", highlight=False)


def main() -> None:
    sys.exit(run_app(typer.main.get_command(app)))
