"""Figures of a region or founder as a whole: answer rate by organization type, participation
under decree 882, and the organizations' table with the change against the previous year.

Cabinets call these; hidden cells are decided here with ``disclosure`` (never by a page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.indicators import disclosure, tables
from otklik.indicators import table_queries as q
from otklik.indicators.methodology import Methodology
from otklik.indicators.periods import Period, year_of
from otklik.indicators.repository import ORG_SCOPE, moscow_bounds
from otklik.indicators.stats import wilson
from otklik.indicators.table_queries import Filters
from otklik.intake.models import ServiceRecord
from otklik.kit.scope import Scope, apply_scope
from otklik.outreach.models import Invitation
from otklik.registry.models import Organization, OrganizationType
from otklik.surveys.models import Response

# Decree 882 (items 8a and 10b of the decree): the organizations taking part must be at least
# 50 % of the social-sphere organizations of each type in the region.
PARTICIPATION_MIN = 50.0
FLOATS = ("integral", "overall", "shrunk", "ytd", "baseline", "target", "change")


@dataclass
class TypeRate:
    code: str
    name: str
    organizations: int
    answers: int
    delivered: int | None  # hidden when small (with the rate it would give the answers away)
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    hidden: bool


@dataclass
class Participation:
    code: str
    name: str
    organizations: int  # in the registry, in scope
    listed: int  # included in the experiment's list for some day of the period
    active: int  # with service records or answers in the period
    share: float | None  # active ÷ organizations, %
    below: bool  # under PARTICIPATION_MIN


def _types(scope: Scope) -> Any:
    o = Organization
    stmt = (
        select(o.type_code, func.count().label("organizations"))
        .group_by(o.type_code)
        .select_from(o)
    )
    return apply_scope(stmt, scope, ORG_SCOPE)


async def answer_rates(
    session: AsyncSession, scope: Scope, period: Period, m: Methodology
) -> list[TypeRate]:
    """Per organization type in scope: answers (by answer date) ÷ invitations delivered in the
    period, as the unit's own response rate is computed. A type whose answers are fewer than
    the threshold is hidden, and then more types (smallest first) until the hidden ones hold
    none or at least the threshold: the scope's total beside them cannot give them away."""
    lo, hi = moscow_bounds(period.start, period.end)
    o, r, inv = Organization, Response, Invitation
    answers = apply_scope(
        select(o.type_code, func.count().label("n"))
        .select_from(r)
        .join(o, o.id == r.organization_id)
        .where(r.answered_on.between(period.start, period.end))
        .group_by(o.type_code),
        scope,
        ORG_SCOPE,
    ).subquery("answers")
    delivered = apply_scope(
        select(o.type_code, func.count().label("n"))
        .select_from(inv)
        .join(o, o.id == inv.organization_id)
        .where(inv.delivered_at >= lo, inv.delivered_at < hi)
        .group_by(o.type_code),
        scope,
        ORG_SCOPE,
    ).subquery("delivered")
    types = _types(scope).subquery("types")
    t = OrganizationType
    stmt = (
        select(
            t.code,
            t.name,
            types.c.organizations,
            func.coalesce(answers.c.n, 0).label("answers"),
            func.coalesce(delivered.c.n, 0).label("delivered"),
        )
        .join(types, types.c.type_code == t.code)
        .outerjoin(answers, answers.c.type_code == t.code)
        .outerjoin(delivered, delivered.c.type_code == t.code)
        .order_by(t.position, t.code)
    )
    rows = list((await session.execute(stmt)).all())
    hidden = disclosure.table_hidden([int(x.answers) for x in rows], m.min_n)
    hidden -= {i for i, x in enumerate(rows) if int(x.answers) == 0}  # nothing to hide
    out = []
    for i, x in enumerate(rows):
        k, n = int(x.answers), int(x.delivered)
        rate = None if i in hidden else disclosure.ratio(k, n, m.min_n)
        w = wilson(k, n, m.confidence) if rate is not None and k <= n else None
        out.append(
            TypeRate(
                code=str(x.code),
                name=str(x.name),
                organizations=int(x.organizations),
                answers=k,
                delivered=None if i in hidden else disclosure.count(n, m.min_n),
                rate=rate,
                ci_low=disclosure.shown(100 * w.low, 1) if w else None,
                ci_high=disclosure.shown(100 * w.high, 1) if w else None,
                hidden=i in hidden,
            )
        )
    return out


async def participation(session: AsyncSession, scope: Scope, period: Period) -> list[Participation]:
    """Per organization type in scope: organizations in the registry, those on the
    experiment's list for the period, and those taking part (a service record served or a
    questionnaire answered in the period), against decree 882's rule of at least 50 %."""
    lo, hi = moscow_bounds(period.start, period.end)
    o, sr, r = Organization, ServiceRecord, Response
    served = exists().where(sr.organization_id == o.id, sr.served_at >= lo, sr.served_at < hi)
    answered = exists().where(
        r.organization_id == o.id, r.answered_on.between(period.start, period.end)
    )
    listed = and_(
        o.participates_from.is_not(None),
        o.participates_from <= period.end,
        or_(o.participates_to.is_(None), o.participates_to >= period.start),
    )
    t = OrganizationType
    stmt = (
        select(
            t.code,
            t.name,
            func.count().label("organizations"),
            func.count().filter(listed).label("listed"),
            func.count().filter(or_(served, answered)).label("active"),
        )
        .select_from(o)
        .join(t, t.code == o.type_code)
        .group_by(t.code, t.name, t.position)
        .order_by(t.position, t.code)
    )
    out = []
    for x in await session.execute(apply_scope(stmt, scope, ORG_SCOPE)):
        share = disclosure.percent(int(x.active), int(x.organizations))
        out.append(
            Participation(
                code=str(x.code),
                name=str(x.name),
                organizations=int(x.organizations),
                listed=int(x.listed),
                active=int(x.active),
                share=share,
                below=share is None or share < PARTICIPATION_MIN,
            )
        )
    return out


def with_change(stmt: Select[Any]) -> Select[Any]:
    """The organizations' rows with ``change``: the shown integral minus the shown previous
    year's value (both already public in the table; NULL when either is hidden)."""
    sub = stmt.subquery("rows")
    return select(sub, (sub.c.integral - sub.c.baseline).label("change"))


async def organization_table(
    session: AsyncSession,
    scope: Scope,
    period: Period,
    m: Methodology,
    today: date,
    sort: str,
    page: int,
    per_page: int,
) -> tables.OrgTable:
    """One page of the organizations in scope with their change against the previous year
    (sortable by it: ``change`` / ``-change``); rows hidden as in every published table."""
    params = {
        "hidden_ids": sorted(await tables.hidden_organizations(session, period, m)),
        "prev_hidden_ids": sorted(
            await tables.hidden_organizations(session, year_of(period.year - 1), m)
        ),
    }
    stmt = with_change(q.organization_rows(m, tables.window(period, today), scope, Filters()))
    rows, total, _, _ = await q.organization_page(
        session, stmt, params, sort, per_page, (page - 1) * per_page
    )
    out = []
    for r in rows:
        row = dict(r._mapping)
        for k in FLOATS:
            row[k] = None if row[k] is None else float(row[k])
        row["status_label"] = tables.STATUS_LABELS_SHOWN[r.status]
        out.append(row)
    return tables.OrgTable(out, total, page, max(1, -(-total // per_page)))


def improved_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with a shown positive change, the largest first."""
    up = [r for r in rows if r.get("change") is not None and r["change"] > 0]
    return sorted(up, key=lambda r: (-r["change"], r["name"]))
