"""Every intake query: sources, the staged batch pipeline, quality figures."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    and_,
    any_,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.intake.models import Contact, IntakeBatch, IntakeRejection, ServiceRecord, Source
from otklik.kit.pagination import PageParams, order_by_param, paginate
from otklik.kit.scope import Scope, ScopeColumns, apply_scope
from otklik.registry.models import Organization


async def get_source_by_name(session: AsyncSession, name: str) -> Source | None:
    return await session.scalar(select(Source).where(Source.name == name))


async def source_for_key(session: AsyncSession, key_hash: str, now: datetime) -> Source | None:
    stmt = select(Source).where(
        Source.is_active,
        or_(
            Source.key_hash == key_hash,
            and_(Source.previous_key_hash == key_hash, Source.previous_key_expires_at > now),
        ),
    )
    return await session.scalar(stmt)


async def list_sources(session: AsyncSession) -> Sequence[Source]:
    return (await session.scalars(select(Source).order_by(Source.name))).all()


# --- service records: a batch goes through two temporary tables and set-based statements ---

STAGE_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS intake_stage ("
    " idx int PRIMARY KEY, record_id text, content_hash bytea, ogrn text, service_code text,"
    " life_situation_code text, served_at timestamptz, served_date date, age_band text,"
    " is_minor boolean, person_key bytea, organization_id bigint, error text)",
    "CREATE TEMP TABLE IF NOT EXISTS intake_stage_people ("
    " idx int, position smallint, relation text, person_key bytea,"
    " portal_account_confirmed boolean, has_email boolean, has_phone boolean, sealed bytea)",
)
STAGE_COLUMNS = (
    "idx, record_id, content_hash, ogrn, service_code, life_situation_code,"
    " served_at, served_date, age_band, is_minor, person_key"
)
PEOPLE_COLUMNS = (
    "idx, position, relation, person_key, portal_account_confirmed, has_email, has_phone, sealed"
)

CHECK_STAGED = text(
    """
    WITH checked AS (
      SELECT s.idx, o.id AS organization_id,
        CASE
          WHEN o.id IS NULL THEN 'unknown_organization'
          WHEN o.participates_from IS NULL OR o.participates_from > s.served_date
            OR o.participates_to < s.served_date THEN 'organization_not_participating'
          WHEN sv.code IS NULL THEN 'unknown_service'
          WHEN st.service_code IS NULL THEN 'service_not_for_type'
          WHEN s.life_situation_code IS NOT NULL AND ls.code IS NULL
            THEN 'unknown_life_situation'
        END AS error
      FROM intake_stage s
      LEFT JOIN organizations o ON o.ogrn = s.ogrn
      LEFT JOIN services sv ON sv.code = s.service_code
      LEFT JOIN service_organization_types st
        ON st.service_code = s.service_code AND st.type_code = o.type_code
      LEFT JOIN life_situations ls ON ls.code = s.life_situation_code
    )
    , updated AS (
      UPDATE intake_stage s SET organization_id = c.organization_id, error = c.error
      FROM checked c WHERE c.idx = s.idx
      RETURNING s.idx, s.error
    )
    SELECT idx, error FROM updated WHERE error IS NOT NULL
    """
)

INSERT_STAGED = text(
    """
    WITH k AS (
      INSERT INTO service_record_keys (source_id, record_id, received_at)
      SELECT :source_id, record_id, :received_at
      FROM intake_stage WHERE error IS NULL ORDER BY idx
      ON CONFLICT (source_id, record_id) DO NOTHING
      RETURNING id, record_id
    ), ins AS (
      INSERT INTO service_records (id, source_id, record_id, content_hash, organization_id,
        service_code, life_situation_code, served_at, received_at, person_key, age_band,
        is_minor, channel)
      SELECT k.id, :source_id, s.record_id, s.content_hash, s.organization_id, s.service_code,
        s.life_situation_code, s.served_at, :received_at, s.person_key, s.age_band, s.is_minor,
        :channel
      FROM k JOIN intake_stage s ON s.record_id = k.record_id AND s.error IS NULL ORDER BY k.id
      RETURNING id, record_id
    ), accepted AS (
      SELECT s.idx, s.served_at, ins.id FROM ins JOIN intake_stage s ON s.record_id = ins.record_id
    ), people AS (
      INSERT INTO contacts (service_record_id, position, relation, person_key,
        portal_account_confirmed, has_email, has_phone, sealed, expires_at)
      SELECT a.id, p.position, p.relation, p.person_key, p.portal_account_confirmed,
        p.has_email, p.has_phone, p.sealed, a.served_at + :retention
      FROM accepted a JOIN intake_stage_people p ON p.idx = a.idx
    )
    SELECT idx FROM accepted
    """
)

# Back-filled records (the demo's past months, whose outreach happened before): the caller
# supplies ``rows``, a SELECT of the columns below, and composes its next CTE on ``recs``.
# Channel ``history``: outreach's queue trigger gives them no task.
HISTORY_RECORDS = """
WITH history_keyed AS (
  SELECT nextval('service_records_id_seq') AS id, h.* FROM ({rows}) h
), history_keys AS (
  INSERT INTO service_record_keys (id, source_id, record_id, received_at)
  SELECT id, source_id, record_id, received_at FROM history_keyed
), recs AS (
  INSERT INTO service_records (id, source_id, record_id, content_hash, organization_id,
      service_code, served_at, received_at, person_key, age_band, is_minor, channel)
  SELECT id, source_id, record_id, content_hash, organization_id, service_code, served_at,
      received_at, person_key, age_band, is_minor, 'history'
  FROM history_keyed
  RETURNING id, record_id, organization_id, served_at, person_key
)
"""

CLASSIFY_REST = text(
    """
    SELECT s.idx, e.content_hash = s.content_hash AS same
    FROM intake_stage s
    JOIN service_record_keys k ON k.source_id = :source_id AND k.record_id = s.record_id
    JOIN service_records e ON e.id = k.id AND e.received_at = k.received_at
    WHERE s.error IS NULL AND NOT s.idx = ANY(:accepted)
    """
)

UPSERT_REJECTIONS = text(
    """
    INSERT INTO intake_rejections (source_id, day, organization_ogrn, code, count)
    VALUES (:source_id, :day, :ogrn, :code, :count)
    ON CONFLICT ON CONSTRAINT uq_intake_rejections_key
    DO UPDATE SET count = intake_rejections.count + excluded.count
    """
)


async def _raw(session: AsyncSession) -> Any:
    conn = await session.connection()
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None  # noqa: S101 - an open connection always has one
    return raw


async def stage_records(
    session: AsyncSession, records: Iterable[tuple[Any, ...]], people: Iterable[tuple[Any, ...]]
) -> None:
    """COPY a batch's clean records and their people into the (emptied) stage tables."""
    for ddl in STAGE_DDL:
        await session.execute(text(ddl))
    await session.execute(text("TRUNCATE intake_stage, intake_stage_people"))
    raw = await _raw(session)
    async with raw.cursor() as cur:
        async with cur.copy(f"COPY intake_stage ({STAGE_COLUMNS}) FROM STDIN") as copy:
            for row in records:
                await copy.write_row(row)
        async with cur.copy(f"COPY intake_stage_people ({PEOPLE_COLUMNS}) FROM STDIN") as copy:
            for row in people:
                await copy.write_row(row)


