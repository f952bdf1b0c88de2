"""Effect assessment of a released change (decree 923 §7ж, §7з; improvement.md "Numbers")."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.effects import repository, stats
from otklik.effects.models import EffectAssessment
from otklik.errors import DomainError, ValidationFailed
from otklik.identity.audit import Actor, record_audit

ITEM_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
MIN_UNIT_N = 5  # answers a unit needs in each window to count
ITS_CAVEAT = (
    "Группы сравнения нет: оценка по прерванному временному ряду — более слабое"
    " доказательство, чем сравнение с организациями, которых изменение не коснулось."
)
VERDICTS = {
    "confirmed": "эффект подтверждён",
    "not_confirmed": "эффект не подтверждён",
    "inconclusive": "недостаточно данных",
    "pending": "эффект ещё измеряется",
}


class EffectNotReady(DomainError):
    status_code = 409
    code = "effect_not_ready"
    message = "Эффект пока нельзя оценить."


def _check(
    indicator: str | None,
    direction: int,
    released_on: date | None,
    window: int,
    orgs: Sequence[int],
) -> tuple[str, date]:
    if not indicator:
        raise ValidationFailed(
            "У изменения нет гипотезы: укажите показатель и ожидаемое направление его изменения.",
            code="no_hypothesis",
        )
    if not ITEM_RE.match(indicator):
        raise ValidationFailed(f"Неизвестный показатель «{indicator[:40]}».", code="bad_indicator")
    if released_on is None:
        raise ValidationFailed(
            "Не указана дата выпуска изменения: без неё нельзя выбрать окна до и после.",
            code="no_release_date",
        )
    if direction not in (1, -1):
        raise ValidationFailed(
            "Направление гипотезы: 1 (рост) или -1 (снижение).", code="bad_direction"
        )
    if not 14 <= window <= 365:
        raise ValidationFailed("Окно до и после выпуска: от 14 до 365 дней.", code="bad_window")
    if not orgs:
        raise ValidationFailed(
            "Не указаны организации, которых коснулось изменение.", code="no_units"
        )
    return indicator, released_on


async def create(
    session: AsyncSession,
    actor: Actor,
    *,
    title: str,
    indicator: str | None,
    direction: int,
    released_on: date | None,
    organization_ids: Sequence[int],
    window_days: int = 56,
    change_request_id: int | None = None,
) -> EffectAssessment:
    """Register the assessment of a change (validated; computed later when its window ends)."""
    item, released = _check(indicator, direction, released_on, window_days, organization_ids)
    orgs = sorted(set(organization_ids))
    place = await repository.place(session, orgs)
    if int(place.n) != len(orgs):
        raise ValidationFailed("Среди указанных организаций есть неизвестные.", code="bad_units")
    assessment = EffectAssessment(
        change_request_id=change_request_id,
        title=title.strip()[:300] or "Изменение",
        indicator=item,
        direction=direction,
        released_on=released,
        window_days=window_days,
        organization_ids=orgs,
        region_code=place.region_code if int(place.regions) == 1 else None,
        founder_id=place.founder_id if int(place.founders) == 1 else None,
        organization_id=place.organization_id if len(orgs) == 1 else None,
    )
    session.add(assessment)
    await session.flush()
    await record_audit(
        session,
        actor,
        "effect.create",
        "effect_assessment",
        str(assessment.id),
        None,
        {"indicator": item, "released_on": released.isoformat(), "units": len(orgs)},
    )
    return assessment


def _unit_changes(
    rows: Sequence[object], units: set[int]
) -> tuple[dict[int, float], dict[int, float], int]:
    """Per unit: post − pre mean, the placebo (late pre − early pre) and answers used."""
    cells: dict[int, dict[int, tuple[int, float]]] = defaultdict(dict)
    for r in rows:
        org, bucket, n, total = (int(r.organization_id), int(r.bucket), int(r.n), float(r.total))  # type: ignore[attr-defined]
        if org in units:
            cells[org][bucket] = (n, total)
    change: dict[int, float] = {}
    placebo: dict[int, float] = {}
    answers = 0
    for org, b in cells.items():
        n0, s0 = b.get(0, (0, 0.0))
        n1, s1 = b.get(1, (0, 0.0))
        n2, s2 = b.get(2, (0, 0.0))
        if n0 + n1 >= MIN_UNIT_N and n2 >= MIN_UNIT_N:
            change[org] = s2 / n2 - (s0 + s1) / (n0 + n1)
            answers += n0 + n1 + n2
            if n0 >= MIN_UNIT_N and n1 >= MIN_UNIT_N:
                placebo[org] = s1 / n1 - s0 / n0
    return change, placebo, answers


async def compute(
    session: AsyncSession, assessment: EffectAssessment, today: date, now: datetime
) -> EffectAssessment:
    """DiD against comparable unaffected organizations (ITS when there are none)."""
    a = assessment
    w = a.window_days
    start, release, end = (
        a.released_on - timedelta(days=w),
        a.released_on,
        a.released_on + timedelta(days=w),
    )
    if end > today:
        raise EffectNotReady(
            f"Окно после выпуска закончится {end - timedelta(days=1):%d.%m.%Y}: "
            "эффект можно будет оценить после этой даты.",
            code="window_open",
        )
    treated = set(a.organization_ids)
    controls = set(await repository.controls(session, a.organization_ids))
    mid = release - timedelta(days=w // 2)
    rows = await repository.windows(session, a.indicator, sorted(treated), start, mid, release, end)
    t_change, t_placebo, t_answers = _unit_changes(rows, treated)
    c_change, c_placebo, c_answers = _unit_changes(rows, controls)
    a.caveat, a.pretrend_estimate, a.pretrend_p = "", None, None
    if len(c_change) >= stats.MIN_UNITS and len(t_change) >= 1:
        t, c = np.array(list(t_change.values())), np.array(list(c_change.values()))
        interval = (
            stats.did(t, c)
            if len(t) >= 2
            else stats.Interval(
                float(t.mean() - c.mean()), float("nan"), float("nan"), 1.0, "did_cluster"
            )
        )
        tp, cp = [t_placebo[o] for o in t_placebo], [c_placebo[o] for o in c_placebo]
        if len(tp) >= 2 and len(cp) >= 2:
            placebo = stats.did(np.array(tp), np.array(cp))
            a.pretrend_estimate, a.pretrend_p = placebo.estimate, placebo.p
    else:
        weeks = await repository.weekly(session, a.indicator, sorted(treated), start, release, end)
        used = [r for r in weeks if int(r.n) >= MIN_UNIT_N]
        c_change, c_answers = {}, 0
        if len(used) >= 4:
            x = np.array([float(r.week) for r in used])
            interval = stats.its(x, np.array([float(r.mean) for r in used]), (x >= 0).astype(float))
        else:
            interval = stats.Interval(float("nan"), float("nan"), float("nan"), 1.0, "its")
        t_answers = sum(int(r.n) for r in used)
        a.caveat = ITS_CAVEAT
    verdict, reason = stats.verdict(
        interval,
        a.direction,
        (t_answers, c_answers),
        (len(t_change) or int(t_answers > 0), len(c_change)),
        a.pretrend_p,
    )
    finite = np.isfinite([interval.estimate, interval.low, interval.high])
    a.method = interval.method
    a.estimate = round(interval.estimate, 4) if finite[0] else None
    a.ci_low = round(interval.low, 4) if finite[1] else None
    a.ci_high = round(interval.high, 4) if finite[2] else None
    a.n_treated, a.n_control = len(t_change), len(c_change)
    a.answers_treated, a.answers_control = t_answers, c_answers
    a.verdict, a.reason = verdict, reason
    a.data_date = min(end - timedelta(days=1), today)
    a.computed_at = now
    await session.flush()
    return a
