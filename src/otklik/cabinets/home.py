"""The cabinet home of every role: the scope's organizations and a citizen's questionnaires."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from otklik.cabinets import service
from otklik.cabinets.svg import sparkline
from otklik.errors import NotFound
from otklik.identity.deps import PageUser, require_roles
from otklik.identity.models import User
from otklik.identity.roles import INDICATOR_READERS
from otklik.identity.service import scope_of
from otklik.indicators import service as ind
from otklik.indicators.periods import parse_period
from otklik.insights import repository as insights_repository
from otklik.kit.clock import moscow_date
from otklik.kit.scope import ScopeKind
from otklik.kit.web import ReadDB, render, settings_of
from otklik.outreach.citizen import my_questionnaires
from otklik.registry import repository as registry_repository
from otklik.registry.models import Founder, Organization, Region

router = APIRouter(include_in_schema=False)


async def _scope_title(session: ReadDB, user: User) -> str:
    kind = ScopeKind(user.scope_kind)
    if kind is ScopeKind.organization and user.scope_organization_id:
        org = await session.get(Organization, user.scope_organization_id)
        return org.short_name if org else ""
    if kind is ScopeKind.region and user.scope_region_code:
        region = await session.get(Region, user.scope_region_code)
        return region.name if region else ""
    if kind is ScopeKind.founder and user.scope_founder_id:
        founder = await session.get(Founder, user.scope_founder_id)
        return founder.short_name if founder else ""
    return ""


@router.get("/cabinet", response_class=HTMLResponse)
async def cabinet(request: Request, session: ReadDB, user: PageUser) -> Response:
    scope = scope_of(user)
    by_type = await registry_repository.count_organizations_by(session, scope, "type")
    types = await registry_repository.list_types(session)
    rows = [(t, by_type.get(t.code, 0)) for t in types if by_type.get(t.code)]
    top = max((n for _, n in rows), default=0)
    org = None
    if user.scope_organization_id:
        org = await session.get(Organization, user.scope_organization_id)
    mine = await my_questionnaires(session, settings_of(request), user.person_key)
    landing = None
    m = None
    if user.role in INDICATOR_READERS:
        m = await ind.methodology(session, None)
        landing = await service.landing(session, user, m, moscow_date())
    return render(
        request,
        "cabinet.html",
        user=user,
        scope_title=await _scope_title(session, user),
        by_type=rows,
        top=top,
        total=sum(by_type.values()),
        organization=org,
        mine=mine,
        landing=landing,
        m=m,
        spark=sparkline(landing.trend, "integral") if landing else None,
    )


ReaderUser = Annotated[User, Depends(require_roles(*INDICATOR_READERS))]


@router.get("/cabinet/fix-first", response_class=HTMLResponse)
async def fix_first(
    request: Request,
    session: ReadDB,
    user: ReaderUser,
    organization: Annotated[str, Query(max_length=20)] = "",
    period: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """Items and topics of the scope (or of one organization in it) ranked by the expected
    gain if fixed, over the first window with enough answers or the period asked for."""
    scope = scope_of(user)
    if organization:
        unit = await ind.resolve_unit(session, f"organization:{organization}")
        await ind.check_scope(session, scope, unit)
    else:
        found = await service.landing_unit(session, user)
        if found is None:
            raise NotFound()
        unit = found
    m = await ind.methodology(session, None)
    p = service.fixed_period(parse_period(period)) if period else None
    fix = await service.fix_first(session, scope, unit, m, moscow_date(), p)
    progress = await insights_repository.analysis_progress(session, scope)
    return render(request, "cabinets/fix_first.html", unit=unit, fix=fix, m=m, progress=progress)
