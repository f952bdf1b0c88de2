"""Open data: datasets of a published quarter, their dictionary, files and public pages' data.

Only whole quarters that have ended are published (a quarter still filling would let two
downloads a day apart be subtracted). Every figure is the cabinets' (same formulas, same
rounding); every hidden cell is ``suppression.hidden``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import DomainError, NotFound
from otklik.indicators import disclosure, table_queries, tables
from otklik.indicators import service as ind
from otklik.indicators.methodology import ITEM_LABELS, Methodology
from otklik.indicators.periods import Period, parse_period
from otklik.indicators.schemas import IndicatorsOut
from otklik.indicators.table_queries import Filters, Window
from otklik.insights import taxonomy
from otklik.kit.scope import Scope
from otklik.opendata import repository, suppression

FORMAT_VERSION = "1"
LICENCE = {
    "name": "CC BY 4.0",
    "title": "Creative Commons Attribution 4.0 International",
    "url": "https://creativecommons.org/licenses/by/4.0/deed.ru",
    "attribution": "Отклик — оценка гражданами качества услуг организаций социальной сферы",
}
CACHE_CONTROL = "public, max-age=3600, must-revalidate"
TRENDS = 8  # quarters in an organization's trend
TOP_TOPICS = 5
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.ASCII)
_REGION = re.compile(r"^\d{2}$", re.ASCII)


class BadQuarter(DomainError):
    status_code = 400
    code = "bad_quarter"
    message = "Квартал не распознан: укажите его как 2026-Q3 (год, «-Q» и номер квартала 1–4)."


class BadRegion(DomainError):
    status_code = 400
    code = "bad_region"
    message = "Код субъекта РФ — две цифры, например 16."


def quarter_of(day: date) -> Period:
    return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}")


def last_published(today: date) -> Period:
    """The last quarter that has ended (Moscow date)."""
    current = quarter_of(today)
    prev = date.fromordinal(current.start.toordinal() - 1)
    return quarter_of(prev)


def parse_quarter(text: str, today: date) -> Period:
    """A published quarter: ``2026-Q3``; empty means the last one. Malformed 400, not yet
    ended 404."""
    s = text.strip()
    if not s:
        return last_published(today)
    if len(s) > 20 or not (m := _QUARTER.match(s)):
        raise BadQuarter()
    if not 2000 <= int(m[1]) <= 2100:
        raise BadQuarter(f"Год {m[1]} вне допустимого диапазона 2000–2100.")
    p = parse_period(s)
    if p.end >= today:
        last = last_published(today).text
        raise NotFound(
            f"Квартал {s} ещё не завершён: открытые данные публикуются после окончания "
            f"квартала. Последний опубликованный — {last}.",
            code="quarter_not_published",
        )
    return p


def quarters_back(period: Period, k: int) -> list[Period]:
    """``k`` quarters ending with ``period``, oldest first."""
    out = [period]
    while len(out) < k:
        prev = date.fromordinal(out[0].start.toordinal() - 1)
        if prev.year < 2000:
            break
        out.insert(0, quarter_of(prev))
    return out


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    title: str
    description: str = ""


COMMON = (
    Field("period", "string", "Квартал", "Отчётный квартал в виде 2026-Q3."),
    Field("methodology_version", "string", "Версия методики", "Версия методики расчёта."),
)
SUPPRESSED = Field(
    "suppressed",
    "boolean",
    "Скрыто",
    "true — значения скрыты правилами малых чисел (менее порогового числа анкет) или "
    "дополнительного скрытия (чтобы скрытое нельзя было вычислить вычитанием из итогов).",
)
AGGREGATE_FIELDS = (
    *COMMON,
    Field("code", "string", "Код", "Код субъекта РФ, типа организации или учредителя."),
    Field("name", "string", "Наименование"),
    Field("organizations", "integer", "Организаций", "Организаций с анкетами за квартал."),
    Field("responses", "integer", "Анкет", "Заполненных анкет; пусто, если скрыто."),
    SUPPRESSED,
    Field(
        "integral",
        "number",
        "Интегральный индекс",
        "По всем ответам вместе (1–5, два знака, округление половины вверх).",
    ),
    Field(
        "integral_unweighted",
        "number",
        "Среднее организаций (344н)",
        "Среднее показанных интегральных индексов организаций без учёта числа ответов.",
    ),
    Field("overall", "number", "Удовлетворённость в целом", "Средний балл 1–5."),
)


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    fields: tuple[Field, ...]
    filters: tuple[str, ...] = ()


DATASETS = {
    "organizations": Dataset(
        "organizations",
        "Показатели организаций",
        (
            *COMMON,
            Field("ogrn", "string", "ОГРН"),
            Field("name", "string", "Краткое наименование"),
            Field("address", "string", "Адрес"),
            Field("region_code", "string", "Код субъекта РФ"),
            Field("region_name", "string", "Субъект РФ"),
            Field("type_code", "string", "Код типа организации"),
            Field("type_name", "string", "Тип организации"),
            Field("founder_code", "string", "Код учредителя"),
            Field("founder_name", "string", "Учредитель"),
            Field("responses", "integer", "Анкет", "Заполненных анкет; пусто, если скрыто."),
            SUPPRESSED,
            Field(
                "integral",
                "number",
                "Интегральный индекс",
                "Взвешенное среднее средних баллов показателей (1–5).",
            ),
            Field(
                "integral_shrunk",
                "number",
                "Интегральный индекс для рейтинга",
                "Сглаженный к среднему по типу организации в стране (эмпирический Байес): "
                "по нему ранжируются организации с разным числом ответов.",
            ),
            Field("overall", "number", "Удовлетворённость в целом", "Средний балл 1–5."),
            Field(
                "answer_rate",
                "number",
                "Доля ответивших, %",
                "Анкет на 100 получателей услуг за квартал (цель — 40\u00a0%).",
            ),
        ),
        ("region", "type", "founder"),
    ),
    "regions": Dataset("regions", "Показатели субъектов РФ", AGGREGATE_FIELDS),
    "types": Dataset("types", "Показатели по типам организаций", AGGREGATE_FIELDS),
    "founders": Dataset("founders", "Показатели по учредителям", AGGREGATE_FIELDS),
}
GROUPING = {"regions": "region", "types": "type", "founders": "founder"}


def _num(v: Any) -> float | None:
    return None if v is None else disclosure.shown(Decimal(str(v)))


@dataclass
class Query:
    """A validated request for a dataset."""

    dataset: Dataset
    period: Period
    m: Methodology
    region: str = ""
    type_code: str = ""
    founder: str = ""
    founder_id: int | None = None

    @property
    def filters(self) -> dict[str, str]:
        out = {"region": self.region, "type": self.type_code, "founder": self.founder}
        return {k: v for k, v in out.items() if v}


async def prepare(
    session: AsyncSession,
    name: str,
    period_text: str,
    today: date,
    region: str = "",
    type_code: str = "",
    founder: str = "",
) -> Query:
    """Validate a request (400 malformed, 404 unknown or unpublished)."""
    ds = DATASETS[name]
    period = parse_quarter(period_text, today)
    m = await ind.methodology(session, None)
    query = Query(ds, period, m)
    if region:
        if not _REGION.match(region):
            raise BadRegion()
        if await repository.region(session, region) is None:
            raise NotFound(f"Субъект РФ с кодом {region} не найден.", code="region_not_found")
        query.region = region
    if type_code:
        if not await repository.type_exists(session, type_code):
            raise NotFound(f"Тип организации «{type_code[:60]}» не найден.", code="type_not_found")
        query.type_code = type_code
    if founder:
        found = await repository.founder_by_code(session, founder)
        if found is None:
            raise NotFound(f"Учредитель «{founder[:60]}» не найден.", code="founder_not_found")
        query.founder, query.founder_id = founder, found.id
    return query


async def source(session: AsyncSession, period: Period, m: Methodology) -> str:
    """The digest of everything a quarter's files show: the format, the methodology (version and
    min_n), the quarter's rollup and the registry (``repository.fingerprint``) and the year's
    population, which the quarter's protection reads (year masks). A stored file whose source
    differs is stale (``store``)."""
    parts = [
        FORMAT_VERSION,
        period.text,
        m.version,
        str(m.min_n),
        repr(await repository.fingerprint(session, period)),
        repr(await table_queries.population_fingerprint(session, period.year)),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def etag(source_digest: str, query: Query, fmt: str) -> str:
    """A strong validator of one response: the quarter's source, the dataset, format, filters."""
    parts = [source_digest, query.dataset.name, fmt, json.dumps(query.filters, sort_keys=True)]
    return '"' + hashlib.sha256("|".join(parts).encode()).hexdigest()[:40] + '"'


