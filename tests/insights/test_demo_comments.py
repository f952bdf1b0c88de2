"""Demo comments: varied, consistent with the score, sometimes none, rarely urgent."""

from __future__ import annotations

import random

import pytest

from otklik.demo.comments import demo_comment
from otklik.insights.analysis import analyse
from otklik.insights.default_model import analyse_batch


@pytest.mark.parametrize("sector", ["healthcare", "education", "sport", "social"])
def test_demo_comments_are_varied_and_consistent(sector: str) -> None:
    rng = random.Random(42)
    texts = {o: [demo_comment(rng, sector, o) for _ in range(2000)] for o in (1, 5)}
    for overall, items in texts.items():
        present = [t for t in items if t is not None]
        assert 0.3 * len(items) < len(present) < 0.9 * len(items)
        assert len(set(present)) > 100  # composed from parts, not one template per topic
        moods = analyse_batch([(t, overall) for t in present])  # the job's default model
        expected = "negative" if overall == 1 else "positive"
        # LOOSENED in issue 17 (was 0.9 when the score was an input of the sentiment): the
        # sentiment is now the text's alone, from a model trained on the evaluation corpus's
        # writers; the demo's composed phrases are outside its data and it agrees with the
        # score on 78-92 % of them (score 1: 78-86 %). A known weakness, see docs/insights.md.
        assert sum(m.sentiment == expected for m in moods) > 0.75 * len(moods)
        assert sum(bool(m.topics) for m in moods) > 0.9 * len(moods)
    urgent = sum(analyse(t, 1).urgent for t in texts[1] if t)
    assert 1 <= urgent <= 40  # about 1 in 200 (10 of 2000), loosely bounded
    assert any("Спасибо" in t or "спасибо" in t for t in texts[5] if t)
