"""Open-data files, built once and stored in PostgreSQL; a download streams the stored file.

A file is one quarter's dataset (organizations, regions, types, founders) under one
methodology version: its rows, each encoded once as a CSV line and as a JSON object, with the
organizations' region, type and founder codes (a filtered download is the stored rows of that
code, in the same order). Its ``source`` is the digest of everything it shows
(``service.source``: format, methodology version and min_n, the quarter's rollup and the
registry, the year's population, which the quarter's protection reads).

When a file is built (and rebuilt):

- by the periodic job ``opendata.build_files`` (``schedule.py``, every 10 minutes): for the last
  published quarter and every quarter that has stored files, each dataset whose file is missing
  or stale (its source differs from the current one) — so a quarter's files exist minutes after
  the quarter closes, and are rebuilt minutes after a late answer, a registry change, an answer
  elsewhere in the year (protection) or a new default methodology version (files of other
  versions of that quarter and dataset are then deleted);
- lazily, by a download that finds its file missing or stale (between a change and the job's
  next run): under the file's advisory lock, so concurrent first downloads, in any process,
  build it once; the others wait for the lock and stream the stored file.

Which cells are hidden is decided by ``suppression`` exactly as before; the stored rows are the
rows ``service.dataset_rows`` returns.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from otklik.indicators.methodology import Methodology
from otklik.indicators.periods import Period
from otklik.kit.replica import is_replica
from otklik.opendata import repository, service

CHUNK = 2000  # rows per streamed chunk


@dataclass(frozen=True)
class Stored:
    file_id: int
    source: str
    built: bool  # by this call


async def find(session: AsyncSession, query: service.Query, source: str) -> Stored | None:
    """The stored file of the query's quarter and dataset if it is current (``source``)."""
    found = await repository.stored_file(
        session, query.period.text, query.dataset.name, query.m.version
    )
    if found is None or found[1] != source:
        return None
    return Stored(found[0], source, False)


async def build(
    session: AsyncSession, period: Period, dataset: str, m: Methodology, today: date, source: str
) -> int:
    """Build the dataset's file of the quarter and store it (flushes; the caller commits)."""
    started = time.perf_counter()
    query = service.Query(service.DATASETS[dataset], period, m)
    fields = [f.name for f in query.dataset.fields]
    rows = [
        {
            "seq": i,
            "region_code": r.get("region_code"),
            "type_code": r.get("type_code"),
            "founder_code": r.get("founder_code"),
            "csv": service.csv_line(fields, r),
            "json": service.json_line(r),
        }
        for i, r in enumerate(await service.dataset_rows(session, query, today))
    ]
    ms = int((time.perf_counter() - started) * 1000)
    return await repository.replace_file(session, period.text, dataset, m.version, source, rows, ms)


async def ensure(
    session: AsyncSession, period: Period, dataset: str, m: Methodology, today: date
) -> Stored:
    """The current stored file of the quarter and dataset, built first if missing or stale.

    The build runs under the file's advisory lock, held until the caller's transaction ends
    (commit it at once): a concurrent caller waits, then finds the file built and current."""
    query = service.Query(service.DATASETS[dataset], period, m)
    source = await service.source(session, period, m)
    if (found := await find(session, query, source)) is not None:
        return found
    await repository.lock_file(session, period.text, dataset, m.version)
    # read again after the wait: another process may have built it meanwhile
    source = await service.source(session, period, m)
    if (found := await find(session, query, source)) is not None:
        return found
    file_id = await build(session, period, dataset, m, today, source)
    return Stored(file_id, source, True)


class FileReplaced(RuntimeError):
    """The file was rebuilt between the request's look-up and its stream (the download breaks
    off; the client retries and gets the new file with its new ETag)."""


async def chunks(
    factory: async_sessionmaker[AsyncSession],
    stored: Stored,
    query: service.Query,
    fmt: str,
    today: date,
) -> AsyncIterator[bytes]:
    """The stored file as the response body: the CSV header or the JSON meta (the request's
    filters), then the stored rows, a chunk at a time, from their own session. The file's row
    is share-locked while it streams, so a rebuild waits until the download ends; on a read
    replica (no locks there) one repeatable-read snapshot keeps the file whole instead."""
    async with factory() as s:
        if replica := is_replica(s):
            await s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        if not await repository.still_stored(s, stored.file_id, stored.source, lock=not replica):
            raise FileReplaced(query.dataset.name)
        if fmt == "csv":
            yield service.csv_line([f.name for f in query.dataset.fields])
        else:
            yield service.json_head(service.meta(query, today))
        stmt = repository.file_rows(
            stored.file_id, fmt, query.region, query.type_code, query.founder
        )
        result = await s.stream(stmt)
        first = True
        async for part in result.partitions(CHUNK):
            lines = [row[0] for row in part]
            if fmt == "csv":
                yield b"".join(lines)
            else:
                yield (b"" if first else b",\n") + b",\n".join(lines)
                first = False
        if fmt == "json":
            yield service.JSON_TAIL
