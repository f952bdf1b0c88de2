"""Participants' performance indicators, computed from platform data only (never typed in).

A participant is a region (``region:16``), a founder (``founder:minzdrav``) or an organization
(``organization:<OGRN>``). Indicators whose data lives in change-management and incident tables
that are not in this database are reported as ``None`` ("нет данных"), never as zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import NotFound, ValidationFailed
from otklik.identity.models import User
from otklik.identity.service import scope_of
from otklik.indicators.periods import Period
from otklik.kit.clock import MOSCOW
from otklik.priorities import repository, repository_kpis

TARGET_RATE = 0.40
# indicator → (label, the table (query group) it needs, value column, n column)
EXTERNAL = {
    "change_requests_on_time": (
        "Запросы на изменение выпущены в срок",
        "change_requests",
        "on_time",
        "due",
    ),
    "measures_on_time": ("Мероприятия дорожных карт в срок", "roadmap_measures", "on_time", "due"),
    "median_slip_days": (
        "Медианное отставание мероприятий, дней",
        "roadmap_measures",
        "median_slip",
        "due",
    ),
    "reports_on_time": (
        "Отчёты о ходе исполнения в срок",
        "roadmap_measure_reports",
        "on_time",
        "due",
    ),
    "incidents_ack_in_sla": (
        "Инциденты приняты в работу в срок (SLA)",
        "incidents",
        "ack_ok",
        "ack_n",
    ),
    "incidents_resolved_in_sla": ("Инциденты решены в срок (SLA)", "incidents", "res_ok", "res_n"),
    "confirmed_effects": (
        "Доля изменений с подтверждённым эффектом",
        "change_requests",
        "confirmed",
        "closed",
    ),
}
NO_TABLE = "нет данных: этих данных ещё нет на платформе"
NO_EVENTS = "нет данных: за период нет событий"
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


NOT_FOUND = "Такого участника нет в реестре."


async def check_scope(session: AsyncSession, user: User, kind: str, key: str) -> None:
    """A participant's figures are open to the scopes that hold it (the one scope filter):
    the country sees every participant, a region its own region and its organizations, a founder
    itself and its organizations, an organization itself. Anything else answers 404 exactly as
    a participant that does not exist, so the answer does not reveal who is registered."""
    if not await repository.participant_visible(session, kind, key, scope_of(user)):
        raise NotFound(NOT_FOUND)


async def linkable(session: AsyncSession, user: User, kind: str) -> set[str]:
    """The participants of ``kind`` whose own page ``user`` may open (the list links only those:
    the comparison table shows every participant, a participant's page only the scopes that
    hold it)."""
    return await repository.visible_participants(session, kind, scope_of(user))


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


async def external(
    session: AsyncSession, kind: str, period: Period, today: date | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    """{indicator: {participant key: {value, n}}} for every participant of a kind, one query per
    table group; an indicator whose table is absent maps to ``{}`` (shown as "нет данных")."""
    day = today or datetime.now(MOSCOW).date()
    groups: dict[str, dict[str, dict[str, Any]] | None] = {}
    for table_name in {t for _, t, _, _ in EXTERNAL.values()}:
        present = await repository.table_exists(session, table_name)
        groups[table_name] = (
            await repository_kpis.group_rows(
                session, table_name, kind, period.start, period.end, day
            )
            if present
            else None
        )
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for code, (_, table_name, value_col, n_col) in EXTERNAL.items():
        rows = groups[table_name]
        out[code] = (
            {} if rows is None else {k: _value(code, r, value_col, n_col) for k, r in rows.items()}
        )
    return out


async def comparison(
    session: AsyncSession, kind: str, period: Period
) -> tuple[list[Kpi], dict[str, dict[str, dict[str, Any]]], dict[str, bool]]:
    """Every participant of a kind with all indicators (a participant known only from change
    requests, roadmaps or incidents gets a row too)."""
    rows = await table(session, kind, period)
    values = await external(session, kind, period)
    known = {k.code for k in rows}
    extra = sorted({key for v in values.values() for key in v} - known)
    if extra:
        names = await repository.unit_names(session, kind)
        rows += [Kpi(k, names.get(k, k), 0, 0, None, 0, None, 0, None, None) for k in extra]
        rows.sort(key=lambda k: k.code)
    return rows, values, await external_present(session)


def _value(code: str, row: dict[str, Any], value_col: str, n_col: str) -> dict[str, Any]:
    n = int(row[n_col] or 0)
    if not n:
        return {"value": None, "n": 0}
    if code == "median_slip_days":
        return {"value": float(row[value_col]), "n": n}
    return {"value": round(int(row[value_col] or 0) / n, 4), "n": n}


async def external_present(session: AsyncSession) -> dict[str, bool]:
    return {
        code: await repository.table_exists(session, t) for code, (_, t, _, _) in EXTERNAL.items()
    }


def external_of(
    key: str, values: dict[str, dict[str, dict[str, Any]]], present: dict[str, bool]
) -> dict[str, dict[str, Any]]:
    """One participant's indicators of other domains with labels and notes."""
    out = {}
    for code, (label, *_rest) in EXTERNAL.items():
        got = values[code].get(key, {"value": None, "n": 0})
        note = "" if got["value"] is not None else NO_EVENTS if present[code] else NO_TABLE
        out[code] = {"label": label, **got, "note": note}
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
    await check_scope(session, user, kind, key)
    peers = await table(session, kind, period)
    mine = next((k for k in peers if k.code == key), None)
    if mine is None:
        names = await repository.unit_names(session, kind)
        if key not in names:
            raise NotFound(NOT_FOUND)
        mine = Kpi(key, names[key], 0, 0, None, 0, None, 0, None, None)
    values = await external(session, kind, period)
    return mine, peers, external_of(key, values, await external_present(session))