Row = dict[str, Any]


def meta(query: Query, today: date) -> dict[str, Any]:
    return {
        "dataset": query.dataset.name,
        "title": query.dataset.title,
        "period": query.period.text,
        "period_start": query.period.start.isoformat(),
        "period_end": query.period.end.isoformat(),
        "methodology_version": query.m.version,
        "min_n": query.m.min_n,
        "filters": query.filters,
        "licence": LICENCE,
        "format_version": FORMAT_VERSION,
        "dictionary": "/api/open/v1/dictionary",
        "suppression": (
            f"Значения организации или группы скрыты, если за квартал у неё меньше "
            f"{query.m.min_n} анкет, и дополнительно — если иначе скрытое можно было бы "
            "вычислить вычитанием из итогов и других опубликованных значений."
        ),
    }


def _org_row(query: Query, r: Any) -> Row:
    hidden = bool(r.hidden)
    resp = int(r.resp)
    return {
        "period": query.period.text,
        "methodology_version": query.m.version,
        "ogrn": r.ogrn,
        "name": r.name,
        "address": r.address,
        "region_code": r.region_code,
        "region_name": r.region_name,
        "type_code": r.type_code,
        "type_name": r.type_name,
        "founder_code": r.founder_code,
        "founder_name": r.founder_name,
        "responses": None if hidden else resp,
        "suppressed": hidden,
        "integral": None if hidden else _num(r.integral),
        "integral_shrunk": None if hidden else _num(r.shrunk),
        "overall": None if hidden else _num(r.overall),
        "answer_rate": None if hidden else disclosure.ratio(resp, int(r.recipients), query.m.min_n),
    }


