"""Monthly partitions of the big tables: created ahead, the DEFAULT partition emptied, old
months dropped (the job ``ops.maintain_partitions``; docs/deployment.md, "Partitions and
retention").

Each table in ``TABLES`` is partitioned by range of one column that is set at insert and never
updated, one partition a month (``<table>_pYYYYMM``; Moscow months: a date key is a Moscow date,
a timestamptz key is cut at Moscow midnight),
plus ``<table>_default``, which only catches a row of a month without a partition (a
back-dated import, a frozen test clock). One run, in one transaction:

1. every month found in the DEFAULT partition gets its own partition, the rows moved into it
   (a standalone table filled by ``DELETE … RETURNING`` from the DEFAULT partition, then
   attached; the parent's statement triggers do not fire, so the indicator rollup and the
   exchange queue, which counted the rows once, are left alone) and the count logged;
2. this month and ``AHEAD`` months after it get their partitions;
3. every month that ends on or before the retention cutoff (the first day of this month minus
   ``OTKLIK_RETENTION_MONTHS``) is dropped: first the rows of unpartitioned tables that belong
   to its rows (``dependents``), then the partition, after checking it holds no row on or after
   the cutoff. ``partition_horizon`` records the day before which a table no longer holds rows.

``service_records`` and ``invitations`` keep their global uniqueness (intake's dedup key, the
link's token and public id) and their ids in unpartitioned key tables; the last dependent of
each is its key table, so a dropped month leaves no key row behind (migration 0250).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.kit.clock import moscow_date, now_utc

log = logging.getLogger(__name__)

AHEAD = 3  # months after the current one that always have a partition
LOCK_TIMEOUT = "SET LOCAL lock_timeout = '10s'"  # never queue behind a long read for long
LOCK = text("SELECT pg_try_advisory_xact_lock(hashtext('ops.maintain_partitions'))")
MONTH_NAME = re.compile(r"_p(\d{4})(\d{2})$")
MOSCOW = "Europe/Moscow"


@dataclass(frozen=True)
class Table:
    name: str
    key: str  # the partition key: set at insert, never updated
    # unpartitioned tables (name, column) holding ids of this table's rows: their rows go first
    dependents: tuple[tuple[str, str], ...] = ()
    timestamptz: bool = False  # the key is a timestamptz, else a (Moscow) date
    storage: str = ""  # the partitions' storage parameters (a partitioned table has none)

    def month_of(self) -> str:
        key = f"({self.key} AT TIME ZONE '{MOSCOW}')" if self.timestamptz else self.key
        return f"date_trunc('month', {key})::date"

    def bound(self, month: date) -> str:
        return f"{month.isoformat()} 00:00:00 {MOSCOW}" if self.timestamptz else month.isoformat()

    @property
    def type(self) -> str:
        return "timestamptz" if self.timestamptz else "date"


# Dropped in this order: an invitation's deliveries before it (a message is never older than its
# invitation: its month goes first), a record's invitations before it, a response's items before
# it. A key table is the last dependent: its rows go with the month (the partition's own key
# rows; contacts and the outreach task cascade from the record's key row).
TABLES = (
    Table("deliveries", "created_at", timestamptz=True),
    Table(
        "invitations",
        "created_at",
        timestamptz=True,
        dependents=(("deliveries", "invitation_id"), ("invitation_keys", "id")),
        storage="fillfactor = 70",
    ),
    Table(
        "service_records",
        "received_at",
        timestamptz=True,
        # invitations made in a later month than their record's receipt go with the record
        dependents=(
            ("contacts", "service_record_id"),
            ("outreach_tasks", "service_record_id"),
            ("invitations", "service_record_id"),
            ("service_record_keys", "id"),
        ),
    ),
    Table("response_items", "answered_on"),
    Table(
        "responses",
        "answered_on",
        dependents=tuple(
            (name, "response_id")
            for name in ("response_comments", "sealed_comments", "exchange_queue", "exchange_items")
        ),
    ),
)


@dataclass
class Report:
    created: list[str]
    dropped: list[str]
    moved: int  # rows found in a DEFAULT partition and moved to their month's partition

    @property
    def done(self) -> int:
        return len(self.created) + len(self.dropped)


def add_months(month: date, n: int) -> date:
    k = month.year * 12 + month.month - 1 + n
    return date(k // 12, k % 12 + 1, 1)


def cutoff(now: datetime, retention_months: int) -> date:
    """Months that end on or before this day are dropped."""
    return add_months(moscow_date(now).replace(day=1), -retention_months)


def partition_name(table: Table, month: date) -> str:
    return f"{table.name}_p{month:%Y%m}"


async def months(session: AsyncSession, table: Table) -> dict[date, str]:
    """The table's monthly partitions by first day (recognised by name)."""
    rows = await session.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:t AS regclass)"
        ),
        {"t": table.name},
    )
    found = {}
    for (name,) in rows:
        m = MONTH_NAME.search(name)
        if m and name == f"{table.name}{m.group(0)}":
            found[date(int(m.group(1)), int(m.group(2)), 1)] = name
    return found


