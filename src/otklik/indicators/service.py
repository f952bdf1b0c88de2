"""Indicator rules: units, scope, formulas over the rollup counts. Knows nothing of HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import DomainError, Forbidden, NotFound
from otklik.identity.roles import ScopeKind
from otklik.indicators import repository
from otklik.indicators.methodology import ITEM_LABELS, Methodology
from otklik.indicators.periods import Period, parse_period
from otklik.indicators.repository import UnitFilter
from otklik.indicators.schemas import (
    CountsOut,
    DelayOut,
    IndicatorsOut,
    IntegralOut,
    ItemOut,
    PeriodOut,
    ShareOut,
    TargetOut,
    UnitOut,
)
from otklik.indicators.stats import (
    STATUS_LABELS,
    annual_target,
    integral_interval,
    score_interval,
    wilson,
)
from otklik.kit.scope import Scope
from otklik.registry.models import SECTOR_LABELS, Organization, OrganizationType

UNIT_KINDS = {
    "organization": "организация (ОГРН)",
    "region": "субъект РФ (код)",
    "type": "тип организации (код)",
    "sector": "отрасль (код)",
    "founder": "учредитель (код)",
    "service": "услуга (код)",
    "life_situation": "жизненная ситуация (код)",
    "country": "страна (RU)",
}


class BadUnit(DomainError):
    status_code = 400
    code = "bad_unit"
    message = "Единица не распознана: укажите её как вид:код, например organization:1027700132195."


@dataclass(frozen=True)
class Unit:
    kind: str
    key: str
    name: str
    filter: UnitFilter
    target_id: Any = None


def _filter(kind: str, key: str, target: Any) -> UnitFilter:
    o = Organization
    conds: dict[str, ColumnElement[bool]] = {
        "organization": o.id == target,
        "region": o.region_code == key,
        "type": o.type_code == key,
        "founder": o.founder_id == target,
        "sector": o.type_code.in_(
            select(OrganizationType.code).where(OrganizationType.sector == key)
        ),
    }
    if kind == "service":
        return UnitFilter(true(), service_code=key)
    if kind == "life_situation":
        return UnitFilter(true(), life_situation_code=key)
    return UnitFilter(conds.get(kind, true()))


async def resolve_unit(session: AsyncSession, spec: str) -> Unit:
    """``kind:id`` to a unit; an unknown kind is 400, an unknown id 404."""
    kind, sep, key = spec.strip().partition(":")
    if not sep or not key or len(spec) > 200:
        raise BadUnit()
    if kind not in UNIT_KINDS:
        kinds = ", ".join(UNIT_KINDS)
        raise BadUnit(f"Неизвестный вид единицы «{kind[:40]}»: допустимы {kinds}.")
    if kind == "country":
        if key != "RU":
            raise NotFound("Страна указывается как country:RU.", code="unit_not_found")
        return Unit(kind, key, "Российская Федерация", UnitFilter(true()))
    if kind == "sector":
        if key not in SECTOR_LABELS:
            raise NotFound(f"Отрасль «{key[:40]}» не найдена.", code="unit_not_found")
        return Unit(kind, key, SECTOR_LABELS[key], _filter(kind, key, None))
    found = await repository.find_unit(session, kind, key)
    if found is None:
        raise NotFound(f"Не найдено: {UNIT_KINDS[kind]} «{key[:60]}».", code="unit_not_found")
    name, target = found
    return Unit(kind, key, name, _filter(kind, key, target), target)


async def check_scope(session: AsyncSession, scope: Scope, unit: Unit) -> None:
    """A unit must lie wholly inside the caller's scope, else 403."""
    if scope.kind is ScopeKind.country:
        return
    allowed = False
    if unit.kind == "organization":
        allowed = await repository.organization_in_scope(session, scope, int(unit.target_id))
    elif unit.kind == "region":
        allowed = scope.kind is ScopeKind.region and scope.region_code == unit.key
    elif unit.kind == "founder":
        allowed = scope.kind is ScopeKind.founder and scope.founder_id == unit.target_id
    if not allowed:
        raise Forbidden("Эта единица вне вашей области доступа.", code="out_of_scope")


async def methodology(session: AsyncSession, version: str | None) -> Methodology:
    row = await repository.get_methodology(session, version)
    if row is None:
        raise NotFound(
            f"Версия методики «{(version or '')[:20]}» не найдена.", code="methodology_not_found"
        )
    return Methodology.from_definition(row.version, row.definition)


def _pct(v: float | None) -> float | None:
    return None if v is None else round(100.0 * v, 1)


def item_out(code: str, c: dict[str, int] | None, m: Methodology, hide: bool) -> ItemOut:
    """One item's score, bounded score interval and share satisfied from its value counts."""
    c = c or dict.fromkeys(repository.COUNT_COLUMNS, 0)
    n = c["n"]
    suppressed = hide or n < m.min_n
    if suppressed or n == 0:
        return ItemOut(
            code=code,
            label=ITEM_LABELS.get(code, code),
            n=n,
            mean=None,
            ci_low=None,
            ci_high=None,
            csat=None,
            csat_ci_low=None,
            csat_ci_high=None,
            suppressed=suppressed,
        )
    ci = score_interval([c[f"n{v}"] for v in range(1, 6)], m.confidence)
    sat = sum(c[f"n{v}"] for v in range(m.satisfied_min, 6))
    w = wilson(sat, n, m.confidence)
    return ItemOut(
        code=code,
        label=ITEM_LABELS.get(code, code),
        n=n,
        mean=round(c["total"] / n, 2),
        ci_low=round(ci.low, 2) if ci else None,
        ci_high=round(ci.high, 2) if ci else None,
        csat=_pct(sat / n),
        csat_ci_low=_pct(w.low) if w else None,
        csat_ci_high=_pct(w.high) if w else None,
        suppressed=False,
    )