async def check_staged(session: AsyncSession) -> dict[int, str]:
    """Registry checks for the whole stage at once; returns {idx: error code}."""
    rows = await session.execute(CHECK_STAGED)
    return {int(idx): str(error) for idx, error in rows}


async def insert_staged(
    session: AsyncSession,
    *,
    source_id: int,
    received_at: datetime,
    retention: timedelta,
    channel: str,
    staged: int,
) -> tuple[int, dict[int, bool]]:
    """Insert the good staged records with their contacts in one statement (outreach's
    trigger on ``service_records`` queues their work items in the same statement).

    Returns how many were inserted and, for the ``staged`` good records whose ``record_id``
    already existed, whether the stored content is the same (a duplicate) or not (a conflict).
    """
    result = await session.execute(
        INSERT_STAGED,
        {
            "source_id": source_id,
            "received_at": received_at,
            "retention": retention,
            "channel": channel,
        },
    )
    accepted = [int(idx) for (idx,) in result]
    if len(accepted) == staged:
        return len(accepted), {}
    rest = await session.execute(CLASSIFY_REST, {"source_id": source_id, "accepted": accepted})
    return len(accepted), {int(idx): bool(same) for idx, same in rest}


async def clear_stage(session: AsyncSession) -> None:
    await session.execute(text("TRUNCATE intake_stage, intake_stage_people"))