async def dataset_rows(session: AsyncSession, query: Query, today: date) -> list[Row]:
    """Every row of the dataset (unfiltered): what ``store`` builds a file from."""
    hidden = await suppression.hidden(session, query.period, query.m)
    if query.dataset.name != "organizations":
        grouping = GROUPING[query.dataset.name]
        rows = await repository.aggregate_rows(
            session, query.m, query.period, grouping, sorted(hidden.organizations)
        )
        out = []
        for r in rows:
            gone = hidden.group(grouping, str(r.key))
            out.append(
                {
                    "period": query.period.text,
                    "methodology_version": query.m.version,
                    "code": r.code,
                    "name": r.name,
                    "organizations": int(r.organizations),
                    "responses": None if gone else int(r.resp),
                    "suppressed": gone,
                    "integral": None if gone else _num(r.pooled),
                    "integral_unweighted": None if gone else _num(r.unweighted),
                    "overall": None if gone else _num(r.overall),
                }
            )
        return out
    # the lean window reads no previous year: no baseline is shown, none needs hiding
    params = {"hidden_ids": sorted(hidden.organizations), "prev_hidden_ids": []}
    stmt = repository.organization_rows(
        query.m, lean_window(query.period, today), query.period, "", "", None
    )
    # read to its end: plan it as the whole statement it is
    await session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
    return [_org_row(query, r) for r in await session.execute(stmt, params)]


def lean_window(period: Period, today: date) -> Window:
    """The table's window without the year-to-date and previous-year sums: the open data shows
    neither target nor status, and the integral, its shrunken value and the overall score read
    the period alone (the previous year shrinks to one day before any data)."""
    w = tables.window(period, today)
    nothing = date(2000, 1, 1)
    return Window(w.start, w.end, w.start, nothing, nothing, w.elapsed)


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return v


def csv_line(fields: Sequence[str], row: Row | None = None) -> bytes:
    """One CSV line: the header (no ``row``) or a row's cells in the fields' order."""
    buf = io.StringIO()
    cells = list(fields) if row is None else [_cell(row[f]) for f in fields]
    csv.writer(buf, lineterminator="\r\n").writerow(cells)
    return buf.getvalue().encode()


def json_line(row: Row) -> bytes:
    return json.dumps(row, ensure_ascii=False).encode()


def json_head(meta_: dict[str, Any]) -> bytes:
    """A JSON file is ``{"meta": …, "data": [rows joined by ",\\n"]}``."""
    return b'{"meta": ' + json.dumps(meta_, ensure_ascii=False).encode() + b', "data": ['


JSON_TAIL = b"]}\n"


def dictionary(m: Methodology, per_minute: int, base: str = "") -> dict[str, Any]:
    """The data dictionary: datasets, their fields, parameters, licence, limits."""
    return {
        "title": "Открытые данные «Отклика»",
        "format_version": FORMAT_VERSION,
        "methodology_version": m.version,
        "min_n": m.min_n,
        "licence": LICENCE,
        "periods": "Кварталы, завершившиеся к дате запроса: period=2026-Q3 "
        "(без параметра — последний завершившийся).",
        "rate_limit": {"per_minute": per_minute, "per": "адрес клиента"},
        "caching": {"cache_control": CACHE_CONTROL, "etag": True, "conditional_get": True},
        "datasets": [
            {
                "name": ds.name,
                "title": ds.title,
                "csv": f"{base}/api/open/v1/{ds.name}.csv",
                "json": f"{base}/api/open/v1/{ds.name}.json",
                "parameters": ["period", *ds.filters],
                "fields": [
                    {
                        "name": f.name,
                        "type": f.kind,
                        "title": f.title,
                        "description": f.description,
                    }
                    for f in ds.fields
                ],
            }
            for ds in DATASETS.values()
        ],
        "items": ITEM_LABELS,
    }


# --- public pages ---


