"""Participants' performance indicators, computed from platform data only (never typed in).

A participant is a region (``region:16``), a founder (``founder:minzdrav``) or an organization
(``organization:<OGRN>``). Indicators whose data lives in change-management and incident tables
that are not in this database are reported as ``None`` ("нет данных"), never as zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import Forbidden, NotFound, ValidationFailed
from otklik.identity.models import User
from otklik.identity.roles import ScopeKind
from otklik.identity.service import scope_of
from otklik.indicators.periods import Period
from otklik.priorities import repository

TARGET_RATE = 0.40
# indicator → (label, the table it needs, which other branch builds it)
EXTERNAL = {
    "change_requests_on_time": ("Запросы на изменение выпущены в срок", "change_requests"),
    "measures_on_time": ("Мероприятия дорожных карт в срок", "roadmap_measures"),
    "median_slip_days": ("Медианное отставание мероприятий, дней", "roadmap_measures"),
    "reports_on_time": ("Отчёты о ходе исполнения в срок", "progress_reports"),
    "incidents_ack_in_sla": ("Инциденты приняты в работу в срок (SLA)", "incidents"),
    "incidents_resolved_in_sla": ("Инциденты решены в срок (SLA)", "incidents"),
    "confirmed_effects": ("Доля изменений с подтверждённым эффектом", "change_requests"),
}
KINDS = ("region", "founder", "organization")


@dataclass
class Kpi:
    code: str
    name: str
    delivered: int
    responses: int
    mean_now: float | None
    n_now: int
    mean_before: float | None
    n_before: int
    change: float | None
    change_ci: tuple[float, float] | None

    @property
    def response_rate(self) -> float | None:
        return self.responses / self.delivered if self.delivered else None


def parse_code(code: str) -> tuple[str, str]:
    kind, _, key = code.partition(":")
    if kind not in KINDS or not key or len(key) > 60:
        raise ValidationFailed(
            "Код участника: region:<код субъекта>, founder:<код учредителя> или "
            "organization:<ОГРН>.",
            code="bad_participant",
        )
    return kind, key


def check_scope(user: User, kind: str, key: str, founder_id: int | None = None) -> None:
    """A participant sees its own figures and those of its peers of the same kind only."""
    scope = scope_of(user)
    if scope.kind is ScopeKind.country:
        return
    if scope.kind is ScopeKind.region and kind == "region" and key == scope.region_code:
        return
    if scope.kind.value == kind == "founder" and founder_id == scope.founder_id is not None:
        return
    raise Forbidden("Показатели этого участника вам недоступны.")


def _shift(p: Period) -> tuple[date, date]:
    """The same period a year earlier (29 February becomes the 28th)."""

    def back(d: date) -> date:
        return d.replace(year=d.year - 1, day=min(d.day, 28) if d.month == 2 else d.day)

    return back(p.start), back(p.end)


def _diff(row: dict[str, Any]) -> tuple[float | None, tuple[float, float] | None]:
    m1, m0, n1, n0 = row["mean1"], row["mean0"], row["n1"], row["n0"]
    if m1 is None or m0 is None or n1 < 2 or n0 < 2:
        return None, None
    d = float(m1) - float(m0)
    se = math.sqrt(float(row["var1"] or 0) / n1 + float(row["var0"] or 0) / n0)
    return round(d, 3), (round(d - 1.96 * se, 3), round(d + 1.96 * se, 3))


async def table(session: AsyncSession, kind: str, period: Period) -> list[Kpi]:
    """Every participant of one kind, in one set-based query per kind."""
    pstart, pend = _shift(period)
    rows = await repository.kpi_rows(session, kind, period.start, period.end, pstart, pend)
    names = await repository.unit_names(session, kind)
    out = []
    for r in rows:
        change, ci = _diff(r)
        out.append(
            Kpi(
                code=str(r["code"]),
                name=names.get(str(r["code"]), str(r["code"])),
                delivered=int(r["delivered"]),
                responses=int(r["responses"]),
                mean_now=None if r["mean1"] is None else round(float(r["mean1"]), 3),
                n_now=int(r["n1"]),
                mean_before=None if r["mean0"] is None else round(float(r["mean0"]), 3),
                n_before=int(r["n0"]),
                change=change,
                change_ci=ci,
            )
        )
    return sorted(out, key=lambda k: k.code)


async def external(session: AsyncSession) -> dict[str, dict[str, Any]]:
    """Indicators of other domains: ``None`` with the reason while their tables are absent."""
    out: dict[str, dict[str, Any]] = {}
    for code, (label, table_name) in EXTERNAL.items():
        present = await repository.table_exists(session, table_name)
        out[code] = {
            "label": label,
            "value": None,
            "n": 0,
            "note": "нет данных: расчёт появится вместе с этими данными"
            if not present
            else "нет данных: расчёт ещё не подключён",
        }
    return out


async def trend(session: AsyncSession, kind: str, key: str, period: Period) -> list[dict[str, Any]]:
    """Answer rate by month over the twelve months ending with the period, with n."""
    end = period.end.replace(day=1)
    start = date(end.year, 1, 1) if end.month == 12 else date(end.year - 1, end.month + 1, 1)
    return [
        {
            "month": m.strftime("%Y-%m"),
            "delivered": d,
            "responses": r,
            "response_rate": round(r / d, 4) if d else None,
        }
        for m, d, r in await repository.kpi_trend(session, kind, key, start, end)
    ]


async def participant(
    session: AsyncSession, user: User, code: str, period: Period
) -> tuple[Kpi, list[Kpi], dict[str, dict[str, Any]]]:
    kind, key = parse_code(code)
    founder = await repository.founder_id(session, key) if kind == "founder" else None
    check_scope(user, kind, key, founder)
    peers = await table(session, kind, period)
    mine = next((k for k in peers if k.code == key), None)
    if mine is None:
        names = await repository.unit_names(session, kind)
        if key not in names:
            raise NotFound("Такого участника нет в реестре.")
        mine = Kpi(key, names[key], 0, 0, None, 0, None, 0, None, None)
    return mine, peers, await external(session)
