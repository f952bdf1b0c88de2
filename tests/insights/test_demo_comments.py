"""Demo comments: varied, consistent with the score, sometimes none, rarely urgent."""

from __future__ import annotations

import random

import pytest

from otklik.demo.comments import demo_comment
from otklik.insights.analysis import analyse


@pytest.mark.parametrize("sector", ["healthcare", "education", "sport", "social"])
def test_demo_comments_are_varied_and_consistent(sector: str) -> None:
    rng = random.Random(42)
    texts = {o: [demo_comment(rng, sector, o) for _ in range(2000)] for o in (1, 5)}
    for overall, items in texts.items():
        present = [t for t in items if t is not None]
        assert 0.3 * len(items) < len(present) < 0.9 * len(items)
        assert len(set(present)) > 100  # composed from parts, not one template per topic
        moods = [analyse(t, overall) for t in present]
        expected = "negative" if overall == 1 else "positive"
        assert sum(m.sentiment == expected for m in moods) > 0.9 * len(moods)
        assert sum(bool(m.topics) for m in moods) > 0.9 * len(moods)
    urgent = sum(analyse(t, 1).urgent for t in texts[1] if t)
    assert 1 <= urgent <= 40  # about 1 in 200 (10 of 2000), loosely bounded
    assert any("Спасибо" in t or "спасибо" in t for t in texts[5] if t)