@dataclass
class TrendPoint:
    period: Period
    value: float | None
    state: str  # shown, hidden, none


@dataclass
class OrganizationPage:
    org: Any
    period: Period
    data: IndicatorsOut
    hidden: bool
    responses: int | None
    trend: list[TrendPoint] = field(default_factory=list)
    topics: list[tuple[str, float]] = field(default_factory=list)


async def organization_page(
    session: AsyncSession, ogrn: str, period: Period, today: date
) -> OrganizationPage:
    """An organization's public figures for a quarter (the cabinets' engine, country scope)."""
    org = await repository.organization(session, ogrn)
    if org is None:
        raise NotFound("Организация с таким ОГРН не найдена.", code="organization_not_found")
    m = await ind.methodology(session, None)
    unit = await ind.resolve_unit(session, f"organization:{ogrn}")
    data = await ind.compute(session, Scope.country(), unit, period, m, today)
    hidden_now = await suppression.hidden(session, period, m)
    hidden = hidden_now.org(org.id) or data.counts.responses < m.min_n
    page = OrganizationPage(org, period, data, hidden, None if hidden else data.counts.responses)
    quarters = quarters_back(period, TRENDS)
    rows = {
        r.quarter.date(): r
        for r in await repository.quarter_integrals(
            session, m, org.id, quarters[0].start, period.end
        )
    }
    for qp in quarters:
        r = rows.get(qp.start)
        if r is None or int(r.resp) == 0:
            page.trend.append(TrendPoint(qp, None, "none"))
            continue
        gone = (await suppression.hidden(session, qp, m)).org(org.id)
        value = None if gone else _num(r.integral)
        page.trend.append(TrendPoint(qp, value, "shown" if value is not None else "hidden"))
    if not hidden:
        n, counts = await repository.topic_counts(session, org.id, period)
        names = taxonomy.load().names
        for code, k in counts:
            share = disclosure.ratio(k, n, m.min_n)
            if share is not None and len(page.topics) < TOP_TOPICS:
                page.topics.append((names.get(code, code), share))
    return page


def organization_json(page: OrganizationPage) -> dict[str, Any]:
    d = page.data
    return {
        "ogrn": page.org.ogrn,
        "name": page.org.short_name,
        "address": page.org.address,
        "region_code": page.org.region_code,
        "region_name": page.org.region_name,
        "type_name": page.org.type_name,
        "period": page.period.text,
        "methodology_version": d.methodology,
        "licence": LICENCE,
        "suppressed": page.hidden,
        "responses": page.responses,
        "answer_rate": None if page.hidden else d.coverage,
        "integral": {
            "value": None if page.hidden else d.integral.value,
            "ci_low": None if page.hidden else d.integral.ci_low,
            "ci_high": None if page.hidden else d.integral.ci_high,
        },
        "items": [
            {
                "code": i.code,
                "title": i.label,
                "mean": None if page.hidden else i.mean,
                "ci_low": None if page.hidden else i.ci_low,
                "ci_high": None if page.hidden else i.ci_high,
                "suppressed": page.hidden or i.suppressed,
            }
            for i in d.items
        ],
        "trend": [
            {"period": t.period.text, "integral": t.value, "state": t.state} for t in page.trend
        ],
        "topics": [{"topic": name, "share": share} for name, share in page.topics],
        "you_said_we_did": f"/o/{page.org.ogrn}/you-said-we-did",
    }


async def region_tiles(
    session: AsyncSession, period: Period, today: date
) -> tuple[list[dict[str, Any]], Methodology]:
    """Every region with its pooled and unweighted integral (``tables.regions``), hidden as
    the open data hides them."""
    m = await ind.methodology(session, None)
    rows = await tables.regions(session, Scope.country(), period, m, today)
    hidden = await suppression.hidden(session, period, m)
    for r in rows:
        if hidden.group("region", str(r["code"])) or r["hidden"]:
            r.update(hidden=True, pooled=None, unweighted=None)
        r["band"] = tables.band(r["pooled"])
        r["resp_shown"] = None if r["hidden"] else int(r["resp"])
    return rows, m


async def region_ranking(
    session: AsyncSession, code: str, period: Period, today: date, page: int, per_page: int = 50
) -> tables.OrgTable:
    """The region's organizations ranked by the shrunken integral (the cabinets' table)."""
    m = await ind.methodology(session, None)
    return await tables.organization_table(
        session,
        Scope.country(),
        period,
        m,
        today,
        Filters(region_code=code),
        "-shrunk",
        page,
        per_page,
    )


def published_quarters(first: date | None, today: date) -> list[Period]:
    """Published quarters, newest first (from the first month with answers)."""
    last = last_published(today)
    if first is None:
        return [last]
    out = quarters_back(last, 4 * (last.year - first.year + 1))
    return [p for p in reversed(out) if p.end >= first]
