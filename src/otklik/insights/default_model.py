"""The default Russian topic and sentiment model, trained at first use from package data.

``data/training-ru.csv`` is the development part of the evaluation corpus (writers w1-w6 of
``data/eval/ru-comments/dev``, rows as written; ``tests/insights/test_corpus.py`` pins that it
holds exactly those rows and nothing of the test part); ``data/training-ru-hand.csv`` is the
project's earlier hand-labelled file (``tests/insights/data/labels.csv``, 55 rows). Training
is seeded and takes a few seconds on one core, so the model is rebuilt in each process
instead of shipping a pickle tied to a scikit-learn version. Thresholds are tuned on
writer-grouped out-of-fold scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

from otklik.insights import labels
from otklik.insights.analysis import Analysis, analyse
from otklik.insights.labels import CorpusRow, load_corpus
from otklik.insights.model import Example, TopicModel, train
from otklik.insights.taxonomy import load

# Bump when the features, the classifiers or the training data change.
VERSION = "builtin-2"  # 2: late fusion of TF-IDF and semantic SVMs


def _data(name: str) -> Path:
    return Path(str(resources.files("otklik.insights").joinpath(f"data/{name}")))


def training_rows() -> list[CorpusRow]:
    """The packaged corpus rows (the corpus's development part)."""
    return load_corpus([_data("training-ru.csv")], load().codes)


def training_examples() -> tuple[list[Example], list[str]]:
    """Every packaged training example (text only) and its group (writer, or ``hand``)."""
    rows = training_rows()
    hand = labels.load(_data("training-ru-hand.csv"), load().codes)[0]
    examples = examples_of(rows) + [Example(e.text, e.topics, e.sentiment) for e in hand]
    return examples, [r.writer for r in rows] + ["hand"] * len(hand)


def examples_of(rows: Sequence[CorpusRow]) -> list[Example]:
    """Text-only examples: neither the score nor any other context is a feature."""
    return [Example(r.text, r.topics, r.sentiment) for r in rows]


def model_version() -> str:
    return f"{load().version}-{VERSION}"


@lru_cache(maxsize=1)
def default_model() -> TopicModel:
    """The default model (trained once per process, deterministic)."""
    examples, groups = training_examples()
    return train(examples, load().codes, groups=groups)


def analyse_batch(
    items: Sequence[tuple[str, int | None]],
    model: TopicModel | None = None,
    version: str | None = None,
) -> list[Analysis]:
    """Analyse (text, overall score) pairs with one batch prediction of ``model`` (the
    default model when None) for topics and sentiment; urgent triage stays the rules'."""
    tax = load()
    used = model or default_model()
    name = version or model_version()
    topics, feelings = used.predict([Example(text) for text, _ in items])
    return [
        analyse(
            text,
            overall,
            taxonomy=tax,
            model_version=name,
            model_topics=found,
            model_sentiment=feeling,
        )
        for (text, overall), found, feeling in zip(items, topics, feelings, strict=True)
    ]
