"""Urgent detector: lexicon with morphology, reasons and highlights, the hand-written TF-IDF
scorer equal to scikit-learn's, the artefact round trip, the threshold rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from otklik.insights import urgent
from otklik.insights.urgent import Example, detect, highlight


def test_lexicon_matches_any_word_form_and_names_the_reason() -> None:
    flag = detect("Заведующий вымогает взятку за направление на МРТ")
    assert flag is not None
    assert flag.kind == "corruption"
    assert "словарь: взятка" in flag.reasons
    assert {"взятку", "вымогает"} <= flag.marks
    flag = detect("ребенок потерял сознание, скорая не приехала")
    assert flag is not None
    assert flag.kind == "danger"


def test_everyday_rudeness_and_red_tape_are_not_urgent() -> None:
    for text in (
        "Регистратор нахамила, очередь час, безобразие",
        "Справку делали две недели, сплошная бюрократия",
        "Всё хорошо, спасибо врачу",
    ):
        assert detect(text, 2) is None, text


def test_highlight_marks_whole_words_only() -> None:
    pieces = highlight("Взятку требовали, взяткой грозили", frozenset({"взятку"}))
    assert pieces == [("Взятку", True), (" требовали, взяткой грозили", False)]


def _examples() -> list[Example]:
    urgent_texts = [
        "врач требовал взятку за операцию",
        "санитар ударил отца, синяки на руках",
        "ребёнок потерял сознание, никто не помог",
        "не взяли в секцию из-за инвалидности",
        "учитель бьёт детей линейкой",
        "с нас вымогали деньги мимо кассы",
    ]
    calm = [
        "долго ждали в очереди",
        "врач вежливый, всё объяснил",
        "в столовой невкусно и холодно",
        "запись через портал удобная",
        "в зале грязно, душевые сломаны",
        "спасибо тренеру за терпение",
    ]
    kinds = ["corruption", "violence", "danger", "discrimination", "violence", "corruption"]
    out = [
        Example(t, 1, k, f"w{i % 3}")
        for i, (t, k) in enumerate(zip(urgent_texts, kinds, strict=True))
    ]
    out += [Example(t, 3, None, f"w{i % 3}") for i, t in enumerate(calm)]
    return out * 2  # min_df 2


def test_scorer_equals_scikit_learn_and_survives_the_artefact(tmp_path: Path) -> None:
    examples = _examples()
    lemma_docs, char_docs = urgent._documents(examples)
    fitted, x = urgent._fit(lemma_docs, char_docs, examples)
    from sklearn.linear_model import LogisticRegression

    reference = LogisticRegression(C=urgent.C, class_weight="balanced", max_iter=5000)
    reference.fit(x, np.array([e.kind is not None for e in examples]))
    expected = reference.decision_function(x)
    path = tmp_path / "m.npz"
    fitted.save(path)
    loaded = urgent.UrgentModel.load(path)
    for e, want in zip(examples, expected, strict=True):
        lemmas = urgent.lemma_tokens(urgent.words(e.text))
        assert fitted.decide(lemmas, e.text, e.score).value == pytest.approx(want, abs=1e-9)
        assert loaded.decide(lemmas, e.text, e.score).value == pytest.approx(want, abs=1e-9)


def test_threshold_keeps_the_asked_recall() -> None:
    scores = np.array([0.9, 0.1, -0.5, 2.0, -3.0, 0.0])
    is_urgent = np.array([True, True, True, True, False, False])
    assert urgent.threshold_for(scores, is_urgent, 1.0) == -0.5
    assert urgent.threshold_for(scores, is_urgent, 0.75) == 0.1


def test_shipped_model_is_the_development_part_only() -> None:
    m = urgent.model()
    assert m is not None
    assert m.meta["examples"] == "1800"  # w1-w6, never the test part's 600
    assert m.meta["groups"] == "6"
