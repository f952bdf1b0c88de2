"""Indicator rules: units, scope, formulas over the rollup counts. Knows nothing of HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import DomainError, Forbidden, NotFound
from otklik.indicators import protection, repository
from otklik.indicators.disclosure import count, percent, ratio, shown
from otklik.indicators.methodology import ITEM_LABELS, Methodology
from otklik.indicators.periods import Period, parse_period, year_of
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
from otklik.indicators.stats import STATUS_LABELS, integral_interval, score_interval, wilson
from otklik.kit.scope import Scope, ScopeKind
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
    """A unit must lie wholly inside the caller's scope. Another organization answers 404
    exactly like a missing one (the same code and message as ``resolve_unit``), so the answer
    tells nobody which OGRNs exist; a region or founder outside the scope (public codes) 403."""
    if scope.kind is ScopeKind.country:
        return
    allowed = False
    if unit.kind == "organization":
        if not await repository.organization_in_scope(session, scope, int(unit.target_id)):
            raise NotFound(
                f"Не найдено: {UNIT_KINDS['organization']} «{unit.key[:60]}».",
                code="unit_not_found",
            )
        return
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


Means = Mapping[str, Fraction | None]
EMPTY = dict.fromkeys(repository.COUNT_COLUMNS, 0)


def hidden_item(code: str, n: int) -> ItemOut:
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
        suppressed=True,
    )


def item_out(code: str, c: dict[str, int] | None, m: Methodology, hide: bool) -> ItemOut:
    """One item's score, bounded score interval and share satisfied, as shown."""
    c = c or EMPTY
    n = c["n"]
    if hide or n < m.min_n:
        return hidden_item(code, n)
    ci = score_interval([c[f"n{v}"] for v in range(1, 6)], m.confidence)
    sat = sum(c[f"n{v}"] for v in range(m.satisfied_min, 6))
    w = wilson(sat, n, m.confidence)
    return ItemOut(
        code=code,
        label=ITEM_LABELS.get(code, code),
        n=n,
        mean=shown(Fraction(c["total"], n)),
        ci_low=shown(ci.low) if ci else None,
        ci_high=shown(ci.high) if ci else None,
        csat=percent(sat, n),
        csat_ci_low=shown(100 * w.low, 1) if w else None,
        csat_ci_high=shown(100 * w.high, 1) if w else None,
        suppressed=False,
    )


def integral(means: Means, m: Methodology) -> Fraction | None:
    """Exact weighted mean of the available (shown) integral items."""
    used = [
        (Fraction(w), v) for q, w in m.integral_weights.items() if (v := means.get(q)) is not None
    ]
    weight = sum(w for w, _ in used)
    if not used or weight == 0:
        return None
    return sum(w * v for w, v in used) / weight


def _share(k: int, n: int, m: Methodology, hide: bool) -> ShareOut:
    if hide or n < m.min_n:
        return ShareOut(n=n, value=None, ci_low=None, ci_high=None, suppressed=True)
    w = wilson(k, n, m.confidence)
    return ShareOut(
        n=n,
        value=percent(k, n),
        ci_low=shown(100 * w.low, 1) if w else None,
        ci_high=shown(100 * w.high, 1) if w else None,
        suppressed=False,
    )


def elapsed_share(period: Period, today: date) -> Decimal:
    """Share of the period's year elapsed by the period's end (or today), six decimals."""
    start = date(period.year, 1, 1)
    end = min(period.end, today)
    days = (date(period.year, 12, 31) - start).days + 1
    share = max(0.0, min(1.0, ((end - start).days + 1) / days))
    return Decimal(share).quantize(Decimal("0.000001"))


def target_status(
    baseline: float | None, current: float | None, elapsed: Decimal, m: Methodology
) -> tuple[float | None, str]:
    """Target and status from shown values, in ``Decimal`` exactly as the tables' SQL does:
    target = min(baseline + step, 5); met if current ≥ target; on track if current ≥ the
    shown straight-line pace baseline + step × elapsed."""
    if baseline is None:
        return None, "no_baseline"
    b = Decimal(str(baseline))
    if b >= Decimal(str(m.improvement_threshold)):
        return None, "not_applicable"
    step = Decimal(str(m.annual_step))
    target = min(b + step, Decimal(5))
    if current is None:
        return float(target), "insufficient"
    c = Decimal(str(current))
    if c >= target:
        return float(target), "met"
    pace = shown(b + step * elapsed)
    return float(target), "on_track" if pace is not None and c >= Decimal(str(pace)) else "behind"


def shown_means(
    counts: dict[str, dict[str, int]], m: Methodology, hidden: set[str]
) -> dict[str, Fraction]:
    """Exact means of the items a unit shows (enough answers, not hidden by protection)."""
    if counts.get("*", EMPTY)["n"] < m.min_n or "*" in hidden:
        return {}
    return {
        q: Fraction(c["total"], c["n"])
        for q, c in counts.items()
        if not q.startswith("*") and q not in hidden and c["n"] >= m.min_n
    }


def _value(means: Means, m: Methodology, code: str) -> float | None:
    return shown(integral(means, m)) if code == "integral" else shown(means.get(code))


