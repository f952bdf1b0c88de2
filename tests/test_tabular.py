"""Reports we write never carry a formula: a hostile text stays text (formula injection)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import load_workbook

from otklik.cabinets.exports import to_csv, to_xlsx
from otklik.kit.tabular import write_error_report, write_xlsx

HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1)", "\tX", "\rY"]


def _xlsx_cells(data: bytes | Path) -> list[tuple[object, str]]:
    wb = load_workbook(data if isinstance(data, Path) else io.BytesIO(data))
    ws = wb.active
    assert ws is not None
    return [(c.value, c.data_type) for row in ws.iter_rows() for c in row if c.value is not None]


def test_error_reports_neutralise_formulas(tmp_path: Path) -> None:
    rows = [(i + 2, v, "record_id", "bad", "Ошибка") for i, v in enumerate(HOSTILE)]
    csv_path = tmp_path / "file.csv.errors.csv"
    write_error_report(csv_path, rows, ["Строка", "record_id", "Поле", "Код", "Сообщение"])
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        cells = [r[1] for r in csv.reader(fh, delimiter=";")][1:]
    assert cells == [f"'{v}" for v in HOSTILE]
    xlsx_path = tmp_path / "errors.xlsx"
    write_xlsx(xlsx_path, "Ошибки", ["Строка", "record_id", "Поле", "Код", "Сообщение"], rows)
    cells_x = _xlsx_cells(xlsx_path)
    assert ('=HYPERLINK("http://evil.example","x")', "s") in cells_x
    assert all(t != "f" for _, t in cells_x)
    assert (2, "n") in cells_x  # numbers stay numbers


def test_cabinet_exports_neutralise_formulas() -> None:
    rows = [[v, 4.5] for v in HOSTILE]
    text = to_csv("T", "2025.1", "2026", ["Название", "Оценка"], rows).decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    assert "\n=" not in text
    cells = _xlsx_cells(to_xlsx("T", "2025.1", "2026", ["Название", "Оценка"], rows))
    assert all(t != "f" for _, t in cells)
    assert (4.5, "n") in cells


def test_cabinet_xlsx_fractions_are_numbers_with_a_number_format() -> None:
    data = to_xlsx("T", "2025.1", "2026", ["Название", "Оценка", "Анкет"], [["А", 4.567, 12]])
    ws = load_workbook(io.BytesIO(data)).active
    assert ws is not None
    row = next(r for r in ws.iter_rows() if r[0].value == "А")
    assert row[1].value == 4.567
    assert row[1].data_type == "n"
    assert row[1].number_format == "#,##0.0#"  # shown as 4,57 in a Russian spreadsheet
    assert row[2].number_format == "General"  # a count stays a plain integer