def integral(means: Mapping[str, float | None], m: Methodology) -> float | None:
    """Weighted mean of the available (unsuppressed) integral items."""
    used = [(w, means[q]) for q, w in m.integral_weights.items() if means.get(q) is not None]
    weight = sum(w for w, _ in used)
    if not used or weight == 0:
        return None
    return sum(w * v for w, v in used if v is not None) / weight


def raw_means(counts: dict[str, dict[str, int]], m: Methodology) -> dict[str, float | None]:
    """Unrounded means of every item with at least ``min_n`` answers (and responses)."""
    if counts.get("*", {}).get("n", 0) < m.min_n:
        return {}
    return {q: c["total"] / c["n"] for q, c in counts.items() if q != "*" and c["n"] >= m.min_n}


def _share(k: int, n: int, m: Methodology, hide: bool) -> ShareOut:
    if hide or n < m.min_n:
        return ShareOut(n=n, value=None, ci_low=None, ci_high=None, suppressed=True)
    w = wilson(k, n, m.confidence)
    return ShareOut(
        n=n,
        value=_pct(k / n),
        ci_low=_pct(w.low) if w else None,
        ci_high=_pct(w.high) if w else None,
        suppressed=False,
    )


def _ratio(a: int, b: int) -> float | None:
    return _pct(a / b) if b else None


def _elapsed(period: Period, today: date) -> float:
    start = date(period.year, 1, 1)
    end = min(period.end, today)
    days = (date(period.year, 12, 31) - start).days + 1
    return max(0.0, min(1.0, ((end - start).days + 1) / days))


async def targets(
    session: AsyncSession, scope: Scope, unit: Unit, period: Period, m: Methodology, today: date
) -> list[TargetOut]:
    """Annual targets for the year of the period's end, from the previous year's values."""
    y = period.year
    prev = raw_means(
        await repository.item_counts(
            session, scope, unit.filter, date(y - 1, 1, 1), date(y - 1, 12, 31)
        ),
        m,
    )
    ytd = raw_means(
        await repository.item_counts(session, scope, unit.filter, date(y, 1, 1), period.end), m
    )
    prev["integral"], ytd["integral"] = integral(prev, m), integral(ytd, m)
    out = []
    for code in (*m.items, "integral"):
        t = annual_target(
            prev.get(code),
            ytd.get(code),
            _elapsed(period, today),
            m.improvement_threshold,
            m.annual_step,
        )
        out.append(
            TargetOut(
                code=code,
                label=ITEM_LABELS.get(code, code),
                baseline=_round(t.baseline),
                target=_round(t.target),
                current=_round(ytd.get(code)),
                status=t.status,
                status_label=STATUS_LABELS[t.status],
            )
        )
    return out


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


async def indicators(
    session: AsyncSession,
    scope: Scope,
    unit_spec: str,
    period_text: str,
    version: str | None,
    today: date,
) -> IndicatorsOut:
    """Every indicator of one unit and period, within the caller's scope."""
    period = parse_period(period_text)
    unit = await resolve_unit(session, unit_spec)
    m = await methodology(session, version)
    await check_scope(session, scope, unit)
    return await compute(session, scope, unit, period, m, today)


async def compute(
    session: AsyncSession, scope: Scope, unit: Unit, period: Period, m: Methodology, today: date
) -> IndicatorsOut:
    counts = await repository.item_counts(session, scope, unit.filter, period.start, period.end)
    responses = counts.get("*", {}).get("n", 0)
    hide = responses < m.min_n
    items = [item_out(q, counts.get(q), m, hide) for q in m.items]
    means = {i.code: (counts[i.code]["total"] / i.n) for i in items if not i.suppressed and i.n}
    value = integral(means, m)
    ci = None
    if value is not None:
        moments = await repository.integral_moments(
            session, scope, unit.filter, period.start, period.end
        )
        ci = integral_interval(value, *moments, m.confidence)
    recipients, timely = await repository.record_counts(
        session, scope, unit.filter, period.start, period.end, m.timely_days
    )
    delivered, median, p95 = await repository.invitation_counts(
        session, scope, unit.filter, period.start, period.end
    )
    rec = counts.get(m.recommend_item, dict.fromkeys(repository.COUNT_COLUMNS, 0))
    zone = [q for q, v in means.items() if v < m.improvement_threshold]
    if value is not None and value < m.improvement_threshold:
        zone.append("integral")
    return IndicatorsOut(
        unit=UnitOut(kind=unit.kind, id=unit.key, name=unit.name),
        period=PeriodOut(text=period.text, start=period.start, end=period.end, label=period.label),
        methodology=m.version,
        aggregation="pooled",
        min_n=m.min_n,
        counts=CountsOut(
            service_recipients=recipients, invitations_delivered=delivered, responses=responses
        ),
        response_rate=_ratio(responses, delivered),
        coverage=_ratio(responses, recipients),
        coverage_target=100 * m.coverage_target,
        timeliness=_ratio(timely, recipients),
        invitation_delay=DelayOut(median_hours=_round(median), p95_hours=_round(p95)),
        items=items,
        integral=IntegralOut(
            value=_round(value),
            ci_low=_round(ci.low) if ci else None,
            ci_high=_round(ci.high) if ci else None,
            items=[q for q in m.integral_weights if q in means],
            suppressed=value is None,
        ),
        recommendation=_share(rec["n1"], rec["n"], m, hide),
        improvement_zone=zone,
        targets=await targets(session, scope, unit, period, m, today),
    )
