"""Every registry query. Organization queries go through the scope filter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from otklik.kit.pagination import Page, PageParams, like_pattern, order_by_param, paginate
from otklik.kit.scope import Scope, ScopeColumns, apply_scope
from otklik.registry.models import (
    Founder,
    LifeSituation,
    LifeSituationService,
    Organization,
    OrganizationType,
    Region,
    Service,
    ServiceOrganizationType,
)

ORGANIZATION_SCOPE = ScopeColumns(
    organization_id=Organization.id,
    region_code=Organization.region_code,
    founder_id=Organization.founder_id,
)


def scoped_organizations(scope: Scope) -> Select[tuple[Organization]]:
    return apply_scope(select(Organization), scope, ORGANIZATION_SCOPE)


async def _page(
    session: AsyncSession,
    stmt: Select[Any],
    params: PageParams,
    columns: dict[str, Any],
    default: str,
) -> Page[Any]:
    stmt, sort = order_by_param(stmt, params.sort, columns, default)
    items, total = await paginate(session, stmt, params)
    return Page(
        items, total, PageParams(params.page, params.per_page, sort, params.q), list(columns)
    )


async def list_regions(session: AsyncSession, params: PageParams) -> Page[Region]:
    stmt = select(Region)
    if params.q:
        pat = like_pattern(params.q)
        stmt = stmt.where(or_(Region.name.ilike(pat), Region.code == params.q))
    cols = {"code": Region.code, "name": Region.name, "district": Region.federal_district}
    return await _page(session, stmt, params, cols, "code")


async def get_region(session: AsyncSession, code: str) -> Region | None:
    return await session.get(Region, code)


async def all_regions(session: AsyncSession) -> Sequence[Region]:
    return (await session.scalars(select(Region).order_by(Region.code))).all()


async def list_founders(
    session: AsyncSession, params: PageParams, *, kind: str = "", region_code: str = ""
) -> Page[Founder]:
    stmt = select(Founder)
    if kind:
        stmt = stmt.where(Founder.kind == kind)
    if region_code:
        stmt = stmt.where(Founder.region_code == region_code)
    if params.q:
        pat = like_pattern(params.q)
        stmt = stmt.where(or_(Founder.name.ilike(pat), Founder.short_name.ilike(pat)))
    cols = {"name": Founder.short_name, "code": Founder.code, "kind": Founder.kind}
    return await _page(session, stmt, params, cols, "code")


async def get_founder(session: AsyncSession, code: str) -> Founder | None:
    stmt = select(Founder).where(Founder.code == code).options(joinedload(Founder.region))
    return await session.scalar(stmt)


async def list_types(session: AsyncSession) -> Sequence[OrganizationType]:
    stmt = select(OrganizationType).order_by(OrganizationType.position, OrganizationType.code)
    return (await session.scalars(stmt)).all()


async def get_type(session: AsyncSession, code: str) -> OrganizationType | None:
    return await session.get(OrganizationType, code)


async def list_organizations(
    session: AsyncSession,
    scope: Scope,
    params: PageParams,
    *,
    region_code: str = "",
    type_code: str = "",
    founder_code: str = "",
) -> Page[Organization]:
    stmt = scoped_organizations(scope).options(
        joinedload(Organization.region), joinedload(Organization.type)
    )
    if region_code:
        stmt = stmt.where(Organization.region_code == region_code)
    if type_code:
        stmt = stmt.where(Organization.type_code == type_code)
    if founder_code:
        stmt = stmt.where(
            Organization.founder_id.in_(select(Founder.id).where(Founder.code == founder_code))
        )
    if params.q:
        q = params.q
        if q.isdigit():
            stmt = stmt.where(or_(Organization.ogrn.startswith(q), Organization.inn.startswith(q)))
        else:
            pat = like_pattern(q)
            stmt = stmt.where(
                or_(Organization.short_name.ilike(pat), Organization.full_name.ilike(pat))
            )
    cols = {
        "name": Organization.short_name,
        "ogrn": Organization.ogrn,
        "region": Organization.region_code,
        "type": Organization.type_code,
        "from": Organization.participates_from,
    }
    return await _page(session, stmt, params, cols, "name")


async def get_organization(session: AsyncSession, scope: Scope, ogrn: str) -> Organization | None:
    """The organization with this OGRN if ``scope`` may see it; otherwise None, as if absent."""
    stmt = (
        scoped_organizations(scope)
        .where(Organization.ogrn == ogrn)
        .options(
            joinedload(Organization.region),
            joinedload(Organization.type),
            joinedload(Organization.founder),
        )
    )
    found: Organization | None = await session.scalar(stmt)
    return found


async def count_organizations_by(
    session: AsyncSession, scope: Scope, column: str
) -> dict[str, int]:
    col = {"region": Organization.region_code, "type": Organization.type_code}[column]
    stmt = apply_scope(select(col, func.count()).group_by(col), scope, ORGANIZATION_SCOPE)
    return {str(k): int(v) for k, v in (await session.execute(stmt)).all()}


async def list_services(
    session: AsyncSession, params: PageParams, *, sector: str = "", mszu: bool | None = None
) -> Page[Service]:
    stmt = select(Service)
    if sector:
        stmt = stmt.where(Service.sector == sector)
    if mszu is not None:
        stmt = stmt.where(Service.is_mszu.is_(mszu))
    if params.q:
        pat = like_pattern(params.q)
        stmt = stmt.where(or_(Service.name.ilike(pat), Service.code.ilike(pat)))
    cols = {"code": Service.code, "name": Service.name, "sector": Service.sector}
    return await _page(session, stmt, params, cols, "code")


async def get_service(session: AsyncSession, code: str) -> Service | None:
    return await session.get(Service, code)


async def service_types(session: AsyncSession, code: str) -> Sequence[OrganizationType]:
    stmt = (
        select(OrganizationType)
        .join(ServiceOrganizationType, ServiceOrganizationType.type_code == OrganizationType.code)
        .where(ServiceOrganizationType.service_code == code)
        .order_by(OrganizationType.position)
    )
    return (await session.scalars(stmt)).all()


async def list_life_situations(session: AsyncSession, params: PageParams) -> Page[LifeSituation]:
    stmt = select(LifeSituation)
    if params.q:
        stmt = stmt.where(LifeSituation.name.ilike(like_pattern(params.q)))
    cols = {"code": LifeSituation.code, "name": LifeSituation.name}
    return await _page(session, stmt, params, cols, "name")


async def get_life_situation(session: AsyncSession, code: str) -> LifeSituation | None:
    return await session.get(LifeSituation, code)


async def life_situation_services(session: AsyncSession, code: str) -> Sequence[Service]:
    stmt = (
        select(Service)
        .join(LifeSituationService, LifeSituationService.service_code == Service.code)
        .where(LifeSituationService.life_situation_code == code)
        .order_by(LifeSituationService.position)
    )
    return (await session.scalars(stmt)).all()


async def lookup_codes(session: AsyncSession) -> dict[str, dict[str, Any]]:
    """Maps used by importers to resolve codes in one query each (no query per row)."""
    regions = set((await session.scalars(select(Region.code))).all())
    types = dict(
        (await session.execute(select(OrganizationType.code, OrganizationType.sector))).all()
    )
    founders = dict((await session.execute(select(Founder.code, Founder.id))).all())
    services = set((await session.scalars(select(Service.code))).all())
    return {
        "regions": dict.fromkeys(regions, True),
        "types": types,
        "founders": founders,
        "services": dict.fromkeys(services, True),
    }
