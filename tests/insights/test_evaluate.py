"""Held-out figures: macro F1 over all present topics and over the well-supported ones."""

from __future__ import annotations

import pytest

from otklik.insights.evaluate import macro_f1_at_least, score_predictions
from otklik.insights.model import Example


def test_macro_over_well_supported_topics_leaves_rare_ones_out() -> None:
    # "wait": 14 positives, all found (F1 1); "food": 13 positives, 13 predicted of which
    # 12 right (P 12/13, R 12/13, F1 12/13); "park": 2 positives, none found (F1 0).
    test = [Example(f"w{i}", frozenset({"wait"})) for i in range(14)]
    test += [Example(f"f{i}", frozenset({"food"})) for i in range(13)]
    test += [Example(f"p{i}", frozenset({"park"})) for i in range(2)]
    test += [Example("x", frozenset())]
    predicted = [frozenset({"wait"})] * 14 + [frozenset({"food"})] * 12 + [frozenset()] * 1
    predicted += [frozenset(), frozenset(), frozenset({"food"})]
    report = score_predictions(predicted, test, ["food", "park", "wait"])

    assert report.macro_f1 == pytest.approx((12 / 13 + 0 + 1) / 3)
    common, kept = macro_f1_at_least(report)  # 13 positives or more
    assert kept == 2
    assert common == pytest.approx((12 / 13 + 1) / 2)
    assert macro_f1_at_least(report, support=15) == (0.0, 0)
