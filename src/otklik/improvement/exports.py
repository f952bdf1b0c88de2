"""Tables of the improvement pages as CSV (semicolons, UTF-8 with BOM) or XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from fastapi.responses import Response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_response(
    name: str, fmt: str, header: list[str], rows: Sequence[Sequence[Any]]
) -> Response:
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Данные")
        ws.append(header)
        for row in rows:
            ws.append(list(row))
        buf = io.BytesIO()
        wb.save(buf)
        body, media = buf.getvalue(), XLSX
    else:
        text = io.StringIO()
        w = csv.writer(text, delimiter=";")
        w.writerow(header)
        w.writerows(rows)
        body, media, fmt = text.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8", "csv"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )
