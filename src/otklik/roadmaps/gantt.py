"""Gantt chart geometry (baseline vs current plan vs forecast); the template draws the SVG
and a table with the same dates beside it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from otklik.roadmaps.schemas import MeasureOut

WIDTH, LEFT, RIGHT, TOP, ROW, AXIS = 640, 34, 10, 24, 34, 22
MONTHS = "янв фев мар апр май июн июл авг сен окт ноя дек".split()


def _months(start: date, end: date) -> list[date]:
    out, d = [], date(start.year, start.month, 1)
    while d <= end:
        if d >= start:
            out.append(d)
        d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return out


def chart(measures: list[MeasureOut], today: date) -> dict[str, Any] | None:
    """Bars per measure: the baseline (thin, grey), the current plan with its progress, and
    the forecast beyond the plan's due date; a line marks today."""
    if not measures:
        return None
    days = [d for m in measures for d in (m.planned_start, m.planned_due, m.forecast_due)]
    days += [d for m in measures for d in (m.baseline_start, m.baseline_due) if d]
    start, end = min([*days, today]) - timedelta(days=3), max([*days, today]) + timedelta(days=3)
    span = max((end - start).days, 1)
    scale = (WIDTH - LEFT - RIGHT) / span

    def x(d: date) -> float:
        return round(LEFT + (d - start).days * scale, 1)

    rows = []
    for i, m in enumerate(measures):
        y = TOP + i * ROW
        plan_w = max(x(m.planned_due) - x(m.planned_start), 2)
        row: dict[str, Any] = {
            "n": i + 1,
            "y": y,
            "plan": (x(m.planned_start), y + 10, plan_w),
            "done": round(plan_w * m.progress / 100, 1),
            "baseline": None,
            "forecast": None,
            "late": m.forecast_due > m.planned_due,
            "risky": (m.risk or 0) >= 0.5,
        }
        if m.baseline_start and m.baseline_due:
            bw = max(x(m.baseline_due) - x(m.baseline_start), 2)
            row["baseline"] = (x(m.baseline_start), y + 2, bw)
        if m.forecast_due > m.planned_due:
            row["forecast"] = (x(m.planned_due), y + 10, x(m.forecast_due) - x(m.planned_due))
        rows.append(row)
    height = TOP + len(measures) * ROW + AXIS
    ticks = [(x(d), f"{MONTHS[d.month - 1]} {d:%y}") for d in _months(start, end)]
    if len(ticks) > 8:
        ticks = ticks[:: -(-len(ticks) // 8)]
    return {
        "width": WIDTH,
        "height": height,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "axis": height - AXIS,
        "today": x(today),
        "ticks": ticks,
        "rows": rows,
    }
