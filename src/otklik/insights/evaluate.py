"""Held-out evaluation: per-topic precision / recall / F1, micro and macro F1, sentiment."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import train_test_split

from otklik.insights.analysis import sentiment
from otklik.insights.model import Example, TopicModel, targets, train
from otklik.insights.taxonomy import classify_text
from otklik.insights.text import Lang, lemmas

TEST_SEED = 42
TEST_SHARE = 0.2
# pxtextmining's smallest per-label test support: labels below it are compared separately.
COMPARABLE_SUPPORT = 13


@dataclass
class Report:
    topics: list[tuple[str, float, float, float, int]]  # topic, precision, recall, f1, support
    micro_f1: float
    macro_f1: float
    sentiment_accuracy: float | None
    sentiment_accuracy_3: float | None
    n_train: int
    n_test: int
    train_seconds: float


def macro_f1_at_least(report: Report, support: int = COMPARABLE_SUPPORT) -> tuple[float, int]:
    """Macro F1 over the topics with at least ``support`` test positives, and their number."""
    kept = [f for _, _, _, f, n in report.topics if n >= support]
    return (float(np.mean(kept)) if kept else 0.0), len(kept)


def split_examples(
    examples: Sequence[Example], seed: int = TEST_SEED
) -> tuple[list[Example], list[Example]]:
    """The fixed held-out split: 80 % train / 20 % test, ``train_test_split(random_state=42)``."""
    train_part, test_part = train_test_split(
        list(examples), test_size=TEST_SHARE, random_state=seed
    )
    return list(train_part), list(test_part)


def _three(label: str | None) -> str | None:
    if label is None:
        return None
    return label.split()[-1]


def score(model: TopicModel, test: Sequence[Example], topics: list[str]) -> Report:
    """Metrics of ``model`` on ``test`` (topics without test positives are left out of macro)."""
    report = score_predictions(model.predict_topics(test), test, topics)
    labelled = [e for e in test if e.sentiment]
    if labelled and model.sentiment is not None:
        guess = model.predict_sentiment(labelled)
        report.sentiment_accuracy = _accuracy(guess, labelled, lambda v: v)
        report.sentiment_accuracy_3 = _accuracy(guess, labelled, _three)
    return report


def _accuracy(
    guess: Sequence[str | None], labelled: Sequence[Example], f: Callable[[str | None], object]
) -> float:
    return sum(f(g) == f(e.sentiment) for g, e in zip(guess, labelled, strict=True)) / len(labelled)


def score_rules(test: Sequence[Example], topics: list[str]) -> Report:
    """Metrics of the Russian lemma rules and rule sentiment (with overall) on ``test``."""
    predicted = [frozenset(classify_text(e.text)) for e in test]
    report = score_predictions(predicted, test, topics)
    labelled = [e for e in test if e.sentiment]
    if labelled:
        guess = [sentiment(lemmas(e.text), _overall(e.context)) for e in labelled]
        report.sentiment_accuracy = _accuracy(guess, labelled, lambda v: v)
    return report


def _overall(context: str) -> int | None:
    value = context.removeprefix("overall_")
    return int(value) if value.isdigit() else None


def score_predictions(
    predicted: Sequence[frozenset[str]], test: Sequence[Example], topics: list[str]
) -> Report:
    """Per-topic and micro / macro figures of predicted topic sets against ``test``."""
    y_true = targets(test, topics)
    y_pred = np.array([[1 if t in p else 0 for t in topics] for p in predicted], dtype=np.int8)
    present = [j for j in range(len(topics)) if y_true[:, j].sum() > 0]
    p, r, f, s = precision_recall_fscore_support(
        y_true[:, present], y_pred[:, present], average=None, zero_division=0
    )
    rows = [
        (topics[j], float(p[k]), float(r[k]), float(f[k]), int(s[k])) for k, j in enumerate(present)
    ]
    micro = float(
        f1_score(y_true[:, present], y_pred[:, present], average="micro", zero_division=0)
    )
    macro = float(np.mean([row[3] for row in rows])) if rows else 0.0
    return Report(rows, micro, macro, None, None, 0, len(test), 0.0)


def evaluate(examples: Sequence[Example], topics: list[str], lang: Lang) -> Report:
    """Train on the fixed 80 % part, report on the held-out 20 %."""
    train_part, test_part = split_examples(examples)
    started = time.perf_counter()
    model = train(train_part, topics, lang=lang)
    seconds = time.perf_counter() - started
    report = score(model, test_part, topics)
    report.n_train, report.train_seconds = len(train_part), seconds
    return report
