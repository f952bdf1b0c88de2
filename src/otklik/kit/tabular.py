"""Reading CSV (UTF-8 or cp1251, comma/semicolon/tab) and XLSX files as rows of strings."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from otklik.errors import DomainError

csv.field_size_limit(1024 * 1024)

EXTRA_CELLS = "\x00extra"  # marks a row with more cells than the header has


class FileProblem(DomainError):
    """The file as a whole cannot be read; nothing from it is written."""

    status_code = 400
    code = "bad_file"
    message = "Файл не удалось прочитать."


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, dict[str, str]]]  # (1-based line number in the file, row)
    total: int | None  # number of data rows, when cheap to know
    encoding: str


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _detect_encoding(path: Path) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1251"
    return "utf-8-sig"


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


def _normalise_headers(raw: list[str], aliases: dict[str, str]) -> list[str]:
    out = []
    for h in raw:
        key = h.strip().lower()
        out.append(aliases.get(key, key))
    return out


def _check_headers(headers: list[str], required: set[str]) -> None:
    if not any(headers):
        raise FileProblem("В файле нет строки заголовков.", code="no_header")
    missing = sorted(required - set(headers))
    if missing:
        raise FileProblem(
            "В файле нет обязательных столбцов: " + ", ".join(missing) + ".",
            code="missing_columns",
        )
    dupes = sorted({h for h in headers if h and headers.count(h) > 1})
    if dupes:
        raise FileProblem(
            "Столбцы повторяются: " + ", ".join(dupes) + ".", code="duplicate_columns"
        )


def open_table(path: Path, *, required: set[str], aliases: dict[str, str], max_bytes: int) -> Table:
    """Open ``path`` and check its header; rows are read lazily."""
    if not path.is_file():
        raise FileProblem(f"Файл не найден: {path.name}.", code="file_not_found")
    size = path.stat().st_size
    if size == 0:
        raise FileProblem("Файл пуст.", code="empty_file")
    if size > max_bytes:
        raise FileProblem(
            f"Файл слишком большой: {size / 2**20:.0f} МБ при пределе {max_bytes / 2**20:.0f} МБ. "
            "Разделите его на части.",
            code="file_too_large",
        )
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _open_xlsx(path, required, aliases)
    if suffix in (".csv", ".txt", ".tsv"):
        return _open_csv(path, required, aliases)
    raise FileProblem(
        f"Неподдерживаемый формат «{suffix or 'без расширения'}»: нужен CSV или XLSX.",
        code="unsupported_format",
    )


def _open_csv(path: Path, required: set[str], aliases: dict[str, str]) -> Table:
    encoding = _detect_encoding(path)
    with path.open(encoding=encoding, newline="") as fh:
        head = fh.readline()
    if "\x00" in head:
        raise FileProblem("Файл похож на двоичный, а не на CSV.", code="binary_file")
    delimiter = max(",;\t", key=head.count)
    fh = path.open(encoding=encoding, newline="")
    reader = csv.reader(fh, delimiter=delimiter)
    try:
        headers = _normalise_headers(next(reader), aliases)
        _check_headers(headers, required)
    except (csv.Error, StopIteration) as exc:
        fh.close()
        raise FileProblem("Не удалось прочитать заголовок CSV.", code="bad_csv") from exc
    except FileProblem:
        fh.close()
        raise

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        with fh:
            try:
                for raw in reader:
                    if not any(cell.strip() for cell in raw):
                        continue
                    if "\x00" in "".join(raw):
                        raise FileProblem(
                            f"Строка {reader.line_num}: в файле есть нулевые байты.",
                            code="binary_file",
                        )
                    row = {
                        h: (raw[i].strip() if i < len(raw) else "") for i, h in enumerate(headers)
                    }
                    if any(cell.strip() for cell in raw[len(headers) :]):
                        row[EXTRA_CELLS] = "1"
                    yield reader.line_num, row
            except csv.Error as exc:
                raise FileProblem(
                    f"Строка {reader.line_num}: нарушен формат CSV ({exc}).", code="bad_csv"
                ) from exc

    return Table(headers, rows(), max(_count_lines(path) - 1, 0), encoding)


def _open_xlsx(path: Path, required: set[str], aliases: dict[str, str]) -> Table:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileProblem(
            "Файл XLSX повреждён или не является книгой Excel.", code="bad_xlsx"
        ) from exc
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    try:
        headers = _normalise_headers([_cell(v) for v in next(it)], aliases)
    except StopIteration as exc:
        wb.close()
        raise FileProblem("Файл пуст.", code="empty_file") from exc
    while headers and not headers[-1]:
        headers.pop()
    try:
        _check_headers(headers, required)
    except FileProblem:
        wb.close()
        raise

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        try:
            for n, raw in enumerate(it, start=2):
                values = [_cell(v) for v in raw]
                if not any(values):
                    continue
                row = {h: (values[i] if i < len(values) else "") for i, h in enumerate(headers)}
                if any(values[len(headers) :]):
                    row[EXTRA_CELLS] = "1"
                yield n, row
        finally:
            wb.close()

    total = (ws.max_row - 1) if ws.max_row else None
    return Table(headers, rows(), total, "xlsx")


# A spreadsheet runs a cell that starts with one of these as a formula (CSV / formula injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(row: Sequence[Any]) -> list[Any]:
    """``row`` for CSV: a text that a spreadsheet would run as a formula gets a leading '."""
    return [f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_START) else v for v in row]


def xlsx_safe(ws: Any, row: Sequence[Any]) -> list[Any]:
    """``row`` for a write-only sheet: every text is stored as text, never as a formula; a
    fraction stays a number, shown with grouped thousands and up to two decimals (the reader's
    spreadsheet puts its own separators: a comma in a Russian one)."""
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for v in row:
        cell = WriteOnlyCell(ws, value=v)
        if isinstance(v, str):
            cell.data_type = "s"
        elif isinstance(v, float | Decimal):
            cell.number_format = "#,##0.0#"
        cells.append(cell)
    return cells


def write_error_report(
    path: Path,
    errors: Sequence[Sequence[Any]],
    header: Sequence[str] = ("Строка", "Поле", "Код", "Сообщение"),
) -> None:
    """Write error rows as CSV with a BOM and semicolons, so Excel opens it in Russian."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";")
    writer.writerow(header)
    writer.writerows(csv_safe(row) for row in errors)
    path.write_text(buf.getvalue(), encoding="utf-8-sig")


def write_xlsx(path: Path, title: str, header: list[str], rows: Iterable[Sequence[Any]]) -> None:
    """A one-sheet workbook (write-only, so large reports stay small in memory)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    ws.append(header)
    for row in rows:
        ws.append(xlsx_safe(ws, row))
    wb.save(path)
