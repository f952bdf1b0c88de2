"""``otklik reports quarterly`` as an operator runs it: a file, or a precise Russian refusal."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook
from pypdf import PdfReader

from otklik.db import to_libpq_url
from otklik.kit.clock import moscow_date
from otklik.reports import service
from tests.test_cli_commands import otklik


def test_quarterly_report_command(database_url: str, tmp_path: Path) -> None:
    url = to_libpq_url(database_url)
    last = service.last_complete_quarter(moscow_date())
    today = moscow_date()
    current = f"{today.year}-Q{(today.month - 1) // 3 + 1}"

    def run(*args: str):  # type: ignore[no-untyped-def]
        return otklik(url, tmp_path, "reports", "quarterly", *args)

    out = tmp_path / "r.pdf"
    refusals = [
        (("--period", "2026-13", "--scope", "country"), "укажите его как ГГГГ-QN"),
        (("--period", "2100-Q1", "--scope", "country"), "ещё не начался"),
        (("--period", current, "--scope", "country"), "ещё не закончился"),
        (("--period", last, "--scope", "planet:3"), "Неизвестная область «planet:3»"),
        (("--period", last, "--scope", "region:99"), "Нет такой области отчёта"),
        (("--period", last, "--scope", "founder:nobody"), "учредитель «nobody»"),
        (("--period", last, "--scope", "country", "--format", "docx"), "pdf или xlsx"),
    ]
    for args, words in refusals:
        r = run(*args, "--out", str(out))
        assert r.code == 1, (args, r.text)
        assert "Ошибка" in r.text, r.text
        assert words in r.text.replace("\n", " "), (args, r.text)
        assert not out.exists()
    r = run("--period", last, "--scope", "country", "--out", str(tmp_path / "missing" / "x.pdf"))
    assert r.code == 1
    assert "каталога" in r.text
    # a scope without data (nothing committed in the test database): a report that says so
    r = run("--period", last, "--scope", "country", "--out", str(out))
    assert r.code == 0, r.text
    assert "Анкет за квартал нет" in r.text
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(out.read_bytes())).pages)
    assert "нет ни одной заполненной анкеты" in text.replace("\n", " ")
    xlsx = tmp_path / "r.xlsx"
    r = run("--period", last, "--scope", "country", "--format", "xlsx", "--out", str(xlsx))
    assert r.code == 0, r.text
    assert "Показатели" in load_workbook(xlsx).sheetnames