async def default_rows(session: AsyncSession, table: Table) -> dict[date, int]:
    """Rows of the DEFAULT partition by month."""
    rows = await session.execute(
        text(
            f"SELECT {table.month_of()} AS m, count(*) FROM {table.name}_default "  # noqa: S608
            "GROUP BY 1 ORDER BY 1"
        )
    )
    return {m: int(n) for m, n in rows}


async def create_month(session: AsyncSession, table: Table, month: date) -> int:
    """The month's partition, with the month's rows moved out of the DEFAULT partition.
    Returns the number of rows moved."""
    name, lo, hi = (
        partition_name(table, month),
        table.bound(month),
        table.bound(add_months(month, 1)),
    )
    await session.execute(
        text(
            f"CREATE TABLE {name} (LIKE {table.name} "
            "INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)"
            + (f" WITH ({table.storage})" if table.storage else "")
        )
    )
    moved = await session.execute(
        text(
            f"WITH moved AS (DELETE FROM {table.name}_default "  # noqa: S608 - constant names
            f"WHERE {table.key} >= CAST(:lo AS {table.type}) "
            f"AND {table.key} < CAST(:hi AS {table.type}) RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved"
        ),
        {"lo": lo, "hi": hi},
    )
    await session.execute(
        text(
            f"ALTER TABLE {table.name} ATTACH PARTITION {name} FOR VALUES FROM ('{lo}') TO ('{hi}')"
        )
    )
    return int(moved.rowcount or 0)  # type: ignore[attr-defined]


class RetentionViolation(RuntimeError):
    """A partition due to be dropped holds a row on or after the cutoff (never dropped)."""


async def drop_month(session: AsyncSession, table: Table, month: date, before: date) -> None:
    """Drop the month's partition (its rows all before ``before``) and its dependents' rows."""
    name = partition_name(table, month)
    if add_months(month, 1) > before:
        raise RetentionViolation(name)
    young = await session.execute(
        text(
            f"SELECT EXISTS (SELECT FROM {name} "  # noqa: S608 - constant names
            f"WHERE {table.key} >= CAST(:before AS {table.type}))"
        ),
        {"before": table.bound(before)},
    )
    if young.scalar_one():
        raise RetentionViolation(name)
    for dependent, column in table.dependents:
        await session.execute(
            text(f"DELETE FROM {dependent} WHERE {column} IN (SELECT id FROM {name})")  # noqa: S608
        )
    await session.execute(text(f"DROP TABLE {name}"))
    await session.execute(
        text(
            "INSERT INTO partition_horizon (table_name, dropped_before) VALUES (:t, :d) "
            "ON CONFLICT (table_name) DO UPDATE SET dropped_before = "
            "greatest(partition_horizon.dropped_before, EXCLUDED.dropped_before)"
        ),
        {"t": table.name, "d": add_months(month, 1)},
    )


async def maintain(session: AsyncSession, now: datetime, retention_months: int) -> Report:
    """One run of the maintenance (see the module's docstring); idempotent."""
    report = Report(created=[], dropped=[], moved=0)
    if not (await session.execute(LOCK)).scalar_one():
        return report  # another run holds it: this one has nothing to add
    await session.execute(text(LOCK_TIMEOUT))
    this_month = moscow_date(now).replace(day=1)
    before = cutoff(now, retention_months)
    for table in TABLES:
        have = await months(session, table)
        stray = await default_rows(session, table)
        if stray:
            log.warning(
                "rows found in the default partition",
                extra={"table": table.name, "rows": sum(stray.values()), "months": len(stray)},
            )
        wanted = set(stray) | {add_months(this_month, i) for i in range(AHEAD + 1)}
        for month in sorted(wanted - set(have)):
            report.moved += await create_month(session, table, month)
            have[month] = partition_name(table, month)
            report.created.append(have[month])
    for table in TABLES:
        for month, name in sorted((await months(session, table)).items()):
            if add_months(month, 1) <= before:
                await drop_month(session, table, month, before)
                report.dropped.append(name)
    if report.created or report.dropped:
        log.info(
            "partitions maintained",
            extra={
                "partitions_created": len(report.created),
                "partitions_dropped": len(report.dropped),
            },
        )
    return report


async def maintain_partitions(session: AsyncSession, settings: Settings) -> int:
    """The periodic job: partitions created ahead, strays moved, months past retention dropped."""
    report = await maintain(session, now_utc(), settings.retention_months)
    return report.done
