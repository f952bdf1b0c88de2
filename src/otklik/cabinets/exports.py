"""Every cabinet table as CSV or XLSX, with the methodology version and period in the file."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from otklik.indicators.schemas import IndicatorsOut
from otklik.kit.tabular import csv_safe, xlsx_safe

SUPPRESSED = "недостаточно данных"


def cell(value: Any, hidden: bool = False) -> Any:
    if hidden:
        return SUPPRESSED
    return "" if value is None else value


def organization_rows(data: IndicatorsOut) -> tuple[list[str], list[list[Any]]]:
    header = ["Показатель", "n", "Средний балл", "95 % ДИ от", "95 % ДИ до", "Доля 4–5, %"]
    rows = [
        [
            i.label,
            i.n,
            cell(i.mean, i.suppressed),
            cell(i.ci_low, i.suppressed),
            cell(i.ci_high, i.suppressed),
            cell(i.csat, i.suppressed),
        ]
        for i in data.items
    ]
    rows.append(
        [
            "Интегральный индекс",
            data.counts.responses,
            cell(data.integral.value, data.integral.suppressed),
            cell(data.integral.ci_low, data.integral.suppressed),
            cell(data.integral.ci_high, data.integral.suppressed),
            "",
        ]
    )
    return header, rows


def trend_rows(trend: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    header = ["Месяц", "Анкет", "Удовлетворённость в целом", "Интегральный индекс"]
    rows = [
        [
            t["month"].strftime("%Y-%m"),
            t["responses"],
            cell(_r(t["overall"]), t["overall"] is None),
            cell(_r(t["integral"]), t["integral"] is None),
        ]
        for t in trend
    ]
    return header, rows


def table_rows(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    header = [
        "ОГРН",
        "Организация",
        "Тип",
        "Субъект РФ",
        "Анкет",
        "Интегральный индекс",
        "Оценка для рейтинга (сглаженная)",
        "Удовлетворённость в целом",
        "Охват, %",
        "Цель на год",
        "Статус цели",
    ]
    out = [
        [
            r["ogrn"],
            r["name"],
            r["type_name"],
            r["region_name"],
            r["resp"],
            cell(_r(r["integral"]), r["integral"] is None),
            cell(_r(r["shrunk"]), r["shrunk"] is None),
            cell(_r(r["overall"]), r["overall"] is None),
            cell(r["coverage"]),
            cell(_r(r["target"])),
            r["status_label"],
        ]
        for r in rows
    ]
    return header, out


def region_rows(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    header = [
        "Код",
        "Субъект РФ",
        "Организаций",
        "Анкет",
        "Интегральный индекс (по ответам)",
        "Среднее значений организаций (344н)",
    ]
    out = [
        [
            r["code"],
            r["name"],
            r["organizations"],
            r["resp"],
            cell(_r(r["pooled"]), r["pooled"] is None),
            cell(_r(r["unweighted"]), r["unweighted"] is None),
        ]
        for r in rows
    ]
    return header, out


def _r(v: float | None) -> float | None:
    """Figures arrive rounded for display (``indicators.disclosure.shown``): no second rounding."""
    return None if v is None else float(v)


def meta(title: str, version: str, period: str) -> list[list[str]]:
    return [[title], [f"Методика: {version}"], [f"Период: {period}"], []]


def to_csv(
    title: str, version: str, period: str, header: list[str], rows: Sequence[Sequence[Any]]
) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";")
    w.writerows(meta(title, version, period))
    w.writerow(header)
    w.writerows(csv_safe(row) for row in rows)
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(
    title: str, version: str, period: str, header: list[str], rows: Sequence[Sequence[Any]]
) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Показатели")
    for line in meta(title, version, period):
        ws.append(line)
    ws.append(header)
    for row in rows:
        ws.append(xlsx_safe(ws, row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def scope_table_rows(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """The organizations of a region or founder page, with the change against last year."""
    header = [
        "ОГРН",
        "Организация",
        "Тип",
        "Субъект РФ",
        "Анкет",
        "Оценка для рейтинга (сглаженная)",
        "Интегральный индекс",
        "Прошлый год",
        "Изменение",
        "Статус цели",
    ]
    out = [
        [
            r["ogrn"],
            r["name"],
            r["type_name"],
            r["region_name"],
            r["resp"],
            cell(_r(r["shrunk"]), r["hidden"]),
            cell(_r(r["integral"]), r["hidden"]),
            cell(_r(r["baseline"])),
            cell(None if r["change"] is None else round(r["change"], 2)),
            r["status_label"],
        ]
        for r in rows
    ]
    return header, out


def participation_rows(rows: list[Any]) -> tuple[list[str], list[list[Any]]]:
    """Participation by organization type against decree 882's 50 % rule."""
    header = [
        "Тип организации",
        "Организаций в реестре",
        "В перечне участников",
        "Участвуют (записи или анкеты за период)",
        "Доля участвующих, %",
        "Ниже 50 %",
    ]
    out = [
        [p.name, p.organizations, p.listed, p.active, cell(p.share), "да" if p.below else "нет"]
        for p in rows
    ]
    return header, out


def rate_rows(rows: list[Any]) -> tuple[list[str], list[list[Any]]]:
    """Answer rate by organization type."""
    header = [
        "Тип организации",
        "Организаций",
        "Анкет",
        "Доставлено приглашений",
        "Доля ответов, %",
        "95 % ДИ от",
        "95 % ДИ до",
    ]
    out = [
        [
            r.name,
            r.organizations,
            r.answers,
            cell(r.delivered, r.hidden),
            cell(r.rate, r.hidden),
            cell(r.ci_low, r.hidden),
            cell(r.ci_high, r.hidden),
        ]
        for r in rows
    ]
    return header, out
