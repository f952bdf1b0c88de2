"""Server-rendered chart geometry: the template draws it as inline SVG beside a table."""

from __future__ import annotations

from typing import Any

from otklik.kit import fmt

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 260, 40, 10, 10, 30
Y_MIN, Y_MAX = 1.0, 5.0


def _y(v: float) -> float:
    return round(TOP + (Y_MAX - v) / (Y_MAX - Y_MIN) * (HEIGHT - TOP - BOTTOM), 1)


def line_chart(points: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, Any]:
    """Polylines (one per key) over months on a 1-5 scale; missing values leave gaps."""
    n = len(points)
    step = (WIDTH - LEFT - RIGHT) / max(n - 1, 1)
    xs = [round(LEFT + i * step, 1) for i in range(n)]
    series = []
    for key in keys:
        dots = [(x, _y(p[key])) for x, p in zip(xs, points, strict=True) if p[key] is not None]
        series.append({"key": key, "dots": dots, "path": " ".join(f"{x},{y}" for x, y in dots)})
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "bottom": HEIGHT - BOTTOM,
        "ticks": [(v, _y(v)) for v in (1, 2, 3, 4, 4.5, 5)],
        "labels": [(x, fmt.month_short(p["month"])) for x, p in zip(xs, points, strict=True)],
        "series": series,
        "threshold": _y(4.5),
    }


def bar_chart(bars: list[tuple[str, int]]) -> dict[str, Any]:
    """Vertical bars (a histogram) of counts, one per labelled band, on a scale from zero."""
    top = max((n for _, n in bars), default=0) or 1
    inner = HEIGHT - TOP - BOTTOM - 16  # room for the count above the highest bar
    step = (WIDTH - LEFT - RIGHT) / max(len(bars), 1)
    out = []
    for i, (label, n) in enumerate(bars):
        h = round(inner * n / top, 1)
        x = round(LEFT + i * step + step * 0.15, 1)
        out.append(
            {
                "label": label,
                "n": n,
                "x": x,
                "y": round(HEIGHT - BOTTOM - h, 1),
                "w": round(step * 0.7, 1),
                "h": h,
                "cx": round(x + step * 0.35, 1),
            }
        )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "bottom": HEIGHT - BOTTOM,
        "top": top,
        "bars": out,
    }
