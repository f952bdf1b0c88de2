"""Every query of the МСЗУ domain: list versions, statistics staging and upsert, shares."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.mszu.models import (
    MszuListItem,
    MszuListVersion,
    StatisticsClosure,
    TrajectoryPoint,
)
from otklik.registry.models import Service

# --- list versions ---


async def versions(session: AsyncSession) -> list[MszuListVersion]:
    rows = await session.scalars(select(MszuListVersion).order_by(MszuListVersion.number.desc()))
    return list(rows)


async def version(session: AsyncSession, number: int, lock: bool = False) -> MszuListVersion | None:
    stmt = select(MszuListVersion).where(MszuListVersion.number == number)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).first()


async def open_version(session: AsyncSession) -> MszuListVersion | None:
    stmt = select(MszuListVersion).where(MszuListVersion.status.in_(("draft", "agreed")))
    return (await session.scalars(stmt)).first()


async def current_approved(session: AsyncSession) -> MszuListVersion | None:
    stmt = select(MszuListVersion).where(MszuListVersion.status == "approved")
    return (await session.scalars(stmt)).first()


async def next_number(session: AsyncSession) -> int:
    # the table lock serialises two analysts creating drafts at once
    await session.execute(text("LOCK TABLE mszu_list_versions IN SHARE ROW EXCLUSIVE MODE"))
    top = await session.scalar(select(func.max(MszuListVersion.number)))
    return int(top or 0) + 1


async def items(session: AsyncSession, number: int) -> dict[str, str]:
    rows = await session.execute(
        select(MszuListItem.service_code, MszuListItem.mode).where(
            MszuListItem.version_number == number
        )
    )
    return {str(c): str(n) for c, n in rows}


async def items_with_names(session: AsyncSession, number: int) -> list[tuple[str, str, str, str]]:
    rows = await session.execute(
        select(Service.code, Service.name, Service.sector, MszuListItem.mode)
        .join(MszuListItem, MszuListItem.service_code == Service.code)
        .where(MszuListItem.version_number == number)
        .order_by(Service.code)
    )
    return [(a, b, c, d) for a, b, c, d in rows]


async def replace_items(session: AsyncSession, number: int, new: dict[str, str]) -> None:
    await session.execute(delete(MszuListItem).where(MszuListItem.version_number == number))
    if new:
        await session.execute(
            insert(MszuListItem),
            [{"version_number": number, "service_code": c, "mode": m} for c, m in new.items()],
        )


async def services(session: AsyncSession) -> list[Service]:
    return list(await session.scalars(select(Service).order_by(Service.code)))


async def service_names(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(select(Service.code, Service.name))
    return {str(c): str(n) for c, n in rows}


# --- closures and trajectory ---


async def closed_quarters(session: AsyncSession) -> list[date]:
    rows = await session.scalars(
        select(StatisticsClosure.quarter_start).order_by(StatisticsClosure.quarter_start)
    )
    return list(rows)


async def add_closure(session: AsyncSession, quarter_start: date, by: str) -> bool:
    stmt = text(
        "INSERT INTO service_statistic_closures (quarter_start, closed_by) VALUES (:q, :by) "
        "ON CONFLICT DO NOTHING RETURNING quarter_start"
    )
    return (await session.execute(stmt, {"q": quarter_start, "by": by})).first() is not None


async def trajectory(session: AsyncSession) -> dict[int, float]:
    rows = await session.execute(select(TrajectoryPoint.year, TrajectoryPoint.target))
    return {int(y): float(t) for y, t in rows}


async def replace_trajectory(session: AsyncSession, points: dict[int, float], by: str) -> None:
    await session.execute(delete(TrajectoryPoint))
    if points:
        await session.execute(
            insert(TrajectoryPoint),
            [{"year": y, "target": t, "uploaded_by": by} for y, t in sorted(points.items())],
        )


# --- statistics intake (staged with COPY, checked and upserted in a few statements) ---

STAGE_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS stat_stage_f (idx integer PRIMARY KEY, "
    "service_code text, region_code text, founder_code text, month date, channel text, "
    "applications bigint) ON COMMIT DELETE ROWS"
)
STAGE_COLUMNS = "idx, service_code, region_code, founder_code, month, channel, applications"
KEY_MATCH = """t.source_id = :source AND t.service_code = s.service_code
              AND t.region_code = s.region_code AND t.founder_code = s.founder_code
              AND t.month = s.month AND t.channel = s.channel"""
# A source states the founder for a (service, region, month) either on every row, whatever the
# channel, or on none: a row of the other kind, stored or staged, would count applications twice
# or leave a founder's share computed from some channels only. Zero rows do not count: a source
# switches by replacing its old rows with 0 (audited) and then sending the other kind.
CHECK_STAGED = text(
    f"""
    WITH mix AS (
        SELECT service_code, region_code, month FROM stat_stage_f WHERE applications > 0
        GROUP BY 1, 2, 3 HAVING bool_or(founder_code = '') AND bool_or(founder_code <> '')
    ), checked AS (
        SELECT s.idx,
               CASE WHEN sv.code IS NULL THEN 'unknown_service'
                    WHEN r.code IS NULL THEN 'unknown_region'
                    WHEN s.founder_code <> '' AND f.id IS NULL THEN 'unknown_founder'
                    WHEN f.region_code <> s.region_code THEN 'founder_region_mismatch'
                    WHEN mix.month IS NOT NULL
                      OR (s.applications > 0 AND s.founder_code = '' AND EXISTS (
                        -- probes the small partial index of founder rows
                        SELECT 1 FROM service_statistics t
                        WHERE t.source_id = :source AND t.service_code = s.service_code
                          AND t.region_code = s.region_code AND t.month = s.month
                          AND t.founder_code <> '' AND t.applications > 0))
                      OR (s.applications > 0 AND s.founder_code <> '' AND EXISTS (
                        -- probes the primary key's prefix
                        SELECT 1 FROM service_statistics t
                        WHERE t.source_id = :source AND t.service_code = s.service_code
                          AND t.region_code = s.region_code AND t.month = s.month
                          AND t.founder_code = '' AND t.applications > 0))
                        THEN 'mixed_founder'
                    WHEN c.quarter_start IS NOT NULL AND NOT EXISTS (
                        SELECT 1 FROM service_statistics t
                        WHERE {KEY_MATCH} AND t.applications = s.applications)
                        THEN 'quarter_closed'
               END AS code
        FROM stat_stage_f s
        LEFT JOIN services sv ON sv.code = s.service_code
        LEFT JOIN regions r ON r.code = s.region_code
        LEFT JOIN founders f ON s.founder_code <> '' AND f.code = s.founder_code
        LEFT JOIN mix ON mix.service_code = s.service_code AND mix.region_code = s.region_code
                     AND mix.month = s.month AND s.applications > 0
        LEFT JOIN service_statistic_closures c
               ON c.quarter_start = date_trunc('quarter', s.month)::date
    )
    SELECT idx, code FROM checked WHERE code IS NOT NULL
    """  # noqa: S608 - KEY_MATCH is a constant
)
DROP_REJECTED = text("DELETE FROM stat_stage_f WHERE idx = ANY(:idx)")
# Replaced values keep their audit row; equal values are duplicates; both in one statement.
AUDIT_REPLACED = text(
    f"""
    WITH compared AS (
        SELECT s.idx, t.applications AS old, s.applications AS new, s.service_code,
               s.region_code, s.founder_code, s.month, s.channel
        FROM stat_stage_f s
        JOIN service_statistics t ON {KEY_MATCH}
    ), audited AS (
        INSERT INTO service_statistic_changes
            (source_id, service_code, region_code, founder_code, month, channel,
             old_applications, new_applications)
        SELECT :source, service_code, region_code, founder_code, month, channel, old, new
        FROM compared WHERE old <> new
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM audited) AS replaced,
           (SELECT count(*) FROM compared WHERE old = new) AS duplicates
    """  # noqa: S608 - KEY_MATCH is a constant
)
UPSERT = text(
    """
    INSERT INTO service_statistics
        (source_id, service_code, region_code, founder_code, month, channel, applications)
    SELECT :source, service_code, region_code, founder_code, month, channel, applications
    FROM stat_stage_f
    ON CONFLICT (source_id, service_code, region_code, founder_code, month, channel) DO UPDATE
        SET applications = excluded.applications, updated_at = now()
        WHERE service_statistics.applications <> excluded.applications
    """
)


async def _raw(session: AsyncSession) -> Any:
    conn = await session.connection()
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None  # noqa: S101 - an open connection always has one
    return raw


COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _esc(value: str) -> str:
    """A value in COPY's text format (backslash, tab, new line and carriage return escaped)."""
    return value.translate(COPY_ESCAPES)


