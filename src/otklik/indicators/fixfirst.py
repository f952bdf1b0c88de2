""" "Fix first": items and topics ranked by the expected gain if fixed (docs/indicators.md).

Item q of the integral index, shown mean x_q, goal g_q = max(4.5, the year's target of q):
    gain(q) = (g_q − x_q) · w_q / Σ w   (Σ over the integral items with a shown mean)
exactly how much the integral index (a weighted mean of those items) rises when q reaches g_q.
Its interval puts the ends of q's 95 % score interval in place of x_q.

Topic t, over the same window: d_t = mean(overall | answers not mentioning t) −
mean(overall | answers mentioning t) with a 95 % Welch interval, s_t = share of answers
mentioning t:
    gain(t) = d_t · s_t
how much the overall score rises when the answers mentioning t score like the others. A topic
is ranked only when its whole interval is above zero and at least ``min_n`` answers mention it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ItemFigure:
    """An item's shown figures (mean and interval as shown, n answers)."""

    code: str
    label: str
    mean: float
    low: float | None
    high: float | None
    n: int


@dataclass(frozen=True)
class TopicFigure:
    """A topic's answers: n mentioning it of ``total``; Welch difference with its interval
    (mentioning minus not mentioning, so a problem has ``high`` < 0)."""

    code: str
    label: str
    n: int
    total: int
    diff: float
    low: float
    high: float


@dataclass(frozen=True)
class Fix:
    kind: str  # "item" or "topic"
    code: str
    label: str
    gain: float  # points: of the integral index (item) or of the overall score (topic)
    gain_low: float
    gain_high: float
    n: int
    value: float  # item: its mean; topic: its penalty d_t (points)
    value_low: float | None
    value_high: float | None
    goal: float | None = None  # item: the goal it is raised to
    weight_share: float | None = None  # item: w_q / Σ w
    share: float | None = None  # topic: s_t
    total: int | None = None  # topic: answers in the window


def item_fixes(
    items: Iterable[ItemFigure],
    weights: Mapping[str, float],
    threshold: float,
    targets: Mapping[str, float | None],
) -> list[Fix]:
    """Integral items below their goal, with the gain of raising each to it."""
    shown = [i for i in items if i.code in weights and weights[i.code] > 0]
    total_w = sum(weights[i.code] for i in shown)
    out = []
    for i in shown:
        goal = max(threshold, targets.get(i.code) or 0.0)
        if i.mean >= goal or total_w == 0:
            continue
        share = weights[i.code] / total_w
        hi = i.high if i.high is not None else i.mean
        lo = i.low if i.low is not None else i.mean
        out.append(
            Fix(
                "item",
                i.code,
                i.label,
                (goal - i.mean) * share,
                max(0.0, goal - hi) * share,
                max(0.0, goal - lo) * share,
                i.n,
                i.mean,
                i.low,
                i.high,
                goal=goal,
                weight_share=share,
            )
        )
    return out


def topic_fixes(topics: Iterable[TopicFigure], min_n: int) -> list[Fix]:
    """Topics whose answers score surely lower than the rest, with the gain of closing it."""
    out = []
    for t in topics:
        if t.high >= 0 or t.n < min_n or t.total <= 0:
            continue
        s = t.n / t.total
        out.append(
            Fix(
                "topic",
                t.code,
                t.label,
                -t.diff * s,
                -t.high * s,
                -t.low * s,
                t.n,
                -t.diff,
                -t.high,
                -t.low,
                share=s,
                total=t.total,
            )
        )
    return out


def rank(fixes: Iterable[Fix]) -> list[Fix]:
    """Largest expected gain first; ties by the lower end of the interval, then the code."""
    return sorted(fixes, key=lambda f: (-round(f.gain, 6), -round(f.gain_low, 6), f.code))
