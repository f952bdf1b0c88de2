"""Built-in reference data: 89 regions, federal and regional founders, organization types.

Seeded idempotently by ``otklik db upgrade`` (upserts by code), so an upgrade never loses
edits made through imports of other kinds.
"""

from __future__ import annotations

import csv
from importlib import resources
from typing import Any, NamedTuple

from sqlalchemy import literal_column, or_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.registry.models import Founder, OrganizationType, Region

REGIONAL_BODIES = (
    ("health", "healthcare", "Министерство здравоохранения", "Минздрав"),
    ("education", "education", "Министерство образования", "Минобразования"),
    ("sport", "sport", "Министерство физической культуры и спорта", "Минспорт"),
    ("social", "social", "Министерство социальной защиты населения", "Минсоцзащиты"),
)


def read_packaged_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("otklik.registry").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def regional_founder_code(region_code: str, body: str) -> str:
    return f"r{region_code}-{body}"


class Loaded(NamedTuple):
    """One kind of built-in data after an upsert: rows in the file, added, changed."""

    total: int
    inserted: int
    updated: int


async def _upsert(
    session: AsyncSession, model: Any, rows: list[dict[str, Any]], key: str
) -> Loaded:
    """Insert new rows, update changed ones, leave identical rows untouched (no new tuple)."""
    if not rows:
        return Loaded(0, 0, 0)
    stmt = insert(model).values(rows)
    table = model.__table__
    cols = {c: stmt.excluded[c] for c in rows[0] if c != key}
    changed = or_(*(table.c[c].is_distinct_from(stmt.excluded[c]) for c in cols))
    stmt = stmt.on_conflict_do_update(index_elements=[key], set_=cols, where=changed)
    # xmax = 0 on a returned row: it was inserted (not updated) by this statement
    fresh: list[bool] = list(
        (await session.execute(stmt.returning(literal_column("xmax = 0")))).scalars().all()
    )
    inserted = sum(1 for f in fresh if f)
    return Loaded(len(rows), inserted, len(fresh) - inserted)


async def seed_reference(session: AsyncSession) -> dict[str, Loaded]:
    """Upsert regions, founders and organization types; what was loaded, per kind."""
    regions = [{**r, "okato": r["okato"] or None} for r in read_packaged_csv("regions.csv")]
    loaded = {"regions": await _upsert(session, Region, regions, "code")}
    founders: list[dict[str, Any]] = [
        {**f, "kind": "federal", "region_code": None}
        for f in read_packaged_csv("federal_founders.csv")
    ]
    for r in regions:
        for body, sector, name, short in REGIONAL_BODIES:
            founders.append(
                {
                    "code": regional_founder_code(str(r["code"]), body),
                    "kind": "regional",
                    "short_name": f"{short} {r['name_genitive']}",
                    "name": f"{name} {r['name_genitive']}",
                    "sector": sector,
                    "region_code": r["code"],
                }
            )
    loaded["founders"] = await _upsert(session, Founder, founders, "code")
    types = [
        {**t, "position": i} for i, t in enumerate(read_packaged_csv("organization_types.csv"))
    ]
    loaded["organization_types"] = await _upsert(session, OrganizationType, types, "code")
    await session.flush()
    return loaded
