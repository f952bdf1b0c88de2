"""Quarterly reports: what goes in, validated requests, building and storing the file.

Every figure comes from the indicators service (``indicators.service.compute``, the published
tables of ``indicators.tables``) with its disclosure rules; the funnel, problems, incidents and
effects from their own domains, shown under the same small-number rule. Nothing is summed here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.effects import repository as effects_repository
from otklik.effects.service import VERDICTS
from otklik.errors import DomainError, NotFound
from otklik.incidents import repository as incidents_repository
from otklik.indicators import disclosure, tables
from otklik.indicators import repository as indicators_repository
from otklik.indicators import service as indicators
from otklik.indicators.methodology import Methodology
from otklik.indicators.periods import Period, parse_period
from otklik.indicators.schemas import IndicatorsOut
from otklik.indicators.service import Unit
from otklik.indicators.table_queries import Filters
from otklik.insights import repository as insights_repository
from otklik.insights.taxonomy import load as load_taxonomy
from otklik.kit.clock import moscow_date, now_utc
from otklik.kit.pagination import PageParams
from otklik.kit.scope import Scope, ScopeKind
from otklik.outreach import repository as outreach_repository
from otklik.reports import repository
from otklik.reports.models import FORMATS, Report

Progress = Callable[[int, str], Awaitable[None]]
KINDS = {
    "country": "вся страна",
    "region": "субъект РФ",
    "founder": "учредитель",
    "organization": "организация",
}
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.ASCII)
BELOW_LIMIT = 50  # organizations listed by name below the threshold in the PDF
BELOW_LIMIT_XLSX = 10_000  # and in the XLSX (the whole list)
FUNNEL_STAGES = (
    ("reported", "Услуг оказано (записей)"),
    ("eligible", "Отобрано для приглашения"),
    ("invited", "Приглашений отправлено"),
    ("delivered", "Доставлено"),
    ("opened", "Открыто"),
    ("started", "Начато анкет"),
    ("completed", "Заполнено анкет"),
)
INCIDENT_STATES = {
    "new": "новый",
    "acknowledged": "принят",
    "in_progress": "в работе",
    "waiting": "ожидание",
    "escalated": "эскалирован",
    "resolved": "решён",
    "closed": "закрыт",
}


class BadReportPeriod(DomainError):
    status_code = 400
    code = "bad_report_period"
    message = "Период отчёта указывается как квартал: ГГГГ-QN, например 2026-Q3."


class FuturePeriod(DomainError):
    status_code = 400
    code = "period_not_finished"
    message = "Квартал ещё не закончился."


class BadScope(DomainError):
    status_code = 400
    code = "bad_report_scope"
    message = (
        "Область отчёта не распознана: укажите country, region:<код субъекта>, "
        "founder:<код учредителя> или organization:<ОГРН>."
    )


class BadFormat(DomainError):
    status_code = 400
    code = "bad_report_format"
    message = "Формат отчёта: pdf или xlsx."


def quarter(text: str, today: date) -> Period:
    """A finished quarter ``YYYY-QN``; a malformed one or one not yet over is refused."""
    s = (text or "").strip()
    if not _QUARTER.match(s):
        raise BadReportPeriod(
            f"Период «{s[:20]}» не распознан: отчёт составляется за квартал, "
            "укажите его как ГГГГ-QN, например 2026-Q3."
        )
    period = parse_period(s)
    if period.start > today:
        raise FuturePeriod(
            f"Квартал {s} ещё не начался (он начинается {period.start:%d.%m.%Y}): "
            "отчёт можно составить только за завершённый квартал."
        )
    if period.end >= today:
        raise FuturePeriod(
            f"Квартал {s} ещё не закончился (последний день — {period.end:%d.%m.%Y}): "
            f"отчёт за него можно составить с {period.end + timedelta(days=1):%d.%m.%Y}."
        )
    return period


def last_complete_quarter(today: date) -> str:
    q = (today.month - 1) // 3  # quarters finished this year
    return f"{today.year - 1}-Q4" if q == 0 else f"{today.year}-Q{q}"


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise BadFormat(f"Формат «{fmt[:10]}» не поддерживается: укажите pdf или xlsx.")
    return fmt


async def resolve(session: AsyncSession, spec: str) -> Unit:
    """``country``, ``region:16``, ``founder:<code>``, ``organization:<OGRN>`` to a unit."""
    s = (spec or "").strip()
    kind, _, key = s.partition(":")
    if kind not in KINDS or len(s) > 100:
        raise BadScope(
            f"Неизвестная область «{s[:40]}»: укажите country, region:<код субъекта>, "
            "founder:<код учредителя> или organization:<ОГРН>."
        )
    if kind == "country":
        if key not in ("", "RU"):
            raise BadScope("Страна указывается как country (или country:RU).")
        key = "RU"
    elif not key:
        raise BadScope(f"Укажите код после «{kind}:», например region:16.")
    try:
        return await indicators.resolve_unit(session, f"{kind}:{key}")
    except NotFound as exc:
        raise NotFound(
            f"Нет такой области отчёта: {KINDS[kind]} «{key[:60]}».", code="report_scope_not_found"
        ) from exc


async def unit_scope(session: AsyncSession, unit: Unit) -> Scope:
    """The narrowest scope holding the unit: its figures are computed in it, so whoever may
    open the report could have computed the same figures themselves."""
    if unit.kind == "region":
        return Scope(ScopeKind.region, region_code=unit.key)
    if unit.kind == "founder":
        return Scope(ScopeKind.founder, founder_id=int(unit.target_id))
    if unit.kind == "organization":
        return Scope(ScopeKind.organization, organization_id=int(unit.target_id))
    return Scope.country()


async def place(session: AsyncSession, unit: Unit) -> dict[str, Any]:
    """The columns the scope filter reads for a report of ``unit``."""
    if unit.kind == "region":
        return {"region_code": unit.key}
    if unit.kind == "founder":
        return {"founder_id": int(unit.target_id)}
    if unit.kind == "organization":
        where = await repository.organization_place(session, int(unit.target_id))
        region, founder = where if where else (None, None)
        return {
            "organization_id": int(unit.target_id),
            "region_code": region,
            "founder_id": founder,
        }
    return {}


# --- the contents ---


@dataclass
class ReportData:
    unit: Unit
    period: Period
    m: Methodology
    generated_at: datetime
    figures: IndicatorsOut
    months: list[IndicatorsOut] = field(default_factory=list)
    quarters: list[IndicatorsOut] = field(default_factory=list)
    below: list[dict[str, Any]] = field(default_factory=list)
    below_total: int = 0
    bands: list[tuple[str, int]] = field(default_factory=list)
    funnel: list[tuple[str, int | None]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    situations: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    effects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def no_data(self) -> bool:
        return self.figures.counts.responses == 0


def _quarters_back(period: Period, n: int) -> list[Period]:
    y, q = period.start.year, (period.start.month - 1) // 3 + 1
    out = []
    for _ in range(n):
        out.append(parse_period(f"{y}-Q{q}"))
        y, q = (y - 1, 4) if q == 1 else (y, q - 1)
    return out[::-1]


async def collect(
    session: AsyncSession,
    unit: Unit,
    period: Period,
    today: date,
    progress: Progress | None = None,
    below_limit: int = BELOW_LIMIT,
) -> ReportData:
    """Everything a quarterly report shows, as the indicators service shows it
    (``below_limit``: how many organizations below the threshold are listed by name)."""

    async def step(pct: int, stage: str) -> None:
        if progress is not None:
            await progress(pct, stage)

    scope = await unit_scope(session, unit)
    m = await indicators.methodology(session, None)
    await step(5, "показатели за квартал")
    figures = await indicators.compute(session, scope, unit, period, m, today)
    data = ReportData(unit, period, m, now_utc(), figures)
    await step(20, "показатели по месяцам и кварталам")
    for month in range(period.start.month, period.end.month + 1):
        p = parse_period(f"{period.start.year}-{month:02d}")
        data.months.append(await indicators.compute(session, scope, unit, p, m, today))
    for p in _quarters_back(period, 4)[:-1]:
        data.quarters.append(await indicators.compute(session, scope, unit, p, m, today))
    data.quarters.append(figures)
    if unit.kind != "organization":
        await step(45, "организации ниже порога")
        table = await tables.organization_table(
            session, scope, period, m, today, Filters(status="below"), "integral", 1, below_limit
        )
        data.below, data.below_total = table.rows, table.total
        data.bands = await tables.distribution(session, scope, period, m, today)
    await step(60, "воронка приглашений")
    # by the day of the service, as every funnel (docs/outreach.md)
    rows = await outreach_repository.funnel(session, scope, "all", period.start, period.end, 1)
    if rows:
        data.funnel = [
            (label, disclosure.count(int(getattr(rows[0], key)), m.min_n))
            for key, label in FUNNEL_STAGES
        ]
    await step(70, "проблемы по темам отзывов")
    months = [
        f"{period.start.year}-{mo:02d}" for mo in range(period.start.month, period.end.month + 1)
    ]
    for r in await insights_repository.problem_summary(session, scope, months):
        data.problems.append(
            {
                "topic": r.topic,
                "name": r.name,
                "organizations": int(r.organizations),
                "answers": disclosure.count(int(r.answers or 0), m.min_n),
                "diff": disclosure.shown(float(r.diff)) if r.diff is not None else None,
            }
        )
    names = load_taxonomy().names
    by_situation: dict[str, list[tuple[str, int]]] = {}
    for r in await insights_repository.situation_topics(
        session, scope, period.start, period.end, m.min_n
    ):
        top = by_situation.setdefault(str(r.situation), [])
        if len(top) < 3:
            top.append((names.get(r.topic, r.topic), int(r.n)))
    for code, top in by_situation.items():
        found = await indicators_repository.find_unit(session, "life_situation", code)
        data.situations.append({"name": found[0] if found else code, "topics": top})
    data.situations.sort(key=lambda s: -sum(n for _, n in s["topics"]))
    await step(80, "инциденты и изменения")
    for i in await incidents_repository.all_rows(session, scope, None, None, ""):
        inc = i[0]
        opened = moscow_date(inc.opened_at)
        if period.start <= opened <= period.end:
            data.incidents.append(
                {
                    "id": inc.id,
                    "title": inc.title,
                    "organization": i.organization or "",
                    "severity": inc.severity,
                    "state": INCIDENT_STATES.get(inc.state, inc.state),
                    "opened": opened,
                }
            )
    assessments, _ = await effects_repository.listing(
        session, scope, PageParams.parse(1, 100, "-released", ""), None
    )
    for a in assessments:
        if a.released_on <= period.end:
            data.effects.append(
                {
                    "title": a.title,
                    "indicator": a.indicator,
                    "released": a.released_on,
                    "estimate": disclosure.shown(a.estimate),
                    "ci_low": disclosure.shown(a.ci_low),
                    "ci_high": disclosure.shown(a.ci_high),
                    "verdict": VERDICTS.get(a.verdict, a.verdict),
                    "n": a.answers_treated,
                }
            )
    await step(85, "оформление")
    return data


def _below_limit(fmt: str) -> int:
    return BELOW_LIMIT if fmt == "pdf" else BELOW_LIMIT_XLSX


def render(data: ReportData, fmt: str) -> bytes:
    from otklik.reports import document  # matplotlib and typst load only when a report is made

    return document.pdf(data) if fmt == "pdf" else document.xlsx(data)


async def make(
    session: AsyncSession, spec: str, period_text: str, fmt: str, progress: Progress | None = None
) -> tuple[bytes, ReportData]:
    """A report file made on demand (the command line): validated, collected, rendered."""
    today = moscow_date()
    check_format(fmt)
    period = quarter(period_text, today)
    unit = await resolve(session, spec)
    data = await collect(session, unit, period, today, progress, _below_limit(fmt))
    return render(data, fmt), data


# --- stored reports ---


async def request(
    session: AsyncSession, scope: Scope, spec: str, period_text: str, fmt: str,
    user_id: int | None, origin: str = "user",
) -> Report:  # fmt: skip
    """Queue a report of a unit inside the caller's scope: another organization is not found
    (404, like a missing one), a region or founder outside it is refused (403)."""
    check_format(fmt)
    period = quarter(period_text, moscow_date())
    unit = await resolve(session, spec)
    try:
        await indicators.check_scope(session, scope, unit)
    except NotFound as exc:  # the same answer as for a missing unit (``resolve``)
        raise NotFound(
            f"Нет такой области отчёта: {KINDS[unit.kind]} «{unit.key[:60]}».",
            code="report_scope_not_found",
        ) from exc
    return await repository.add(
        session,
        unit_kind=unit.kind,
        unit_key=unit.key,
        unit_name=unit.name,
        period=period.text,
        format=fmt,
        origin=origin,
        requested_by=user_id,
        **await place(session, unit),
    )


async def build(session: AsyncSession, report: Report, progress: Progress) -> None:
    """Collect and render a claimed report and store its file."""
    period = parse_period(report.period)
    unit = await resolve(session, f"{report.unit_kind}:{report.unit_key}")
    data = await collect(
        session, unit, period, moscow_date(), progress, _below_limit(report.format)
    )
    content = render(data, report.format)
    digest = hashlib.sha256(content).hexdigest()
    await repository.finish(session, report.id, content, digest, data.m.version, now_utc())


async def schedule_quarter(session: AsyncSession, today: date) -> int:
    """Queue the last finished quarter's reports: the country, every region and founder with
    answers in it (PDF and XLSX each) and every organization with answers (PDF; XLSX on
    demand), once per quarter. People's orders are built before these (``repository.claim``)."""
    period = parse_period(last_complete_quarter(today))
    if await repository.scheduled(session, period.text):
        return 0
    pop = await tables.population(session, period.year)
    lo, hi = period.start.month - 1, period.end.month
    regions: set[str] = set()
    founders: set[int] = set()
    orgs: list[int] = []
    for oid, region, founder, months in zip(
        pop.ids, pop.regions, pop.founders, pop.months, strict=True
    ):
        if sum(months[lo:hi]) > 0:
            regions.add(region)
            founders.add(founder)
            orgs.append(oid)
    if not orgs:
        return 0
    ogrn = await repository.organization_keys(session, orgs)
    codes = await repository.founder_keys(session, sorted(founders))
    specs = (
        ["country"]
        + [f"region:{r}" for r in sorted(regions)]
        + [f"founder:{codes[f]}" for f in sorted(founders) if f in codes]
        + [f"organization:{ogrn[o]}" for o in orgs if o in ogrn]
    )
    rows = []
    for spec in specs:
        unit = await resolve(session, spec)
        where = await place(session, unit)
        for fmt in FORMATS if unit.kind != "organization" else ("pdf",):
            rows.append(
                {
                    "unit_kind": unit.kind,
                    "unit_key": unit.key,
                    "unit_name": unit.name,
                    "period": period.text,
                    "format": fmt,
                    "region_code": where.get("region_code"),
                    "founder_id": where.get("founder_id"),
                    "organization_id": where.get("organization_id"),
                }
            )
    return await repository.add_scheduled(session, rows)
