"""Timeliness and quality of each source's data: the figures behind the page and the API."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import Forbidden, NotFound
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.service import scope_of
from otklik.intake import repository
from otklik.intake.messages import MESSAGES
from otklik.intake.schemas import (
    DayVolumeOut,
    OrganizationQualityOut,
    QualityOut,
    RejectionOut,
    SourceQualityOut,
)
from otklik.kit.clock import moscow_date
from otklik.kit.pagination import PageParams


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


async def source_filter(session: AsyncSession, user: User, source_name: str | None) -> int | None:
    """The source a user may look at: an operator's own, or any (None: all) for the others."""
    if user.role == Role.is_operator and user.source_id is not None:
        own = await repository.get_source(session, user.source_id)
        if source_name and (own is None or own.name != source_name):
            raise Forbidden("Оператору доступны только данные своей информационной системы.")
        return user.source_id
    if not source_name:
        return None
    source = await repository.get_source_by_name(session, source_name)
    if source is None:
        raise NotFound("Источник не найден.")
    return source.id


async def build(
    session: AsyncSession,
    user: User,
    *,
    days: int,
    source_name: str | None,
    params: PageParams | None = None,
    now: datetime | None = None,
) -> QualityOut:
    """Timeliness per source and organization, rejections by code, volume per day."""
    end = now or datetime.now(UTC)
    start = end - timedelta(days=days)
    source_id = await source_filter(session, user, source_name)
    scope = scope_of(user)
    params = params or PageParams(per_page=50)
    totals = await repository.batch_totals(session, start, end, source_id)
    per_source: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    per_day: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0])
    for sid, day, accepted, duplicates, rejected in totals:
        per_source[sid][0] += int(duplicates)
        per_source[sid][1] += int(rejected)
        row = per_day[day]
        row[0] += int(accepted)
        row[1] += int(duplicates)
        row[2] += int(rejected)
    sources = [
        SourceQualityOut(
            source=name,
            records=n,
            within_3_days=_round(within, 3),
            median_delay_hours=_round(median),
            p95_delay_hours=_round(p95),
            duplicates=per_source[sid][0],
            rejected=per_source[sid][1],
        )
        for sid, name, n, within, median, p95 in await repository.timeliness_by_source(
            session, scope, start, end, source_id
        )
    ]
    orgs, total, sort = await repository.timeliness_by_organization(
        session, scope, start, end, source_id, params
    )
    first_day, last_day = moscow_date(start), moscow_date(end)
    rejections = await repository.rejections_by_code(session, first_day, last_day, source_id)
    org_rejects: dict[str, dict[str, int]] = defaultdict(dict)
    for ogrn, code, n in await repository.rejections_by_organization(
        session, first_day, last_day, source_id, [row[0] for row in orgs]
    ):
        org_rejects[ogrn][code] = int(n)
    return QualityOut(
        date_from=first_day,
        date_to=last_day,
        sources=sources,
        organizations_total=total,
        organizations_sort=sort,
        organizations=[
            OrganizationQualityOut(
                ogrn=ogrn,
                name=name,
                records=n,
                within_3_days=_round(within, 3),
                median_delay_hours=_round(median),
                p95_delay_hours=_round(p95),
                rejected=sum(org_rejects[ogrn].values()),
                rejections=org_rejects[ogrn],
            )
            for ogrn, name, n, within, median, p95 in orgs
        ],
        rejections=[
            RejectionOut(code=code, message=MESSAGES.get(code, code), count=int(n))
            for code, n in rejections
        ],
        days=[
            DayVolumeOut(day=day, accepted=a, duplicates=d, rejected=r)
            for day, (a, d, r) in sorted(per_day.items())
        ],
    )