async def targets(
    session: AsyncSession, scope: Scope, unit: Unit, period: Period, m: Methodology, today: date
) -> list[TargetOut]:
    """Annual targets for the year of the period's end, from the previous year's shown values."""
    y = period.year
    prev_year, ytd_period = year_of(y - 1), Period("range", date(y, 1, 1), period.end, "")
    codes = protection.codes_of(m)
    prev_hidden = await protection.hidden_codes(session, scope, unit, prev_year, m)
    prev = shown_means(
        await repository.item_means(
            session, scope, unit.filter, prev_year.start, prev_year.end, codes
        ),
        m,
        prev_hidden,
    )
    ytd_hidden = await protection.ytd_hidden_codes(session, scope, unit, period, m)
    ytd = shown_means(
        await repository.item_means(
            session, scope, unit.filter, ytd_period.start, period.end, codes
        ),
        m,
        ytd_hidden,
    )
    elapsed = elapsed_share(period, today)
    out = []
    for code in (*m.items, "integral"):
        baseline, current = _value(prev, m, code), _value(ytd, m, code)
        target, status = target_status(baseline, current, elapsed, m)
        out.append(
            TargetOut(
                code=code,
                label=ITEM_LABELS.get(code, code),
                baseline=baseline,
                target=target,
                current=current,
                status=status,
                status_label=STATUS_LABELS[status],
            )
        )
    return out


async def indicators(
    session: AsyncSession,
    scope: Scope,
    unit_spec: str,
    period_text: str,
    version: str | None,
    today: date,
    aggregation: str = "pooled",
) -> IndicatorsOut:
    """Every indicator of one unit and period, within the caller's scope; ``unweighted``: the
    344н-style figures (``series.unweighted``)."""
    from otklik.indicators import series  # series builds on this module

    period = parse_period(period_text)
    unit = await resolve_unit(session, unit_spec)
    m = await methodology(session, version)
    await check_scope(session, scope, unit)
    out = await compute(session, scope, unit, period, m, today)
    if aggregation == "unweighted":
        return await series.unweighted(session, scope, unit, period, m, out)
    return out


async def compute(
    session: AsyncSession,
    scope: Scope,
    unit: Unit,
    period: Period,
    m: Methodology,
    today: date,
    minus: Unit | None = None,
) -> IndicatorsOut:
    """The unit's figures as shown. ``minus``: protect the cells of the unit minus that one
    (a comparison group shown to one of its members)."""
    hidden = await protection.hidden_codes(session, scope, unit, period, m, minus)
    counts = await repository.item_counts(session, scope, unit.filter, period.start, period.end)
    responses = counts.get("*", EMPTY)["n"]
    hide = responses < m.min_n or "*" in hidden
    items = [item_out(q, counts.get(q), m, hide or q in hidden) for q in m.items]
    means = shown_means(counts, m, hidden)
    value = integral({q: v for q, v in means.items() if q in m.integral_weights}, m)
    ci = None  # the integral's interval: only beside a shown value, its months protected too
    if value is not None and "*integral" not in hidden:
        moments = await repository.integral_moments(
            session, scope, unit.filter, period.start, period.end
        )
        ci = integral_interval(float(value), *moments, m.confidence)
    people, records, timely = await repository.record_counts(
        session, scope, unit.filter, period.start, period.end, m.timely_days
    )
    delivered, median, p95 = await repository.invitation_counts(
        session, scope, unit.filter, period.start, period.end
    )
    # coverage divides people served in the period by the answers about those services (both
    # by service date); scores and the response rate use answers by answer date
    by_service = await repository.responses_by_service_date(
        session, scope, unit.filter, period.start, period.end
    )
    rec = counts.get(m.recommend_item, EMPTY)
    zone = [i.code for i in items if i.mean is not None and i.mean < m.improvement_threshold]
    if (v := shown(value)) is not None and v < m.improvement_threshold:
        zone.append("integral")
    answers = 0 if hide else responses
    return IndicatorsOut(
        unit=UnitOut(kind=unit.kind, id=unit.key, name=unit.name),
        period=PeriodOut(text=period.text, start=period.start, end=period.end, label=period.label),
        methodology=m.version,
        aggregation="pooled",
        min_n=m.min_n,
        counts=CountsOut(
            service_recipients=count(people, m.min_n),
            invitations_delivered=count(delivered, m.min_n),
            responses=responses,
            responses_by_service_date=count(by_service, m.min_n),
        ),
        response_rate=None if hide else ratio(answers, delivered, m.min_n),
        coverage=None if hide else ratio(by_service, people, m.min_n),
        coverage_target=100 * m.coverage_target,
        timeliness=percent(timely, records) if records >= m.min_n else None,
        invitation_delay=DelayOut(
            median_hours=shown(median) if delivered >= m.min_n else None,
            p95_hours=shown(p95) if delivered >= m.min_n else None,
        ),
        items=items,
        integral=IntegralOut(
            value=shown(value),
            ci_low=shown(ci.low) if ci else None,
            ci_high=shown(ci.high) if ci else None,
            items=[q for q in m.integral_weights if q in means],
            suppressed=value is None,
        ),
        recommendation=_share(rec["n1"], rec["n"], m, hide or m.recommend_item in hidden),
        improvement_zone=zone,
        targets=await targets(session, scope, unit, period, m, today),
    )
