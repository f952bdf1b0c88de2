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


SPARK_W, SPARK_H, SPARK_PAD = 240, 56, 4


def sparkline(points: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """A small line of ``key`` over the months (1–5 scale cut to the values shown and 4.5),
    with the 4.5 threshold; months without a shown value leave gaps between segments."""
    values = [p[key] for p in points if p[key] is not None]
    lo = float(min([*values, 4.5])) - 0.1
    hi = float(max([*values, 4.5])) + 0.1
    n = max(len(points) - 1, 1)

    def y(v: float) -> float:
        return round(SPARK_PAD + (hi - float(v)) / (hi - lo) * (SPARK_H - 2 * SPARK_PAD), 1)

    segments: list[list[tuple[float, float]]] = [[]]
    for i, p in enumerate(points):
        if p[key] is None:
            segments.append([])
            continue
        segments[-1].append((round(SPARK_PAD + i * (SPARK_W - 2 * SPARK_PAD) / n, 1), y(p[key])))
    return {
        "width": SPARK_W,
        "height": SPARK_H,
        "paths": [" ".join(f"{x},{yy}" for x, yy in s) for s in segments if len(s) > 1],
        "dots": [s[0] for s in segments if len(s) == 1],
        "last": next((s[-1] for s in reversed(segments) if s), None),
        "threshold": y(4.5),
        "shown": len(values),
    }
