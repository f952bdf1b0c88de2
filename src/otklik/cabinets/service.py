"""Cabinet data: what each role's pages show, assembled from the indicator engine only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.cabinets import repository
from otklik.cabinets.repository import Filters
from otklik.errors import NotFound
from otklik.identity.models import User
from otklik.identity.roles import COMMENT_TEXT_ROLES
from otklik.identity.service import scope_of
from otklik.indicators import repository as ind_repo
from otklik.indicators import series, tables
from otklik.indicators import service as ind
from otklik.indicators.methodology import Methodology
from otklik.indicators.periods import Period
from otklik.indicators.repository import UnitFilter
from otklik.indicators.schemas import IndicatorsOut
from otklik.indicators.tables import BIN_LABELS, OrgTable, band
from otklik.kit.scope import Scope
from otklik.registry.models import Organization

__all__ = ["BIN_LABELS", "OrgTable", "band"]
PER_PAGE = 25
COMMENTS_PER_PAGE = 20
MIN_OTHERS = 3  # other organizations answered about, for a comparison group to be shown


@dataclass
class Dashboard:
    data: IndicatorsOut
    trend: list[dict[str, Any]]
    group: IndicatorsOut
    organization_id: int
    comments: list[Any] = field(default_factory=list)
    comments_total: int = 0
    comments_shown: bool = False
    comments_allowed: bool = True  # False: the viewer's role sees figures only


def withheld(out: IndicatorsOut) -> IndicatorsOut:
    """``out`` with every score hidden ("недостаточно данных")."""
    gone = {
        "mean": None,
        "ci_low": None,
        "ci_high": None,
        "csat": None,
        "csat_ci_low": None,
        "csat_ci_high": None,
        "suppressed": True,
    }
    return out.model_copy(
        update={
            "items": [i.model_copy(update=gone) for i in out.items],
            "integral": out.integral.model_copy(
                update={"value": None, "ci_low": None, "ci_high": None, "suppressed": True}
            ),
        }
    )


async def organization_dashboard(
    session: AsyncSession,
    user: User,
    ogrn: str,
    period: Period,
    m: Methodology,
    today: date,
    *,
    q: str = "",
    score: int | None = None,
    page: int = 1,
) -> Dashboard:
    """Headline indicators, trend, comparison group and masked comments of one organization."""
    scope = scope_of(user)
    unit = await ind.resolve_unit(session, f"organization:{ogrn}")
    await ind.check_scope(session, scope, unit)
    data = await ind.compute(session, scope, unit, period, m, today)
    org = await session.get(Organization, int(unit.target_id))
    if org is None:
        raise NotFound()
    # The comparison group is an aggregate of the whole type and region, read country-wide on
    # purpose (it shows no organization's own figures). Its cells are protected as the group
    # minus the viewer's own organization, and it is withheld unless at least three other
    # organizations were answered about: otherwise a member could subtract its own answers.
    group_filter = UnitFilter(
        and_(Organization.type_code == org.type_code, Organization.region_code == org.region_code)
    )
    group_unit = ind.Unit("group", f"{org.type_code}:{org.region_code}", "", group_filter)
    group = await ind.compute(session, Scope.country(), group_unit, period, m, today, minus=unit)
    others = await repository.other_responding(session, org, period.start, period.end)
    if others < MIN_OTHERS or group.counts.responses - data.counts.responses < m.min_n:
        group = withheld(group)
    dash = Dashboard(data, await series.trend(session, scope, unit, period, m), group, org.id)
    dash.comments_allowed = user.role in COMMENT_TEXT_ROLES
    shown_any = not data.integral.suppressed or any(not i.suppressed for i in data.items)
    if dash.comments_allowed and shown_any:
        dash.comments_shown = data.counts.responses >= m.min_n
    if dash.comments_shown:
        dash.comments, dash.comments_total = await ind_repo.comments(
            session,
            scope,
            org.id,
            period.start,
            period.end,
            q=q,
            score=score,
            limit=COMMENTS_PER_PAGE,
            offset=(page - 1) * COMMENTS_PER_PAGE,
        )
    return dash


async def organization_table(
    session: AsyncSession,
    user: User,
    period: Period,
    m: Methodology,
    today: date,
    f: Filters,
    sort: str,
    page: int,
    per_page: int = PER_PAGE,
) -> OrgTable:
    """One page of the organizations in scope with their shown figures."""
    return await tables.organization_table(
        session, scope_of(user), period, m, today, f, sort, page, per_page
    )


async def distribution(
    session: AsyncSession, user: User, period: Period, m: Methodology, today: date
) -> list[tuple[str, int]]:
    return await tables.distribution(session, scope_of(user), period, m, today)


async def regions(
    session: AsyncSession, user: User, period: Period, m: Methodology, today: date
) -> list[dict[str, Any]]:
    return await tables.regions(session, scope_of(user), period, m, today)


async def filter_options(session: AsyncSession, user: User) -> tuple[list[Any], list[Any]]:
    return await repository.filter_options(session, scope_of(user))
