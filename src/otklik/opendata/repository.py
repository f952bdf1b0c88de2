"""Queries of the open data and the public pages: country-wide (they are public), set-based.

Figures come from the indicator engine's rollup and formulas (``table_queries``); which cells
are hidden is decided beforehand (``suppression``) and bound in as ids, as the cabinets do.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    Numeric,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.indicators import table_queries as q
from otklik.indicators.methodology import Methodology
from otklik.indicators.models import IndicatorRollup
from otklik.indicators.periods import Period
from otklik.indicators.repository import ORG_SCOPE, counts_source, moscow_bounds
from otklik.indicators.table_queries import Filters, Window
from otklik.insights.models import CommentAnalysis
from otklik.intake.models import ServiceRecord
from otklik.kit.pagination import like_pattern
from otklik.kit.scope import Scope, apply_scope
from otklik.opendata.models import OpendataFile, OpendataFileRow
from otklik.registry.models import Founder, Organization, OrganizationType, Region

HIDDEN_IDS = bindparam("hidden_ids", type_=ARRAY(BigInteger))


def _recipients(period: Period) -> Any:
    """Distinct service recipients per organization served in the period."""
    lo, hi = moscow_bounds(period.start, period.end)
    sr = ServiceRecord
    return (
        select(
            sr.organization_id.label("oid"),
            func.count(func.distinct(sr.person_key)).label("recipients"),
        )
        .where(sr.served_at >= lo, sr.served_at < hi)
        .group_by(sr.organization_id)
        .subquery("recipients")
    )


def organization_rows(
    m: Methodology, w: Window, period: Period, region: str, type_code: str, founder_id: int | None
) -> Select[Any]:
    """Every organization with its shown figures (the cabinets' table, country scope), its
    founder, address and service recipients; ordered by OGRN. Binds ``hidden_ids`` and
    ``prev_hidden_ids`` (``table_queries.organization_rows``)."""
    base = q.organization_rows(
        m, w, Scope.country(), Filters(type_code=type_code, region_code=region)
    ).subquery("t")
    o, f = Organization, Founder
    rec = _recipients(period)
    stmt = (
        select(
            base.c.oid,
            base.c.ogrn,
            base.c.name,
            o.address,
            base.c.region_code,
            base.c.region_name,
            base.c.type_code,
            base.c.type_name,
            f.code.label("founder_code"),
            f.short_name.label("founder_name"),
            base.c.resp,
            base.c.hidden,
            base.c.integral,
            base.c.shrunk,
            base.c.overall,
            func.coalesce(rec.c.recipients, 0).label("recipients"),
        )
        .join(o, o.id == base.c.oid)
        .join(f, f.id == o.founder_id)
        .outerjoin(rec, rec.c.oid == base.c.oid)
        .order_by(base.c.ogrn)
    )
    if founder_id is not None:
        stmt = stmt.where(o.founder_id == founder_id)
    return stmt


def _per_org(m: Methodology, period: Period) -> Any:
    d = counts_source(period.start, period.end).c
    total = cast(d.total, Integer)
    cols: list[Any] = [
        d.organization_id.label("oid"),
        func.coalesce(func.sum(d.n).filter(d.code == "*"), 0).label("resp"),
        func.coalesce(func.sum(total).filter(d.code == "overall"), 0).label("s_overall"),
        func.coalesce(func.sum(d.n).filter(d.code == "overall"), 0).label("n_overall"),
    ]
    for item in m.integral_weights:
        cols += [
            func.coalesce(func.sum(d.n).filter(d.code == item), 0).label(f"n_{item}"),
            func.coalesce(func.sum(total).filter(d.code == item), 0).label(f"s_{item}"),
        ]
    codes = [*m.integral_weights, "overall", "*"]
    return select(*cols).where(d.code.in_(codes)).group_by(d.organization_id).cte("per_org")


GROUP_COLUMNS = {
    "region": (Organization.region_code, Region.code, Region.name),
    "type": (Organization.type_code, OrganizationType.code, OrganizationType.name),
    "founder": (Organization.founder_id, Founder.id, Founder.short_name),
}


async def aggregate_rows(
    session: AsyncSession, m: Methodology, period: Period, grouping: str, hidden_ids: list[int]
) -> list[Any]:
    """Per region, type or founder with answers in the period: organizations answered about,
    answers, the pooled integral and overall score (exact) and the unweighted (344н) mean of
    the organizations' shown integrals; ordered by key."""
    per = _per_org(m, period)
    o = Organization
    org_col, key_col, name_col = GROUP_COLUMNS[grouping]
    pooled: dict[str, Any] = {"resp": func.sum(per.c.resp)}
    for item in m.integral_weights:
        for p in ("n", "s"):
            pooled[f"{p}_{item}"] = func.sum(per.c[f"{p}_{item}"])
    n_overall = func.sum(per.c.n_overall)
    per_org = case(
        (~(o.id == any_(HIDDEN_IDS)), q.shown(q.integral_expr(per.c, m))),
    )
    extra: list[Any] = [cast(key_col, String).label("key")]
    if grouping == "founder":
        extra.append(Founder.code.label("code"))
    else:
        extra.append(cast(key_col, String).label("code"))
    stmt = (
        select(
            *extra,
            name_col.label("name"),
            func.count(o.id).label("organizations"),
            func.sum(per.c.resp).label("resp"),
            q.integral_expr(pooled, m).label("pooled"),
            case(
                (
                    and_(func.sum(per.c.resp) >= m.min_n, n_overall >= m.min_n),
                    cast(func.sum(per.c.s_overall), Numeric) / func.nullif(n_overall, 0),
                )
            ).label("overall"),
            func.avg(per_org).label("unweighted"),
        )
        .select_from(o)
        .join(per, per.c.oid == o.id)
        .join(key_col.table, key_col == org_col)
        .where(per.c.resp > 0)
        .group_by(key_col, name_col, *([Founder.code] if grouping == "founder" else []))
        .order_by(extra[1])
    )
    stmt = apply_scope(stmt, Scope.country(), ORG_SCOPE)
    return list((await session.execute(stmt, {"hidden_ids": hidden_ids})).all())


async def quarter_integrals(
    session: AsyncSession, m: Methodology, oid: int, start: date, end: date
) -> list[Any]:
    """An organization's answers and integral per quarter between two month starts."""
    r = IndicatorRollup
    quarter = func.date_trunc("quarter", r.day).label("quarter")
    total = cast(r.total, Integer)
    cols: dict[str, Any] = {"resp": func.coalesce(func.sum(r.n).filter(r.code == "*"), 0)}
    for item in m.integral_weights:
        cols[f"n_{item}"] = func.coalesce(func.sum(r.n).filter(r.code == item), 0)
        cols[f"s_{item}"] = func.coalesce(func.sum(total).filter(r.code == item), 0)
    stmt = (
        select(quarter, cols["resp"].label("resp"), q.integral_expr(cols, m).label("integral"))
        .where(r.grain == "m", r.organization_id == oid, r.day.between(start, end))
        .group_by(quarter)
        .order_by(quarter)
    )
    return list((await session.execute(stmt)).all())


async def topic_counts(
    session: AsyncSession, oid: int, period: Period
) -> tuple[int, list[tuple[str, int]]]:
    """Analysed comments of an organization in the period and how many mention each topic."""
    ca = CommentAnalysis
    where = (ca.organization_id == oid, ca.answered_on.between(period.start, period.end))
    n = int(await session.scalar(select(func.count()).select_from(ca).where(*where)) or 0)
    topic = func.unnest(ca.topics).label("topic")
    sub = select(topic).where(*where).subquery()
    stmt = (
        select(sub.c.topic, func.count())
        .group_by(sub.c.topic)
        .order_by(func.count().desc(), sub.c.topic)
    )
    return n, [(str(t), int(k)) for t, k in await session.execute(stmt)]


async def recipients(session: AsyncSession, oid: int, period: Period) -> int:
    rec = _recipients(period)
    value = await session.scalar(select(rec.c.recipients).where(rec.c.oid == oid))
    return int(value or 0)


async def organization(session: AsyncSession, ogrn: str) -> Any:
    o, r, t, f = Organization, Region, OrganizationType, Founder
    stmt = (
        select(
            o.id,
            o.ogrn,
            o.short_name,
            o.full_name,
            o.address,
            o.region_code,
            r.name.label("region_name"),
            o.type_code,
            t.name.label("type_name"),
            f.short_name.label("founder_name"),
        )
        .join(r, r.code == o.region_code)
        .join(t, t.code == o.type_code)
        .join(f, f.id == o.founder_id)
        .where(o.ogrn == ogrn)
    )
    return (await session.execute(stmt)).first()


async def region(session: AsyncSession, code: str) -> Region | None:
    return await session.get(Region, code)


async def regions(session: AsyncSession) -> list[Region]:
    return list((await session.scalars(select(Region).order_by(Region.code))).all())


async def type_exists(session: AsyncSession, code: str) -> bool:
    return await session.get(OrganizationType, code) is not None


async def founder_by_code(session: AsyncSession, code: str) -> Founder | None:
    found: Founder | None = await session.scalar(select(Founder).where(Founder.code == code))
    return found


async def search(
    session: AsyncSession, text: str, region: str, limit: int, offset: int
) -> tuple[list[Any], int]:
    """Organizations by name, OGRN or address (and region): name, region and address shown,
    as organizations share names."""
    o, r = Organization, Region
    stmt = select(
        o.ogrn,
        o.short_name,
        o.address,
        o.region_code,
        r.name.label("region_name"),
        func.count().over().label("full_count"),
    ).join(r, r.code == o.region_code)
    if text:
        pattern = like_pattern(text)
        stmt = stmt.where(
            or_(
                o.short_name.ilike(pattern),
                o.full_name.ilike(pattern),
                o.address.ilike(pattern),
                o.ogrn == text,
                r.name.ilike(pattern),
            )
        )
    if region:
        stmt = stmt.where(o.region_code == region)
    stmt = apply_scope(stmt, Scope.country(), ORG_SCOPE)
    stmt = stmt.order_by(o.short_name, r.name, o.ogrn).limit(limit).offset(offset)
    rows = list((await session.execute(stmt)).all())
    return rows, int(rows[0].full_count) if rows else 0


async def sitemap_ogrns(session: AsyncSession) -> list[str]:
    return list(
        (await session.scalars(select(Organization.ogrn).order_by(Organization.ogrn))).all()
    )


async def first_answer_month(session: AsyncSession) -> date | None:
    r = IndicatorRollup
    value: date | None = await session.scalar(select(func.min(r.day)).where(r.grain == "m"))
    return value


async def fingerprint(session: AsyncSession, period: Period) -> tuple[Any, ...]:
    """A digest of everything a file of the period shows: the period's rollup rows and the
    registry (names, addresses, founders)."""
    r, o = IndicatorRollup, Organization
    counts = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(r.n), 0),
                func.coalesce(func.sum(r.total), 0),
                func.coalesce(func.sum(r.organization_id * r.n), 0),
                func.coalesce(func.sum(r.isum), 0.0),
            ).where(
                r.grain == "m",
                r.day.between(period.start, period.end),
                # answers and the respondents' integrals: any new or changed score moves them
                r.code.in_(("*", "*integral")),
            )
        )
    ).one()
    registry = (
        await session.execute(
            select(func.count(), func.max(o.updated_at), func.coalesce(func.sum(o.founder_id), 0))
        )
    ).one()
    founders = await session.scalar(select(func.count()).select_from(Founder))
    return (*counts, *registry, founders)