CLAIM_STREAM_REJECTIONS = text(
    """
    INSERT INTO intake_stream_rejections (stream_seq, stored_at, source_id)
    SELECT seq, at, :source_id
    FROM unnest(CAST(:seqs AS bigint[]), CAST(:ats AS timestamptz[])) AS m(seq, at)
    ORDER BY seq
    ON CONFLICT DO NOTHING
    RETURNING stream_seq, stored_at
    """
)


async def claim_stream_rejections(
    session: AsyncSession, source_id: int, messages: list[tuple[int, datetime]]
) -> set[tuple[int, datetime]]:
    """Mark stream messages as rejected; returns those not marked before (a message seen
    again after a crash, or by a second consumer at once, waits for the first and is not)."""
    rows = await session.execute(
        CLAIM_STREAM_REJECTIONS,
        {
            "source_id": source_id,
            "seqs": [seq for seq, _ in messages],
            "ats": [at for _, at in messages],
        },
    )
    return {(int(seq), at) for seq, at in rows}


async def purge_stream_rejections(session: AsyncSession, before: datetime) -> int:
    """Forget rejected messages the stream no longer keeps (they cannot come back)."""
    result: Any = await session.execute(
        text("DELETE FROM intake_stream_rejections WHERE stored_at < :before"),
        {"before": before},
    )
    return int(result.rowcount or 0)


async def add_batch(session: AsyncSession, batch: IntakeBatch) -> None:
    session.add(batch)
    await session.flush()


