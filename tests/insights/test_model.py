"""The topic model's late fusion and its stored format."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from otklik.insights.model import (
    FORMAT,
    SEMANTIC_WEIGHT,
    Example,
    StaleModelError,
    TopicModel,
    _blocks,
    train,
)

TOPICS = ["waiting", "food"]
TEXTS = [
    ("Очень долго ждали в очереди", {"waiting"}),
    ("Два часа в очереди к врачу", {"waiting"}),
    ("Ждали приёма целый час", {"waiting"}),
    ("Очередь огромная, ждать долго", {"waiting"}),
    ("Еда невкусная, каша холодная", {"food"}),
    ("Кормят плохо, суп пересолен", {"food"}),
    ("В столовой вкусные обеды", {"food"}),
    ("Питание хорошее, повара молодцы", {"food"}),
]


@pytest.fixture(scope="module")
def model() -> TopicModel:
    examples = [Example(t, frozenset(topics)) for t, topics in TEXTS] * 2
    return train(examples, TOPICS, folds=2)


def test_each_topic_fuses_a_tfidf_and_a_semantic_svm(model: TopicModel) -> None:
    x = model.features.transform([Example("Долго ждали в очереди")])
    sparse, dense = _blocks(x, model.features.split)
    assert dense.shape[1] == 300 + 2 * len(TOPICS)  # navec mean, soft match, rule hits
    clf = model.classifiers[0]
    assert clf is not None
    assert clf.dense is not None
    tfidf, semantic = clf.sparse.decision_function(sparse), clf.dense.decision_function(dense)
    expected = (1 - SEMANTIC_WEIGHT) * tfidf + SEMANTIC_WEIGHT * semantic
    assert np.allclose(model.scores([Example("Долго ждали в очереди")])[:, 0], expected)
    assert model.predict_topics([Example("Долго ждали в очереди")]) == [frozenset({"waiting"})]


def test_a_stored_model_round_trips(model: TopicModel) -> None:
    again = TopicModel.loads(model.dumps())
    assert again.format == FORMAT
    probe = [Example("Суп холодный"), Example("Очередь на час")]
    assert np.array_equal(again.scores(probe), model.scores(probe))


def test_a_model_of_an_older_format_is_refused_not_misread(model: TopicModel) -> None:
    old = pickle.loads(model.dumps())  # noqa: S301 - our own blob
    del old.__dict__["format"]  # a format-1 pickle had no such attribute
    with pytest.raises(StaleModelError):
        TopicModel.loads(pickle.dumps(old))
