"""The "fix first" ranking against values computed by hand (docs/indicators.md, "Fix first")."""

from __future__ import annotations

from datetime import date

import pytest

from otklik.cabinets.service import _topic_figures
from otklik.indicators.fixfirst import ItemFigure, TopicFigure, item_fixes, rank, topic_fixes
from otklik.indicators.periods import headline_windows, ranking_windows

WEIGHTS = {"organization": 1.0, "comfort": 1.0, "staff": 1.0, "information": 1.0,
           "accessibility": 1.0}  # fmt: skip
ITEMS = [
    ItemFigure("overall", "В целом", 4.1, 3.9, 4.3, 60),  # not in the index: weight 0
    ItemFigure("organization", "Организация", 4.0, 3.8, 4.2, 50),
    ItemFigure("comfort", "Комфорт", 4.4, 4.2, 4.6, 50),
    ItemFigure("staff", "Персонал", 4.8, 4.7, 4.9, 50),
    ItemFigure("information", "Информация", 4.3, 4.0, 4.6, 30),
    # accessibility is not shown (too few answers): it is left out of Σw
]
# the year's targets: comfort 4.4 + 0.2 = 4.6 (above 4.5, so the goal), organization's 4.2 is
# below the threshold (the goal stays 4.5)
TARGETS: dict[str, float | None] = {"comfort": 4.6, "organization": 4.2, "staff": None}
TOPICS = [
    TopicFigure("waiting", "Ожидание", 20, 100, -0.8, -1.2, -0.4),
    TopicFigure("parking", "Парковка", 8, 100, -2.0, -3.0, -1.0),  # fewer than min_n mention it
    TopicFigure("rude", "Грубость", 30, 100, -0.3, -0.7, 0.1),  # interval crosses zero
    TopicFigure("cleanliness", "Чистота", 10, 100, -0.5, -0.9, -0.1),
]


def test_item_gain_is_gap_to_goal_times_weight_share() -> None:
    fixes = {f.code: f for f in item_fixes(ITEMS, WEIGHTS, 4.5, TARGETS)}
    # Σw over the shown integral items: organization, comfort, staff, information = 4
    assert set(fixes) == {"organization", "comfort", "information"}  # staff ≥ 4.5, overall w=0
    org = fixes["organization"]
    assert org.goal == 4.5
    assert org.weight_share == pytest.approx(0.25)
    assert org.gain == pytest.approx((4.5 - 4.0) / 4)  # 0.125
    assert (org.gain_low, org.gain_high) == (pytest.approx(0.3 / 4), pytest.approx(0.7 / 4))
    comfort = fixes["comfort"]
    assert comfort.goal == 4.6  # the year's target, above 4.5
    assert comfort.gain == pytest.approx(0.2 / 4)  # 0.05
    assert (comfort.gain_low, comfort.gain_high) == (0.0, pytest.approx(0.4 / 4))
    info = fixes["information"]
    assert info.gain == pytest.approx(0.2 / 4)
    assert (info.gain_low, info.gain_high) == (0.0, pytest.approx(0.5 / 4))


def test_topic_gain_is_penalty_times_share() -> None:
    fixes = {f.code: f for f in topic_fixes(TOPICS, min_n=10)}
    assert set(fixes) == {"waiting", "cleanliness"}
    waiting = fixes["waiting"]
    assert waiting.share == pytest.approx(0.2)
    assert waiting.gain == pytest.approx(0.8 * 0.2)  # 0.16
    assert (waiting.gain_low, waiting.gain_high) == (pytest.approx(0.08), pytest.approx(0.24))
    assert fixes["cleanliness"].gain == pytest.approx(0.5 * 0.1)  # 0.05


def test_ranking_by_gain_then_lower_end_then_code() -> None:
    ranked = rank([*item_fixes(ITEMS, WEIGHTS, 4.5, TARGETS), *topic_fixes(TOPICS, 10)])
    # 0.16 waiting; 0.125 organization; three at 0.05: cleanliness (lower end 0.01) before
    # comfort and information (lower end 0), those two by code
    assert [f.code for f in ranked] == [
        "waiting",
        "organization",
        "cleanliness",
        "comfort",
        "information",
    ]


def test_topic_figures_from_moments() -> None:
    # overall answers 5 5 5 5 4 4 (no mention) and 2 3 (mention "waiting")
    allv = [5, 5, 5, 5, 4, 4, 2, 3]
    total = (len(allv), float(sum(allv)), float(sum(v * v for v in allv)))
    topics = {"waiting": (2, 5.0, 13.0), "unknown": (2, 9.0, 41.0)}
    figs = _topic_figures(total, topics, {"waiting": "Ожидание"})
    assert [f.code for f in figs] == ["waiting"]  # a topic outside the taxonomy is left out
    f = figs[0]
    assert (f.n, f.total) == (2, 8)
    assert f.diff == pytest.approx(2.5 - 28 / 6)  # mentioning 2.5, the others 4.667
    assert f.low < f.diff < f.high


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 12, 7), ["2026-11", "2026-Q3", "2026", "2025"]),
        (date(2026, 1, 15), ["2025-12", "2025-Q4", "2026", "2025"]),
        (date(2026, 4, 1), ["2026-03", "2026-Q1", "2026", "2025"]),
    ],
)
def test_windows(today: date, expected: list[str]) -> None:
    assert [p.text for p in headline_windows(today)] == expected
    assert [p.text for p in ranking_windows(today)] == expected[1:]