async def add_rejections(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(UPSERT_REJECTIONS, rows)


# --- quality figures (every query for a cabinet user passes through apply_scope) ---

DELAY = func.extract("epoch", ServiceRecord.received_at - ServiceRecord.served_at)
WITHIN = func.avg(case((DELAY <= 3 * 86400, 1.0), else_=0.0))
MEDIAN = func.percentile_cont(0.5).within_group(DELAY) / 3600
P95 = func.percentile_cont(0.95).within_group(DELAY) / 3600
ORG_SCOPE = ScopeColumns(Organization.id, Organization.region_code, Organization.founder_id)


def _records(scope: Scope, start: datetime, end: datetime, source_id: int | None) -> Select[Any]:
    stmt = (
        select()
        .select_from(ServiceRecord)
        .join(Organization, Organization.id == ServiceRecord.organization_id)
        .where(ServiceRecord.received_at >= start, ServiceRecord.received_at < end)
    )
    if source_id is not None:
        stmt = stmt.where(ServiceRecord.source_id == source_id)
    return apply_scope(stmt, scope, ORG_SCOPE)


async def timeliness_by_source(
    session: AsyncSession, scope: Scope, start: datetime, end: datetime, source_id: int | None
) -> list[Any]:
    stmt = (
        _records(scope, start, end, source_id)
        .join(Source, Source.id == ServiceRecord.source_id)
        .add_columns(Source.id, Source.name, func.count(), WITHIN, MEDIAN, P95)
        .group_by(Source.id, Source.name)
        .order_by(Source.name)
    )
    return list((await session.execute(stmt)).all())


ORG_SORTS: dict[str, Any] = {
    "records": func.count(),
    "within": WITHIN,
    "median": MEDIAN,
    "p95": P95,
    "name": Organization.short_name,
}


async def timeliness_by_organization(
    session: AsyncSession,
    scope: Scope,
    start: datetime,
    end: datetime,
    source_id: int | None,
    params: PageParams,
) -> tuple[list[Any], int, str]:
    stmt = (
        _records(scope, start, end, source_id)
        .add_columns(Organization.ogrn, Organization.short_name, func.count(), WITHIN, MEDIAN, P95)
        .group_by(Organization.id)
    )
    stmt, sort = order_by_param(stmt, params.sort, ORG_SORTS, "within")
    stmt = stmt.order_by(Organization.ogrn)
    items, total = await paginate(session, stmt, params, scalars=False)
    return items, total, sort


async def batch_totals(
    session: AsyncSession, start: datetime, end: datetime, source_id: int | None
) -> list[Any]:
    """Per source and Moscow day: accepted, duplicates, rejected (sources are not scoped)."""
    day = func.date(func.timezone("Europe/Moscow", IntakeBatch.received_at))
    stmt = (
        select(
            IntakeBatch.source_id,
            day.label("day"),
            func.sum(IntakeBatch.accepted),
            func.sum(IntakeBatch.duplicates),
            func.sum(IntakeBatch.rejected),
        )
        .where(IntakeBatch.received_at >= start, IntakeBatch.received_at < end)
        .group_by(IntakeBatch.source_id, day)
        .order_by(day)
    )
    if source_id is not None:
        stmt = stmt.where(IntakeBatch.source_id == source_id)
    return list((await session.execute(stmt)).all())


async def rejections_by_code(
    session: AsyncSession, start: date, end: date, source_id: int | None
) -> list[Any]:
    stmt = (
        select(IntakeRejection.code, func.sum(IntakeRejection.count).label("n"))
        .where(IntakeRejection.day >= start, IntakeRejection.day <= end)
        .group_by(IntakeRejection.code)
        .order_by(func.sum(IntakeRejection.count).desc(), IntakeRejection.code)
    )
    if source_id is not None:
        stmt = stmt.where(IntakeRejection.source_id == source_id)
    return list((await session.execute(stmt)).all())


async def rejections_by_organization(
    session: AsyncSession, start: date, end: date, source_id: int | None, ogrns: list[str]
) -> list[Any]:
    """(ogrn, code, count) for the given organizations, most frequent first."""
    stmt = (
        select(
            IntakeRejection.organization_ogrn,
            IntakeRejection.code,
            func.sum(IntakeRejection.count),
        )
        .where(
            IntakeRejection.day >= start,
            IntakeRejection.day <= end,
            IntakeRejection.organization_ogrn.in_(ogrns),
        )
        .group_by(IntakeRejection.organization_ogrn, IntakeRejection.code)
        .order_by(func.sum(IntakeRejection.count).desc(), IntakeRejection.code)
    )
    if source_id is not None:
        stmt = stmt.where(IntakeRejection.source_id == source_id)
    return list((await session.execute(stmt)).all())


async def source_has_records(session: AsyncSession, source_id: int) -> bool:
    stmt = select(ServiceRecord.id).where(ServiceRecord.source_id == source_id).limit(1)
    return await session.scalar(stmt) is not None


async def get_source(session: AsyncSession, source_id: int) -> Source | None:
    return await session.get(Source, source_id)


async def delete_contacts_of(session: AsyncSession, record_ids: list[int]) -> None:
    """Forget the contacts of records outreach will not contact (it decided; intake deletes)."""
    if record_ids:
        ids = bindparam("records", record_ids, type_=ARRAY(BigInteger))
        await session.execute(delete(Contact).where(Contact.service_record_id == any_(ids)))


async def purge_expired_contacts(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(Contact).where(Contact.expires_at < now))
    return int(getattr(result, "rowcount", 0) or 0)


async def rekey_service_records(session: AsyncSession) -> int:
    """Old → new person key from the temporary table ``pii_rekey`` (``otklik keys rotate-pii``);
    the rows changed."""
    result = await session.execute(
        text(
            "UPDATE service_records t SET person_key = m.new FROM pii_rekey m"
            " WHERE t.person_key = m.old"
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def reseal_contacts(session: AsyncSession, rows: list[tuple[int, bytes, bytes]]) -> None:
    """Contacts (id, new person key, new sealed bytes) re-keyed by ``otklik keys rotate-pii``."""
    if not rows:
        return
    await session.execute(
        text(
            "UPDATE contacts c SET person_key = u.key, sealed = u.sealed"
            " FROM unnest(CAST(:ids AS bigint[]), CAST(:keys AS bytea[]),"
            " CAST(:sealed AS bytea[])) AS u(id, key, sealed) WHERE c.id = u.id"
        ),
        {
            "ids": [r[0] for r in rows],
            "keys": [r[1] for r in rows],
            "sealed": [r[2] for r in rows],
        },
    )
