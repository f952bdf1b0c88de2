"""Long-running intake from the command line: a file with a progress bar, a NATS stream."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from otklik.config import Settings
from otklik.db import create_engine, resolve_database_url, session_factory, transaction
from otklik.errors import DomainError
from otklik.intake import repository
from otklik.intake.formats import read_records
from otklik.intake.service import FileReport, IngestResult, ingest_file
from otklik.kit.pii import PiiVault

log = logging.getLogger(__name__)


async def _source_id(settings: Settings, name: str) -> int:
    engine = create_engine(resolve_database_url(settings))
    try:
        async with transaction(session_factory(engine)) as session:
            source = await repository.get_source_by_name(session, name)
            if source is None or not source.is_active:
                raise DomainError(f"Источник «{name}» не найден или отключён.")
            return source.id
    finally:
        await engine.dispose()


def import_records_file(
    settings: Settings, source: str, path: Path, console: Console
) -> FileReport:
    """Validate and store a file's records, committing every chunk of 10 000."""
    records, total = read_records(path, settings.import_max_bytes)

    async def main() -> FileReport:
        source_id = await _source_id(settings, source)
        engine = create_engine(resolve_database_url(settings))
        try:
            async with transaction(session_factory(engine)) as session:
                with Progress(
                    TextColumn("Приём записей"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeRemainingColumn(),
                    console=console,
                    transient=True,
                ) as bar:
                    task = bar.add_task("intake", total=total)
                    return await ingest_file(
                        session,
                        source_id,
                        records,
                        vault=PiiVault(settings.pii_key),
                        retention_days=settings.retention_days,
                        progress=lambda n: bar.advance(task, n),
                        after_chunk=session.commit,
                    )
        finally:
            await engine.dispose()

    return asyncio.run(main())


async def _nats_error(exc: Exception) -> None:
    # one line instead of the client's default traceback
    log.warning("NATS: %s", exc.__class__.__name__)


def consume_stream(
    settings: Settings, source: str, nats_url: str, batch: int, once: bool
) -> IngestResult:
    import nats

    from otklik.intake.stream import consume

    async def main() -> IngestResult:
        engine = create_engine(resolve_database_url(settings))
        try:
            nc = await asyncio.wait_for(
                nats.connect(
                    nats_url, connect_timeout=3, max_reconnect_attempts=3, error_cb=_nats_error
                ),
                timeout=15,
            )
        except nats.errors.Error as exc:
            await engine.dispose()
            raise OSError(f"NATS {nats_url}: {exc}") from None
        try:
            return await consume(
                nc,
                session_factory(engine),
                vault=PiiVault(settings.pii_key),
                retention_days=settings.retention_days,
                source_name=source,
                batch=batch,
                idle_rounds=1 if once else None,
            )
        finally:
            await nc.close()
            await engine.dispose()

    return asyncio.run(main())