async def stage(session: AsyncSession, rows: Iterable[tuple[Any, ...]]) -> None:
    await session.execute(text(STAGE_DDL))
    await session.execute(text("TRUNCATE stat_stage_f"))
    raw = await _raw(session)
    # one buffer in COPY's text format instead of an awaited write per row (a third of the
    # staging time); text fields are escaped, the others are dates and integers
    buf = "".join(
        f"{i}\t{_esc(sv)}\t{_esc(rg)}\t{_esc(fd)}\t{m.isoformat()}\t{_esc(ch)}\t{n}\n"
        for i, sv, rg, fd, m, ch, n in rows
    )
    async with raw.cursor() as cur:
        async with cur.copy(f"COPY stat_stage_f ({STAGE_COLUMNS}) FROM STDIN") as copy:
            await copy.write(buf.encode())


async def check_staged(session: AsyncSession, source_id: int) -> dict[int, str]:
    """Registry and closed-quarter checks of the whole stage; rejected rows leave it."""
    rows = await session.execute(CHECK_STAGED, {"source": source_id})
    bad = {int(i): str(code) for i, code in rows}
    if bad:
        await session.execute(DROP_REJECTED, {"idx": list(bad)})
    return bad


async def store_staged(session: AsyncSession, source_id: int, staged: int) -> tuple[int, int, int]:
    """(accepted new, replaced, duplicates) of the stage."""
    replaced, duplicates = (await session.execute(AUDIT_REPLACED, {"source": source_id})).one()
    await session.execute(UPSERT, {"source": source_id})
    # no TRUNCATE here: the stage empties at commit (ON COMMIT DELETE ROWS) and ``stage``
    # truncates it before the next batch of the same transaction
    return staged - int(replaced) - int(duplicates), int(replaced), int(duplicates)


async def changes(session: AsyncSession, limit: int = 50) -> list[dict[str, Any]]:
    rows = await session.execute(
        text(
            "SELECT c.changed_at, s.name AS source, c.service_code, c.region_code, "
            "c.founder_code, c.month, c.channel, c.old_applications, c.new_applications "
            "FROM service_statistic_changes c JOIN sources s ON s.id = c.source_id "
            "ORDER BY c.id DESC LIMIT :limit"
        ),
        {"limit": limit},
    )
    return [dict(r._mapping) for r in rows]
