"""Built-in reference data: 89 regions, federal and regional founders, organization types.

Seeded idempotently by ``otklik db upgrade`` (upserts by code), so an upgrade never loses
edits made through imports of other kinds.
"""

from __future__ import annotations

import csv
from importlib import resources
from typing import Any

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


async def _upsert(session: AsyncSession, model: Any, rows: list[dict[str, Any]], key: str) -> None:
    if not rows:
        return
    stmt = insert(model).values(rows)
    cols = {c: stmt.excluded[c] for c in rows[0] if c != key}
    await session.execute(stmt.on_conflict_do_update(index_elements=[key], set_=cols))


async def seed_reference(session: AsyncSession) -> dict[str, int]:
    """Upsert regions, founders and organization types; returns counts per kind."""
    regions = [{**r, "okato": r["okato"] or None} for r in read_packaged_csv("regions.csv")]
    await _upsert(session, Region, regions, "code")
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
    await _upsert(session, Founder, founders, "code")
    types = [
        {**t, "position": i} for i, t in enumerate(read_packaged_csv("organization_types.csv"))
    ]
    await _upsert(session, OrganizationType, types, "code")
    await session.flush()
    return {"regions": len(regions), "founders": len(founders), "organization_types": len(types)}
