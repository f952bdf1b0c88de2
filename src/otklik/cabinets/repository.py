"""Cabinet queries that are not figures: filter options and the comparison group's size.

Every figure comes from the indicator engine (``otklik.indicators.tables`` and ``service``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.indicators.repository import ORG_SCOPE
from otklik.indicators.table_queries import Filters, Window
from otklik.kit.scope import Scope, apply_scope
from otklik.registry.models import LifeSituation, Organization, OrganizationType, Region
from otklik.surveys.models import Response

__all__ = ["Filters", "Window", "filter_options", "other_responding"]


async def filter_options(session: AsyncSession, scope: Scope) -> tuple[list[Any], list[Any]]:
    """Types and regions that occur among the organizations in scope."""
    o = Organization
    types = select(OrganizationType.code, OrganizationType.name).where(
        OrganizationType.code.in_(apply_scope(select(o.type_code), scope, ORG_SCOPE))
    )
    regions = select(Region.code, Region.name).where(
        Region.code.in_(apply_scope(select(o.region_code), scope, ORG_SCOPE))
    )
    return (
        list((await session.execute(types.order_by(OrganizationType.position))).all()),
        list((await session.execute(regions.order_by(Region.code))).all()),
    )


async def other_responding(
    session: AsyncSession, organization: Organization, start: date, end: date
) -> int:
    """How many other organizations of the same type and region were answered about in the
    period (the comparison group is shown only when it cannot single one of them out)."""
    stmt = (
        select(func.count(func.distinct(Response.organization_id)))
        .join(Organization, Organization.id == Response.organization_id)
        .where(
            Organization.type_code == organization.type_code,
            Organization.region_code == organization.region_code,
            Organization.id != organization.id,
            Response.answered_on >= start,
            Response.answered_on <= end,
        )
    )
    return int(await session.scalar(stmt) or 0)


async def life_situation_names(session: AsyncSession, codes: list[str]) -> dict[str, str]:
    """Russian names of the life situations ``codes`` (public registry data)."""
    if not codes:
        return {}
    stmt = select(LifeSituation.code, LifeSituation.name).where(LifeSituation.code.in_(codes))
    return {str(c): str(n) for c, n in await session.execute(stmt)}