# --- stored files (store.py) ---


async def lock_file(session: AsyncSession, period: str, dataset: str, version: str) -> None:
    """Hold the file's build lock until the transaction ends: one builder at a time, in every
    process (a transaction-level advisory lock keyed by the file)."""
    key = f"opendata:{period}:{dataset}:{version}"
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))


async def stored_file(
    session: AsyncSession, period: str, dataset: str, version: str
) -> tuple[int, str] | None:
    """The stored file's id and source, if any."""
    f = OpendataFile
    stmt = select(f.id, f.source).where(
        f.period == period, f.dataset == dataset, f.methodology_version == version
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (int(row[0]), str(row[1]))


async def replace_file(
    session: AsyncSession,
    period: str,
    dataset: str,
    version: str,
    source: str,
    rows: list[dict[str, Any]],
    build_ms: int,
) -> int:
    """Write a built file (its rows: seq, region/type/founder codes, csv, json), replacing the
    stored one of the same key; files of the quarter and dataset under other methodology
    versions are deleted. Returns the file's id."""
    await session.execute(
        delete(OpendataFile).where(
            OpendataFile.period == period,
            OpendataFile.dataset == dataset,
            OpendataFile.methodology_version != version,
        )
    )
    ins = pg_insert(OpendataFile).values(
        period=period,
        dataset=dataset,
        methodology_version=version,
        source=source,
        rows=len(rows),
        build_ms=build_ms,
    )
    ins = ins.on_conflict_do_update(
        constraint="uq_opendata_files_period_dataset_methodology_version",
        set_={
            "source": ins.excluded.source,
            "rows": ins.excluded.rows,
            "build_ms": ins.excluded.build_ms,
            "builds": OpendataFile.builds + 1,
            "built_at": func.now(),
        },
    )
    file_id = int((await session.execute(ins.returning(OpendataFile.id))).scalar_one())
    await session.execute(delete(OpendataFileRow).where(OpendataFileRow.file_id == file_id))
    for i in range(0, len(rows), 5000):
        part = [{"file_id": file_id, **r} for r in rows[i : i + 5000]]
        await session.execute(insert(OpendataFileRow), part)
    return file_id


async def still_stored(session: AsyncSession, file_id: int, source: str, lock: bool = True) -> bool:
    """Whether the file is still the one of ``source``, locked against a rebuild (FOR SHARE)
    until the transaction ends: a file being streamed is never replaced under the reader.
    ``lock=False`` on a read replica, where the transaction's snapshot does that instead."""
    stmt = select(OpendataFile.id).where(OpendataFile.id == file_id, OpendataFile.source == source)
    if lock:
        stmt = stmt.with_for_update(read=True)
    return (await session.scalar(stmt)) is not None


def file_rows(file_id: int, fmt: str, region: str, type_code: str, founder: str) -> Select[Any]:
    """The stored file's encoded rows in order, filtered by the organizations' codes."""
    r = OpendataFileRow
    stmt = select(r.csv if fmt == "csv" else r.json).where(r.file_id == file_id)
    if region:
        stmt = stmt.where(r.region_code == region)
    if type_code:
        stmt = stmt.where(r.type_code == type_code)
    if founder:
        stmt = stmt.where(r.founder_code == founder)
    return stmt.order_by(r.seq)


async def stored_quarters(session: AsyncSession) -> list[str]:
    stmt = select(OpendataFile.period).distinct().order_by(OpendataFile.period.desc())
    return list(await session.scalars(stmt))
