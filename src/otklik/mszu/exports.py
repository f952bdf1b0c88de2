"""XLSX and CSV of МСЗУ tables; chart geometry of the share against the trajectory."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from fastapi.responses import Response

from otklik.kit.fmt import month_short

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 260, 44, 10, 10, 30
GAP_BANDS = (
    "отставание более 20 п. п.",
    "10–20 п. п.",
    "3–10 п. п.",
    "до 3 п. п.",
    "на траектории или выше",
)


def table_file(
    fmt: str, title: str, header: list[str], rows: Sequence[Sequence[Any]], name: str
) -> Response:
    """One table as XLSX (title in the first row) or CSV, as a download."""
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=";")
        w.writerow([title])
        w.writerow(header)
        w.writerows(rows)
        body, media = ("\ufeff" + buf.getvalue()).encode(), "text/csv; charset=utf-8"
    else:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(title[:31].replace("/", "-"))
        ws.append([title])
        ws.append(header)
        for row in rows:
            ws.append(list(row))
        out = io.BytesIO()
        wb.save(out)
        body, media = out.getvalue(), XLSX
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


def gap_band(gap: float | None) -> int | None:
    if gap is None:
        return None
    for i, edge in enumerate((-0.2, -0.1, -0.03, 0.0)):
        if gap < edge:
            return i
    return 4


def _y(v: float) -> float:
    return round(TOP + (1 - v) * (HEIGHT - TOP - BOTTOM), 1)


def share_chart(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Polylines of the electronic and proactive share and the target, 0–100 %."""
    step = (WIDTH - LEFT - RIGHT) / max(len(points) - 1, 1)
    xs = [round(LEFT + i * step, 1) for i in range(len(points))]
    series = []
    for key in ("electronic", "proactive", "target"):
        dots = [(x, _y(p[key])) for x, p in zip(xs, points, strict=True) if p[key] is not None]
        series.append({"key": key, "dots": dots, "path": " ".join(f"{x},{y}" for x, y in dots)})
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "bottom": HEIGHT - BOTTOM,
        "ticks": [(v, _y(v / 100)) for v in (0, 25, 50, 75, 100)],
        "labels": [
            (x, month_short(p["month"]))
            for i, (x, p) in enumerate(zip(xs, points, strict=True))
            if (len(points) - 1 - i) % 3 == 0
        ],
        "series": series,
    }
