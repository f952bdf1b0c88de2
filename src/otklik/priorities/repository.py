"""Every query of the priorities domain: criteria versions, criterion values, KPIs, measures."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import BigInteger, Integer, Select, String, cast, func, null, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.kit.scope import Scope, ScopeColumns, apply_scope
from otklik.priorities.models import CriteriaVersion, InformationMeasure
from otklik.registry.models import Founder, Organization, OrganizationType, Region


async def versions(session: AsyncSession) -> list[CriteriaVersion]:
    stmt = select(CriteriaVersion).order_by(CriteriaVersion.version.desc())
    return list(await session.scalars(stmt))


async def version(session: AsyncSession, number: int | None) -> CriteriaVersion | None:
    stmt = select(CriteriaVersion).order_by(CriteriaVersion.version.desc())
    if number is not None:
        stmt = stmt.where(CriteriaVersion.version == number)
    return (await session.scalars(stmt.limit(1))).first()


async def next_version(session: AsyncSession) -> int:
    await session.execute(text("LOCK TABLE priority_criteria_versions IN SHARE ROW EXCLUSIVE MODE"))
    return int(await session.scalar(select(func.max(CriteriaVersion.version))) or 0) + 1


# Raw criterion values of every service over [start, end]; NULL where there is no data.
SERVICE_VALUES = text(
    """
    WITH st AS (
        SELECT service_code, sum(applications) AS total,
               sum(applications) FILTER (WHERE channel IN ('portal', 'proactive')) AS electronic
        FROM service_statistics WHERE month BETWEEN date_trunc('month', CAST(:start AS date))
                                            AND CAST(:end AS date)
        GROUP BY service_code
    ), rec AS (
        SELECT service_code, count(*) AS n FROM service_records
        WHERE served_at >= :start AND served_at < CAST(:end AS date) + 1 GROUP BY service_code
    ), sat AS (
        SELECT r.service_code, avg(i.value) AS mean
        FROM response_items i
        JOIN responses r ON r.id = i.response_id AND r.answered_on = i.answered_on
        WHERE i.code = 'overall' AND i.answered_on BETWEEN :start AND :end
        GROUP BY r.service_code
    ), neg AS (
        SELECT r.service_code, avg((a.sentiment = 'negative')::int) AS share
        FROM comment_analyses a
        JOIN responses r ON r.id = a.response_id AND r.answered_on = a.answered_on
        WHERE a.answered_on BETWEEN :start AND :end GROUP BY r.service_code
    )
    SELECT s.code, s.name, coalesce(st.total, rec.n) AS volume, sat.mean, neg.share,
           CASE WHEN st.total > 0 THEN 1 - st.electronic::float / st.total END AS not_electronic,
           coalesce(st.total, 0) AS stat_total, coalesce(st.electronic, 0) AS stat_electronic
    FROM services s
    LEFT JOIN st ON st.service_code = s.code LEFT JOIN rec ON rec.service_code = s.code
    LEFT JOIN sat ON sat.service_code = s.code LEFT JOIN neg ON neg.service_code = s.code
    ORDER BY s.code
    """
)
LIFE_SITUATION_SERVICES = text(
    "SELECT l.code, l.name, ls.service_code FROM life_situations l "
    "JOIN life_situation_services ls ON ls.life_situation_code = l.code ORDER BY l.code"
)


async def service_values(session: AsyncSession, start: date, end: date) -> list[dict[str, Any]]:
    rows = await session.execute(SERVICE_VALUES, {"start": start, "end": end})
    return [dict(r._mapping) for r in rows]


async def life_situation_services(session: AsyncSession) -> list[tuple[str, str, str]]:
    return [(a, b, c) for a, b, c in await session.execute(LIFE_SITUATION_SERVICES)]


async def table_exists(session: AsyncSession, name: str) -> bool:
    return bool(await session.scalar(text("SELECT to_regclass(:n) IS NOT NULL"), {"n": name}))


# --- information measures ---


async def measures(session: AsyncSession, region: str | None) -> list[InformationMeasure]:
    stmt = select(InformationMeasure).order_by(InformationMeasure.started_on.desc())
    if region is not None:
        stmt = stmt.where(InformationMeasure.region_code == region)
    return list(await session.scalars(stmt))


# The organizations a measure covers: its region, narrowed to the listed organizations and/or
# to organization types and a founder (every organization of the region when all are empty).
COVERS = """o.region_code = {m}.region_code
    AND (cardinality({m}.organization_ids) = 0 OR o.id = ANY({m}.organization_ids))
    AND (cardinality({m}.type_codes) = 0 OR o.type_code = ANY({m}.type_codes))
    AND ({m}.founder_id IS NULL OR o.founder_id = {m}.founder_id)"""

# Delivered invitations and answers per organization, window bucket (0 early before, 1 late
# before, 2 after) and week (from the start before it, from the day after the end after it), for
# the covered organizations and the comparison: organizations of the covered ones' types that
# no measure overlapping the windows covers. One statement per measure.
MEASURE_CELLS = text(
    f"""
    WITH m AS (SELECT * FROM information_measures WHERE id = :id),
    covered AS (SELECT o.id, o.type_code FROM organizations o JOIN m ON {COVERS.format(m="m")}),
    busy AS (
        SELECT o.id FROM information_measures x JOIN organizations o ON {COVERS.format(m="x")}
        WHERE x.id <> :id AND x.started_on < CAST(:post_hi AS date)
          AND x.ended_on >= CAST(:pre_lo AS date)
    ),
    units AS (
        SELECT id, true AS covered FROM covered
        UNION ALL
        SELECT o.id, false FROM organizations o
        WHERE o.type_code IN (SELECT type_code FROM covered)
          AND o.id NOT IN (SELECT id FROM covered) AND o.id NOT IN (SELECT id FROM busy)
    ),
    d AS (
        SELECT i.organization_id AS id,
               (i.delivered_at AT TIME ZONE 'Europe/Moscow')::date AS day, count(*) AS n
        FROM invitations i
        WHERE i.organization_id IN (SELECT id FROM units)
          AND i.delivered_at >= CAST(:pre_lo AS timestamp) AT TIME ZONE 'Europe/Moscow'
          AND i.delivered_at < CAST(:post_hi AS timestamp) AT TIME ZONE 'Europe/Moscow'
        GROUP BY 1, 2
    ),
    a AS (
        SELECT r.organization_id AS id, r.answered_on AS day, count(*) AS n FROM responses r
        WHERE r.organization_id IN (SELECT id FROM units)
          AND r.answered_on >= CAST(:pre_lo AS date) AND r.answered_on < CAST(:post_hi AS date)
        GROUP BY 1, 2
    ),
    days AS (
        SELECT coalesce(d.id, a.id) AS id, coalesce(d.day, a.day) AS day,
               coalesce(d.n, 0) AS delivered, coalesce(a.n, 0) AS answered
        FROM d FULL JOIN a ON a.id = d.id AND a.day = d.day
    )
    SELECT days.id, u.covered,
           CASE WHEN day < CAST(:mid AS date) THEN 0 WHEN day < CAST(:start AS date) THEN 1
                ELSE 2 END AS bucket,
           CASE WHEN day < CAST(:start AS date)
                THEN floor((day - CAST(:start AS date)) / 7.0)
                ELSE floor((day - CAST(:post_lo AS date)) / 7.0) END::int AS week,
           sum(delivered)::int AS delivered, sum(answered)::int AS answered
    FROM days JOIN units u ON u.id = days.id
    WHERE day < CAST(:start AS date) OR day >= CAST(:post_lo AS date)
    GROUP BY 1, 2, 3, 4
    """  # noqa: S608 - COVERS is a constant
)
MEASURE_UNITS = text(
    f"""
    SELECT count(*) FROM information_measures m JOIN organizations o ON {COVERS.format(m="m")}
    WHERE m.id = :id
    """  # noqa: S608 - COVERS is a constant
)


async def measure_cells(
    session: AsyncSession, measure_id: int, bounds: dict[str, date]
) -> list[tuple[int, bool, int, int, int, int]]:
    """(organization, covered, bucket, week, delivered, answered) of one measure's windows."""
    rows = await session.execute(MEASURE_CELLS, {"id": measure_id, **bounds})
    return [(int(o), bool(c), int(b), int(w), int(d), int(a)) for o, c, b, w, d, a in rows]


async def covered_count(session: AsyncSession, measure_id: int) -> int:
    return int(await session.scalar(MEASURE_UNITS, {"id": measure_id}) or 0)


async def organizations_by_ogrn(
    session: AsyncSession, ogrns: list[str]
) -> dict[str, tuple[int, str]]:
    """{OGRN: (id, region)} of the listed organizations that exist."""
    rows = await session.execute(
        select(Organization.ogrn, Organization.id, Organization.region_code).where(
            Organization.ogrn.in_(ogrns)
        )
    )
    return {str(g): (int(i), str(r)) for g, i, r in rows}


async def organization_types(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(
        select(OrganizationType.code, OrganizationType.name).order_by(
            OrganizationType.position, OrganizationType.code
        )
    )
    return {str(c): str(n) for c, n in rows}


async def founder_by_code(session: AsyncSession, code: str) -> tuple[int, str | None] | None:
    """(id, region or None for a federal founder) of a founder code."""
    row = (
        await session.execute(select(Founder.id, Founder.region_code).where(Founder.code == code))
    ).first()
    return None if row is None else (int(row[0]), row[1])


async def founder_codes(session: AsyncSession, ids: list[int]) -> dict[int, str]:
    rows = await session.execute(select(Founder.id, Founder.code).where(Founder.id.in_(ids)))
    return {int(i): str(c) for i, c in rows}


# --- participants' performance indicators ---

KEYS = {
    "region": "o.region_code",
    "founder": "f.code",
    "organization": "o.ogrn",
}


def _kpi_sql(kind: str) -> Any:
    key = KEYS[kind]
    return text(
        f"""
        WITH d AS (
            SELECT {key} AS k, count(*) AS delivered FROM invitations i
            JOIN organizations o ON o.id = i.organization_id
            JOIN founders f ON f.id = o.founder_id
            WHERE i.delivered_at >= :start AND i.delivered_at < CAST(:end AS date) + 1
            GROUP BY 1
        ), r AS (
            SELECT {key} AS k,
                   count(*) FILTER (WHERE x.answered_on BETWEEN :start AND :end) AS responses
            FROM responses x JOIN organizations o ON o.id = x.organization_id
            JOIN founders f ON f.id = o.founder_id
            WHERE x.answered_on BETWEEN :start AND :end GROUP BY 1
        ), s AS (
            SELECT {key} AS k,
                   avg(i.value) FILTER (WHERE i.answered_on BETWEEN :start AND :end) AS mean1,
                   var_samp(i.value) FILTER (WHERE i.answered_on BETWEEN :start AND :end) AS var1,
                   count(*) FILTER (WHERE i.answered_on BETWEEN :start AND :end) AS n1,
                   avg(i.value) FILTER (WHERE i.answered_on BETWEEN :pstart AND :pend) AS mean0,
                   var_samp(i.value) FILTER (WHERE i.answered_on BETWEEN :pstart AND :pend)
                       AS var0,
                   count(*) FILTER (WHERE i.answered_on BETWEEN :pstart AND :pend) AS n0
            FROM response_items i JOIN organizations o ON o.id = i.organization_id
            JOIN founders f ON f.id = o.founder_id
            WHERE i.code = 'overall' AND i.answered_on BETWEEN :pstart AND :end GROUP BY 1
        )
        SELECT coalesce(d.k, r.k, s.k) AS code, coalesce(d.delivered, 0) AS delivered,
               coalesce(r.responses, 0) AS responses, s.mean1, s.var1, coalesce(s.n1, 0) AS n1,
               s.mean0, s.var0, coalesce(s.n0, 0) AS n0
        FROM d FULL JOIN r ON r.k = d.k FULL JOIN s ON s.k = coalesce(d.k, r.k)
        """  # noqa: S608 - the key comes from the fixed KEYS map, never from input
    )


async def kpi_rows(
    session: AsyncSession, kind: str, start: date, end: date, pstart: date, pend: date
) -> list[dict[str, Any]]:
    params = {"start": start, "end": end, "pstart": pstart, "pend": pend}
    rows = await session.execute(_kpi_sql(kind), params)
    return [dict(r._mapping) for r in rows if r.code is not None]


async def unit_names(session: AsyncSession, kind: str) -> dict[str, str]:
    sql = {
        "region": "SELECT code, name FROM regions",
        "founder": "SELECT code, short_name FROM founders",
        "organization": "SELECT ogrn, short_name FROM organizations",
    }[kind]
    return {str(c): str(n) for c, n in await session.execute(text(sql))}


def _participant_unit(kind: str, key: str | None) -> tuple[Select[str], ScopeColumns]:
    """The participant (every participant of ``kind`` when ``key`` is None) as rows of its
    code with the columns that locate it in the country.

    A region or a founder is not an organization: its row has no organization id, and a region
    has no founder (a founder no region), so only a scope of the same unit, or the country, holds
    it. An organization row carries all three columns, so a region, a founder or the
    organization itself holds it.
    """
    none_big = cast(null(), BigInteger)
    none_int = cast(null(), Integer)
    if kind == "organization":
        o = Organization
        stmt, cols, code = select(o.ogrn), ScopeColumns(o.id, o.region_code, o.founder_id), o.ogrn
    elif kind == "region":
        r = Region
        stmt, cols, code = select(r.code), ScopeColumns(none_big, r.code, none_int), r.code
    else:
        f = Founder
        cols = ScopeColumns(none_big, cast(null(), String(2)), f.id)
        stmt, code = select(f.code), f.code
    return (stmt if key is None else stmt.where(code == key)), cols


async def participant_visible(session: AsyncSession, kind: str, key: str, scope: Scope) -> bool:
    """True when the participant exists and lies inside ``scope`` (through the one filter)."""
    stmt, cols = _participant_unit(kind, key)
    return await session.scalar(apply_scope(stmt, scope, cols).limit(1)) is not None


async def visible_participants(session: AsyncSession, kind: str, scope: Scope) -> set[str]:
    """The codes of the participants of ``kind`` whose pages ``scope`` may open."""
    stmt, cols = _participant_unit(kind, None)
    return set(await session.scalars(apply_scope(stmt, scope, cols)))


def _trend_sql(kind: str) -> Any:
    key = KEYS[kind]
    return text(
        f"""
        WITH months AS (
            SELECT generate_series(CAST(:start AS date), CAST(:end AS date), '1 month')::date AS m
        ), d AS (
            SELECT date_trunc('month', i.delivered_at AT TIME ZONE 'Europe/Moscow')::date AS m,
                   count(*) AS n
            FROM invitations i JOIN organizations o ON o.id = i.organization_id
            JOIN founders f ON f.id = o.founder_id
            WHERE {key} = :key AND i.delivered_at >= :start
              AND i.delivered_at < CAST(:end AS date) + interval '1 month'
            GROUP BY 1
        ), r AS (
            SELECT date_trunc('month', x.answered_on)::date AS m, count(*) AS n
            FROM responses x JOIN organizations o ON o.id = x.organization_id
            JOIN founders f ON f.id = o.founder_id
            WHERE {key} = :key AND x.answered_on >= :start
              AND x.answered_on < CAST(:end AS date) + interval '1 month'
            GROUP BY 1
        )
        SELECT months.m, coalesce(d.n, 0), coalesce(r.n, 0)
        FROM months LEFT JOIN d ON d.m = months.m LEFT JOIN r ON r.m = months.m
        ORDER BY months.m
        """  # noqa: S608 - the key comes from the fixed KEYS map, never from input
    )


async def kpi_trend(
    session: AsyncSession, kind: str, key: str, start: date, end: date
) -> list[tuple[date, int, int]]:
    """(month, delivered, responses) for each month from ``start`` to ``end`` (first days)."""
    rows = await session.execute(_trend_sql(kind), {"key": key, "start": start, "end": end})
    return [(m, int(d), int(r)) for m, d, r in rows]
