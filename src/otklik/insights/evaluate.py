"""Held-out evaluation: per-topic precision / recall / F1, micro and macro F1, sentiment."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import train_test_split

from otklik.insights.analysis import analyse, sentiment, urgent_kind
from otklik.insights.labels import CorpusRow
from otklik.insights.model import Example, TopicModel, targets, train
from otklik.insights.taxonomy import classify_text, load
from otklik.insights.text import Lang, is_person_name, lemmas
from otklik.surveys.masking import mask_personal_data

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


# ---------------------------------------------------------------- the evaluation corpus

URGENT_ORDER = ("danger", "violence", "corruption", "discrimination")
_PLACEHOLDER = re.compile(r"\[(?:телефон|e-mail|СНИЛС|номер карты|имя|адрес)\]")
_WORD = re.compile(r"[А-Яа-яЁё]+")


@dataclass
class Ratio:
    """``hits`` of ``total`` (a precision or a recall); ``value`` is None when total is 0."""

    hits: int
    total: int

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None


@dataclass
class Masking:
    comments: int
    masked_comments: int
    spans: int
    # Probable false masks: spans holding a word the dictionary does not know as a first name,
    # patronymic or surname ("Логопед", "Спасибо Марине"); an unknown rare name counts too.
    not_a_name: int
    examples: list[str]  # the first few of them

    def per_200(self, n: int) -> float:
        return 200 * n / self.comments if self.comments else 0.0


@dataclass
class CorpusReport:
    n: int
    topics: Report
    negative: int
    negative_without_topic: int
    sentiment_text: Ratio  # accuracy of the text-only sentiment
    sentiment_score_only: Ratio  # score <= 2 negative, 3 neutral, >= 4 positive
    sentiment_text_and_score: Ratio  # the lexicon with the score (what was stored before)
    negative_recall_text: Ratio
    urgent_recall: Ratio  # any flag on a labelled urgent comment
    urgent_precision: Ratio
    urgent_by_kind: list[tuple[str, Ratio, Ratio, Ratio]]  # kind, flagged, same kind, precision
    masking: Masking | None


def score_only(score: int) -> str:
    """The baseline that reads the score only."""
    return "negative" if score <= 2 else "neutral" if score == 3 else "positive"


def masked_pieces(text: str, masked: str) -> list[str] | None:
    """The original pieces behind the placeholders of ``masked`` (None if they cannot be
    aligned with ``text``, e.g. when markup was removed too)."""
    parts = _PLACEHOLDER.split(masked)
    if len(parts) == 1:
        return []
    pattern = "(.+?)".join(re.escape(p) for p in parts)
    found = re.fullmatch(pattern, text, flags=re.DOTALL)
    return list(found.groups()) if found else None


def count_masks(texts: Sequence[str], masked: Sequence[str]) -> Masking:
    """Masked spans of ``masked`` (the masked ``texts``) and the probable false ones."""
    spans = not_a_name = masked_comments = 0
    examples: list[str] = []
    for text, out in zip(texts, masked, strict=True):
        count = len(_PLACEHOLDER.findall(out))
        if not count:
            continue
        masked_comments += 1
        spans += count
        pieces = masked_pieces(text, out)
        for piece in pieces if pieces is not None else [text] * count:
            found = _WORD.findall(piece)
            if found and not all(is_person_name(w) for w in found):
                not_a_name += 1
                if len(examples) < 10:
                    examples.append(piece[:60])
    return Masking(len(texts), masked_comments, spans, not_a_name, examples)


def evaluate_corpus(
    rows: Sequence[CorpusRow], *, mask: bool = True, trained: bool = True
) -> CorpusReport:
    """The analysers on labelled corpus rows: the default trained model (``trained``, as the
    analysis job uses it) or the rules alone. With ``mask`` the texts are masked first, as in
    production, and the masks are counted."""
    from otklik.insights.default_model import analyse_batch

    texts = [r.text for r in rows]
    masked = [mask_personal_data(t) for t in texts] if mask else texts
    if trained:
        analysed = analyse_batch([(t, None) for t in masked])
    else:
        analysed = [analyse(t, None) for t in masked]
    tax = load()
    examples = [Example(r.text, r.topics, r.sentiment) for r in rows]
    topics = score_predictions([frozenset(a.topics) for a in analysed], examples, list(tax.codes))
    with_score = [sentiment(lemmas(t), r.score) for t, r in zip(masked, rows, strict=True)]
    negative = [i for i, r in enumerate(rows) if r.sentiment == "negative"]
    gold_urgent = [i for i, r in enumerate(rows) if r.urgent_kind]
    # urgent triage reads the response's score too (insights.urgent)
    kinds = [urgent_kind(t, None, r.score) for t, r in zip(masked, rows, strict=True)]
    flagged = [i for i, k in enumerate(kinds) if k]
    by_kind = []
    for kind in URGENT_ORDER:
        gold = [i for i in gold_urgent if rows[i].urgent_kind == kind]
        said = [i for i in flagged if kinds[i] == kind]
        by_kind.append(
            (
                kind,
                Ratio(sum(kinds[i] is not None for i in gold), len(gold)),
                Ratio(sum(kinds[i] == kind for i in gold), len(gold)),
                Ratio(sum(rows[i].urgent_kind == kind for i in said), len(said)),
            )
        )
    return CorpusReport(
        n=len(rows),
        topics=topics,
        negative=len(negative),
        negative_without_topic=sum(not analysed[i].topics for i in negative),
        sentiment_text=Ratio(
            sum(a.sentiment == r.sentiment for a, r in zip(analysed, rows, strict=True)), len(rows)
        ),
        sentiment_score_only=Ratio(
            sum(score_only(r.score) == r.sentiment for r in rows), len(rows)
        ),
        sentiment_text_and_score=Ratio(
            sum(s == r.sentiment for s, r in zip(with_score, rows, strict=True)), len(rows)
        ),
        negative_recall_text=Ratio(
            sum(analysed[i].sentiment == "negative" for i in negative), len(negative)
        ),
        urgent_recall=Ratio(sum(kinds[i] is not None for i in gold_urgent), len(gold_urgent)),
        urgent_precision=Ratio(sum(rows[i].urgent_kind is not None for i in flagged), len(flagged)),
        urgent_by_kind=by_kind,
        masking=count_masks(texts, masked) if mask else None,
    )
