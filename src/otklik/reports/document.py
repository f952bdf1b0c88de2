"""The report as files: PDF (typst, its bundled Libertinus and DejaVu fonts carry Cyrillic),
XLSX (openpyxl), charts as SVG (matplotlib, Agg). Russian text, decimal commas."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import typst
from openpyxl import Workbook
from openpyxl.styles import Font

from otklik.indicators.disclosure import HIDDEN_LABEL
from otklik.indicators.schemas import IndicatorsOut
from otklik.kit.clock import MOSCOW
from otklik.reports.service import KINDS, ReportData

DASH = "—"


def num(v: float | int | None, places: int = 2, unit: str = "") -> str:
    """A figure as Russians write it: 4,52; 1 234; ``недостаточно данных`` when hidden."""
    if v is None:
        return HIDDEN_LABEL
    if isinstance(v, int):
        text = f"{v:,}".replace(",", "\u00a0")
    else:
        text = f"{v:,.{places}f}".replace(",", "\u00a0").replace(".", ",")
    return f"{text}\u00a0{unit}" if unit else text


def interval(low: float | None, high: float | None, places: int = 2) -> str:
    if low is None or high is None:
        return DASH
    return f"{num(low, places)}–{num(high, places)}"


def _t(s: Any) -> str:
    """Any text as a typst string literal: never read as markup."""
    text = str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'#"{text}"'


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], widths: str = "") -> str:
    cols = widths or "(" + ", ".join(["2fr"] + ["1fr"] * (len(head) - 1)) + ")"
    cells = ", ".join(f"[*{_t(h)}*]" for h in head)
    body = ", ".join(f"[{_t(c)}]" for row in rows for c in row)
    return (
        f"#table(columns: {cols}, stroke: 0.4pt + luma(180), inset: 4pt, "
        f"table.header({cells}), {body})\n"
    )


def _label(f: IndicatorsOut) -> str:
    return f.period.label


def _chart_quarters(data: ReportData, path: Path) -> bool:
    points = [(q.period.text, q.integral.value, q.integral.ci_low, q.integral.ci_high)
              for q in data.quarters]  # fmt: skip
    if not any(v is not None for _, v, _, _ in points):
        return False
    fig, ax = plt.subplots(figsize=(6.2, 2.6))
    xs = range(len(points))
    for x, (_, v, lo, hi) in zip(xs, points, strict=True):
        if v is None:
            continue
        ax.bar(x, v, color="#3b6ea5", width=0.55)
        if lo is not None and hi is not None:
            ax.errorbar(x, v, yerr=[[v - lo], [hi - v]], color="#222", capsize=4)
        ax.text(x, v + 0.05, num(v), ha="center", va="bottom", fontsize=8)
    ax.axhline(data.m.improvement_threshold, color="#b03030", linestyle="--", linewidth=1)
    ax.text(len(points) - 0.5, data.m.improvement_threshold + 0.03,
            f"порог {num(data.m.improvement_threshold, 1)}", color="#b03030", fontsize=8,
            ha="right")  # fmt: skip
    ax.set_xticks(list(xs), [p for p, _, _, _ in points])
    ax.set_ylim(1, 5.3)
    ax.set_ylabel("баллы (1–5)")
    ax.set_title("Интегральный индекс по кварталам, 95\u00a0% интервал", fontsize=10)
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: num(v, 1)))
    fig.tight_layout()
    fig.savefig(path, format="svg")
    plt.close(fig)
    return True


def _chart_bands(data: ReportData, path: Path) -> bool:
    if not data.bands or not any(n for _, n in data.bands):
        return False
    fig, ax = plt.subplots(figsize=(6.2, 2.4))
    labels = [b for b, _ in data.bands]
    values = [n for _, n in data.bands]
    colors = ["#b03030", "#d9822b", "#e0b33a", "#6aa84f", "#2f7d32"]
    ax.bar(range(len(values)), values, color=colors[: len(values)])
    for x, n in enumerate(values):
        ax.text(x, n, str(n), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel("организаций")
    ax.set_title("Организации по интегральному индексу", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, format="svg")
    plt.close(fig)
    return True


def _rows_items(f: IndicatorsOut) -> list[list[str]]:
    rows = [[i.label, num(i.n), num(i.mean), interval(i.ci_low, i.ci_high),
             num(i.csat, 1, "%")] for i in f.items]  # fmt: skip
    rows.append(
        [
            "Интегральный индекс",
            num(f.counts.responses),
            num(f.integral.value),
            interval(f.integral.ci_low, f.integral.ci_high),
            DASH,
        ]
    )
    return rows


def _summary(data: ReportData) -> list[list[str]]:
    f = data.figures
    labels = {i.code: i.label for i in f.items} | {"integral": "интегральный индекс"}
    zone = [labels.get(code, code) for code in f.improvement_zone]
    cov = f.coverage
    verdict = DASH if cov is None else ("достигнут" if cov >= f.coverage_target else "не достигнут")
    return [
        ["Заполнено анкет", num(f.counts.responses)],
        ["Получателей услуг", num(f.counts.service_recipients)],
        ["Доставлено приглашений", num(f.counts.invitations_delivered)],
        ["Интегральный индекс, баллы", num(f.integral.value)],
        ["95\u00a0% интервал индекса", interval(f.integral.ci_low, f.integral.ci_high)],
        ["Охват (анкеты ÷ получатели услуг)", num(f.coverage, 1, "%")],
        [f"Цель охвата {num(f.coverage_target, 0, '%')}", verdict],
        ["Отклик на приглашения", num(f.response_rate, 1, "%")],
        ["Готовы рекомендовать", num(f.recommendation.value, 1, "%")],
        ["Своевременность передачи записей", num(f.timeliness, 1, "%")],
        ["Зона улучшения (ниже 4,5)", ", ".join(zone) or "нет"],
    ]


def _targets(f: IndicatorsOut) -> list[list[str]]:
    return [[t.label, num(t.baseline), num(t.target), num(t.current), t.status_label]
            for t in f.targets]  # fmt: skip


def _months(data: ReportData) -> list[list[str]]:
    return [[_label(mo), num(mo.counts.responses), num(mo.integral.value),
             interval(mo.integral.ci_low, mo.integral.ci_high), num(mo.coverage, 1, "%")]
            for mo in data.months]  # fmt: skip


def _below(data: ReportData) -> list[list[str]]:
    return [[r["name"], r.get("region_name") or "", num(r["integral"]), num(r["baseline"]),
             num(r["target"]), num(r["ytd"]), r["status_label"]] for r in data.below]  # fmt: skip


def _methodology(data: ReportData) -> list[str]:
    m = data.m
    return [
        f"Методика {m.version}. Оценки по шкале 1–5; интегральный индекс — взвешенное среднее "
        "показателей, вошедших в индекс.",
        f"Интервалы — {num(100 * m.confidence, 0, '%')}: для средних баллов — ограниченный "
        "интервал по распределению оценок, для долей — интервал Уилсона, для индекса — по "
        "индивидуальным индексам респондентов.",
        f"Порог зоны улучшения — {num(m.improvement_threshold, 1)} балла; цель на год для "
        f"показателя ниже порога — значение прошлого года плюс {num(m.annual_step, 1)} балла "
        "(не выше 5); статус «в графике» — текущее значение с начала года не ниже линейного "
        "темпа к цели.",
        f"Цель охвата — {num(100 * m.coverage_target, 0, '%')} получателей услуг.",
        f"Правила скрытия: значение по менее чем {m.min_n} анкетам не показывается "
        f"(«{HIDDEN_LABEL}»); если по другим показанным цифрам можно вычесть скрытую, "
        "скрывается и следующая по величине ячейка (дополнительное скрытие); месяцы, кварталы и "
        "год защищены вместе. Малые счётчики (меньше порога) не показываются. Отчёт "
        "использует те же правила, что и кабинеты и API, поэтому его цифры совпадают с ними.",
        "Округление — один раз, до показанного знака, половина вверх.",
    ]


def _typst(data: ReportData, charts: dict[str, str]) -> str:
    f, u = data.figures, data.unit
    made = data.generated_at.astimezone(MOSCOW)
    p = data.period
    where = f"{KINDS.get(u.kind, u.kind)} · {p.label} ({p.start:%d.%m.%Y} — {p.end:%d.%m.%Y})"
    stamp = (
        f"Сформирован {made:%d.%m.%Y %H:%M} (МСК) · методика {data.m.version} · "
        f"порог малых чисел {data.m.min_n}"
    )
    title = _t("Квартальный отчёт о качестве услуг")
    out = [
        '#set document(title: "Квартальный отчёт")\n',
        '#set page(paper: "a4", margin: (x: 1.8cm, y: 2cm), '
        "footer: context align(center)[#text(size: 8pt)[Отклик · квартальный отчёт · "
        'страница #counter(page).display("1 из 1", both: true)]])\n',
        '#set text(lang: "ru", size: 9.5pt)\n',
        '#set heading(numbering: "1.")\n',
        f'#align(center)[#text(size: 16pt, weight: "bold")[{title}]]\n',
        f"#align(center)[#text(size: 12pt)[{_t(u.name)}]]\n",
        f"#align(center)[{_t(where)}]\n",
        f"#align(center)[#text(size: 8pt)[{_t(stamp)}]]\n\n",
    ]
    if data.no_data:
        out.append(f"#block(fill: luma(235), inset: 8pt, radius: 3pt)[{_t(NO_DATA)}]\n\n")
    out.append(f"= {_t('Главное')}\n")
    out.append(_table(["Показатель", "Значение"], _summary(data)))
    out.append(f"= {_t('Показатели с интервалами')}\n")
    out.append(_table(["Показатель", "Ответов", "Балл", "95 % интервал", "Доля 4–5"],
                      _rows_items(f)))  # fmt: skip
    if "quarters" in charts:
        out.append(f'#figure(image("{charts["quarters"]}", width: 100%))\n')
    out.append(f"== {_t('По месяцам квартала')}\n")
    out.append(_table(["Месяц", "Анкет", "Индекс", "95 % интервал", "Охват"], _months(data)))
    out.append(f"= {_t('Цели на год (+0,2 балла для показателей ниже 4,5)')}\n")
    out.append(_table(["Показатель", "Прошлый год", "Цель", "С начала года", "Статус"],
                      _targets(f)))  # fmt: skip
    if u.kind != "organization":
        out.append(f"= {_t('Организации ниже 4,5 балла и их продвижение к цели')}\n")
        if "bands" in charts:
            out.append(f'#figure(image("{charts["bands"]}", width: 100%))\n')
        if data.below:
            more = data.below_total - len(data.below)
            out.append(_table(
                ["Организация", "Субъект", "Индекс", "Прошлый год", "Цель", "С начала года",
                 "Статус"], _below(data)))  # fmt: skip
            if more > 0:
                out.append(f"{_t(f'…и ещё {more} (полный список — в XLSX-версии отчёта).')}\n")
        else:
            out.append(f"{_t('Организаций с показанным индексом ниже 4,5 нет.')}\n")
    out.append(f"= {_t('Воронка приглашений')}\n")
    if data.funnel:
        out.append(_table(["Этап", "Число"], [[k, num(v)] for k, v in data.funnel]))
    else:
        out.append(f"{_t('Записей об услугах за квартал нет.')}\n")
    out.append(f"= {_t('Главные проблемы по темам отзывов')}\n")
    if data.problems:
        out.append(_table(
            ["Тема", "Организаций, где это проблема", "Ответов с темой", "Влияние на оценку"],
            [[p["name"], num(p["organizations"]), num(p["answers"]), num(p["diff"])]
             for p in data.problems]))  # fmt: skip
    else:
        out.append(f"{_t('Тем, достоверно снижающих оценку, за квартал не выявлено.')}\n")
    out.append(f"== {_t('По жизненным ситуациям')}\n")
    if data.situations:
        out.append(_table(["Жизненная ситуация", "Темы негативных отзывов (число отзывов)"],
                          [[s["name"], "; ".join(f"{t} ({num(n)})" for t, n in s["topics"])]
                           for s in data.situations]))  # fmt: skip
    else:
        none = (
            f"Ни одна тема не упомянута в {data.m.min_n} и более негативных отзывах "
            "по одной жизненной ситуации."
        )
        out.append(f"{_t(none)}\n")
    out.append(f"= {_t('Инциденты и изменения')}\n")
    if data.incidents:
        out.append(_table(["№", "Инцидент", "Организация", "Важность", "Состояние", "Открыт"],
                          [[i["id"], i["title"], i["organization"], i["severity"], i["state"],
                            f"{i['opened']:%d.%m.%Y}"] for i in data.incidents],
                          "(0.6fr, 2fr, 1.6fr, 0.9fr, 1fr, 1fr)"))  # fmt: skip
    else:
        out.append(f"{_t('Инцидентов за квартал не открывалось.')}\n")
    if data.effects:
        out.append(f"== {_t('Измеренные эффекты изменений')}\n")
        out.append(_table(["Изменение", "Внедрено", "Эффект", "95 % интервал", "Вывод"],
                          [[e["title"], f"{e['released']:%d.%m.%Y}", num(e["estimate"]),
                            interval(e["ci_low"], e["ci_high"]), e["verdict"]]
                           for e in data.effects]))  # fmt: skip
    out.append(f"= {_t('Методика и правила скрытия')}\n")
    out.extend(f"- {_t(line)}\n" for line in _methodology(data))
    return "".join(out)


NO_DATA = (
    "За этот квартал в этой области нет ни одной заполненной анкеты: показатели не "
    "рассчитываются. Отчёт сформирован, чтобы это было зафиксировано."
)


def pdf(data: ReportData) -> bytes:
    with tempfile.TemporaryDirectory(prefix="otklik-report-") as tmp:
        root = Path(tmp)
        charts = {}
        if _chart_quarters(data, root / "quarters.svg"):
            charts["quarters"] = "quarters.svg"
        if data.unit.kind != "organization" and _chart_bands(data, root / "bands.svg"):
            charts["bands"] = "bands.svg"
        (root / "report.typ").write_text(_typst(data, charts), encoding="utf-8")
        return bytes(typst.compile(str(root / "report.typ"), root=str(root)))


def _sheet(wb: Workbook, title: str, head: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    ws = wb.create_sheet(title)
    ws.append(list(head))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([HIDDEN_LABEL if v is None else v for v in row])
    for i, h in enumerate(head, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = max(12, min(60, len(h) + 4))


def xlsx(data: ReportData) -> bytes:
    """The same tables with numbers as numbers (hidden cells say so in words)."""
    f = data.figures
    wb = Workbook()
    ws = wb.create_sheet("Отчёт", 0)
    default = wb.active
    if default is not None and default.title != "Отчёт":
        wb.remove(default)
    ws.append(["Квартальный отчёт о качестве услуг"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["Область", f"{KINDS.get(data.unit.kind, data.unit.kind)}: {data.unit.name}"])
    ws.append(["Период", data.period.label])
    ws.append(["Методика", data.m.version])
    ws.append(["Порог малых чисел", data.m.min_n])
    ws.append(["Сформирован (МСК)", data.generated_at.astimezone(MOSCOW).replace(tzinfo=None)])
    if data.no_data:
        ws.append([NO_DATA])
    ws.append([])
    ws.append(["Показатель", "Значение"])
    summary: list[tuple[str, Any]] = [
        ("Заполнено анкет", f.counts.responses),
        ("Получателей услуг", f.counts.service_recipients),
        ("Доставлено приглашений", f.counts.invitations_delivered),
        ("Интегральный индекс, баллы", f.integral.value),
        ("Индекс: нижняя граница 95 %", f.integral.ci_low),
        ("Индекс: верхняя граница 95 %", f.integral.ci_high),
        ("Охват, %", f.coverage),
        ("Цель охвата, %", f.coverage_target),
        ("Отклик на приглашения, %", f.response_rate),
        ("Готовы рекомендовать, %", f.recommendation.value),
    ]
    for k, v in summary:
        ws.append([k, HIDDEN_LABEL if v is None else v])
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["B"].width = 50
    _sheet(wb, "Показатели", ["Показатель", "Ответов", "Балл", "Нижняя 95 %", "Верхняя 95 %",
                              "Доля 4–5, %"],
           [[i.label, i.n, i.mean, i.ci_low, i.ci_high, i.csat] for i in f.items]
           + [["Интегральный индекс", f.counts.responses, f.integral.value, f.integral.ci_low,
               f.integral.ci_high, None]])  # fmt: skip
    _sheet(wb, "По месяцам", ["Месяц", "Анкет", "Индекс", "Нижняя 95 %", "Верхняя 95 %",
                              "Охват, %"],
           [[mo.period.label, mo.counts.responses, mo.integral.value, mo.integral.ci_low,
             mo.integral.ci_high, mo.coverage] for mo in data.months])  # fmt: skip
    _sheet(wb, "По кварталам", ["Квартал", "Анкет", "Индекс", "Нижняя 95 %", "Верхняя 95 %"],
           [[q.period.text, q.counts.responses, q.integral.value, q.integral.ci_low,
             q.integral.ci_high] for q in data.quarters])  # fmt: skip
    _sheet(
        wb,
        "Цели",
        ["Показатель", "Прошлый год", "Цель", "С начала года", "Статус"],
        [[t.label, t.baseline, t.target, t.current, t.status_label] for t in f.targets],
    )
    if data.unit.kind != "organization":
        _sheet(wb, "Ниже 4,5", ["Организация", "ОГРН", "Субъект", "Анкет", "Индекс",
                                "Прошлый год", "Цель", "С начала года", "Статус"],
               [[r["name"], r.get("ogrn", ""), r.get("region_name", ""), r.get("resp"),
                 r["integral"], r["baseline"], r["target"], r["ytd"], r["status_label"]]
                for r in data.below])  # fmt: skip
        _sheet(wb, "Распределение", ["Интервал индекса", "Организаций"], data.bands)
    _sheet(wb, "Воронка", ["Этап", "Число"], data.funnel)
    _sheet(
        wb,
        "Проблемы",
        ["Тема", "Организаций", "Ответов с темой", "Влияние на оценку"],
        [[p["name"], p["organizations"], p["answers"], p["diff"]] for p in data.problems],
    )
    _sheet(wb, "Жизненные ситуации", ["Жизненная ситуация", "Тема", "Негативных отзывов"],
           [[s["name"], t, n] for s in data.situations for t, n in s["topics"]])  # fmt: skip
    _sheet(wb, "Инциденты", ["№", "Инцидент", "Организация", "Важность", "Состояние", "Открыт"],
           [[i["id"], i["title"], i["organization"], i["severity"], i["state"],
             i["opened"]] for i in data.incidents])  # fmt: skip
    _sheet(wb, "Эффекты", ["Изменение", "Внедрено", "Эффект", "Нижняя 95 %", "Верхняя 95 %",
                           "Вывод"],
           [[e["title"], e["released"], e["estimate"], e["ci_low"], e["ci_high"], e["verdict"]]
            for e in data.effects])  # fmt: skip
    ms = wb.create_sheet("Методика")
    for line in _methodology(data):
        ms.append([line])
    ms.column_dimensions["A"].width = 120
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
