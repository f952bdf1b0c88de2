"""The trainable multi-label topic model and sentiment classifier (scikit-learn).

Features: TF-IDF over lemma 1-2 grams (with negation marks) + TF-IDF over character 2-5 grams
(within word boundaries) + one-hot context tokens (question type, overall score). For Russian
three dense blocks are added (``Semantic``): the mean navec word embedding of the lemmas (the
300-d vectors shipped inside the ``natasha`` wheel, nothing downloaded), a soft match per topic
(the best cosine between a lemma of the text and a single-lemma rule of the topic) and the
topic rules' own hits. Topics, per topic: one linear SVM on the TF-IDF and context columns and,
for Russian, a second one on the dense semantic columns, their decision scores combined as
``(1 - SEMANTIC_WEIGHT) * tfidf + SEMANTIC_WEIGHT * semantic`` (late fusion; without the
semantic block the TF-IDF SVM alone), with a decision threshold tuned on the combined
out-of-fold scores of the training data (never the test data).
Sentiment: a multinomial logistic regression over all the features.
"""

from __future__ import annotations

import io
import pickle
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from navec import Navec  # type: ignore[import-untyped]
from numpy.typing import NDArray
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from otklik.insights.taxonomy import classify
from otklik.insights.taxonomy import load as load_taxonomy
from otklik.insights.text import (
    NEG_PREFIX,
    Lang,
    analyzer_en,
    analyzer_ru,
    lemmas_of,
    normalize,
    words,
)

FloatArray = NDArray[np.float64]
SEED = 20261201
# The semantic SVM's share of a topic's decision score (dev writer CV: 0.2 / 0.3 / 0.4 / 0.5
# gave macro F1 0.807 / 0.810 / 0.807 / 0.803).
SEMANTIC_WEIGHT = 0.3
# The pickled ``TopicModel``'s layout; bump when it changes so an older stored model is refused
# instead of misread. 1: one SVM per topic on all the features; 2: late fusion.
FORMAT = 2


class StaleModelError(TypeError):
    """A stored model pickled in another ``FORMAT`` (retrain it with ``otklik insights train``)."""


@dataclass(frozen=True)
class Example:
    """A labelled (or unlabelled) comment; ``context`` holds extra tokens like a question type."""

    text: str
    topics: frozenset[str] = frozenset()
    sentiment: str | None = None
    context: str = ""


DIM = 300


@lru_cache(maxsize=1)
def _navec() -> Navec:
    from natasha.data import NEWS_EMBEDDING  # type: ignore[import-untyped]

    return Navec.load(NEWS_EMBEDDING)


@lru_cache(maxsize=200_000)
def word_vector(word: str) -> NDArray[np.float32] | None:
    """The unit-length navec vector of a lowercase word or lemma (None if not in its vocabulary)."""
    nav = _navec()
    if word not in nav:
        return None
    v = np.asarray(nav[word], dtype=np.float32)
    norm = float(np.linalg.norm(v))
    return v / norm if norm else None


@dataclass
class Semantic:
    """Dense Russian features: mean embedding, per-topic soft match, per-topic rule hits."""

    topics: list[str]
    # The single-lemma rules' vectors of all topics, topic after topic; spans: each topic's rows.
    lexicon: NDArray[np.float32] = field(init=False)
    spans: list[tuple[int, int]] = field(init=False)

    def __post_init__(self) -> None:
        tax = load_taxonomy()
        by_code = {t.code: t for t in tax.topics}
        vectors: list[NDArray[np.float32]] = []
        self.spans = []
        for code in self.topics:
            rules = by_code[code].rules if code in by_code else ()
            found = [
                v
                for r in rules
                if len(r.items) == 1
                and not r.items[0].endswith("*")
                and not r.items[0].startswith(NEG_PREFIX)
                and (v := word_vector(r.items[0])) is not None
            ]
            self.spans.append((len(vectors), len(vectors) + len(found)))
            vectors.extend(found)
        self.lexicon = np.array(vectors, dtype=np.float32).reshape(-1, DIM)

    def row(self, text: str) -> NDArray[np.float32]:
        tax = load_taxonomy()
        tokens = lemmas_of(words(text))
        hits = set(classify(tokens, tax))
        rules = [1.0 if c in hits else 0.0 for c in self.topics]
        found = [v for t in tokens if (v := word_vector(t.removeprefix(NEG_PREFIX))) is not None]
        if not found:
            return np.array([0.0] * (DIM + len(self.topics)) + rules, dtype=np.float32)
        m = np.array(found)
        mean = m.mean(axis=0)
        mean /= float(np.linalg.norm(mean)) or 1.0
        best = (m @ self.lexicon.T).max(axis=0)  # each rule lemma's closest word of the text
        soft = [float(best[a:b].max()) if b > a else 0.0 for a, b in self.spans]
        return np.concatenate([mean, np.array(soft + rules, dtype=np.float32)])

    def transform(self, texts: Sequence[str]) -> csr_matrix:
        return csr_matrix(np.array([self.row(t) for t in texts], dtype=np.float64))


@dataclass
class Features:
    lang: Lang
    topics: list[str] = field(default_factory=list)  # Russian: adds the semantic block
    word: TfidfVectorizer = field(init=False)
    char: TfidfVectorizer = field(init=False)
    meta: CountVectorizer = field(init=False)
    semantic: Semantic | None = field(init=False)

    def __post_init__(self) -> None:
        self.semantic = Semantic(self.topics) if self.lang == "ru" and self.topics else None
        analyzer = analyzer_ru if self.lang == "ru" else analyzer_en
        self.word = TfidfVectorizer(analyzer=analyzer, min_df=2, sublinear_tf=True)
        self.char = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 5),
            min_df=3,
            max_features=150_000,
            sublinear_tf=True,
            preprocessor=normalize,
        )
        self.meta = CountVectorizer(token_pattern=r"\S+", binary=True, lowercase=False)  # noqa: S106

    def fit_transform(self, examples: Sequence[Example]) -> csr_matrix:
        texts = [e.text for e in examples]
        parts = [
            self.word.fit_transform(texts),
            self.char.fit_transform(texts),
            self.meta.fit_transform([e.context or "none" for e in examples]),
        ]
        if self.semantic is not None:
            parts.append(self.semantic.transform(texts))
        return csr_matrix(hstack(parts).tocsr())

    @property
    def split(self) -> int:
        """The first column of the dense semantic block (all columns before it are TF-IDF and
        context ones); fitted features only."""
        return len(self.word.vocabulary_) + len(self.char.vocabulary_) + len(self.meta.vocabulary_)

    def transform(self, examples: Sequence[Example]) -> csr_matrix:
        texts = [e.text for e in examples]
        parts = [
            self.word.transform(texts),
            self.char.transform(texts),
            self.meta.transform([e.context or "none" for e in examples]),
        ]
        if self.semantic is not None:
            parts.append(self.semantic.transform(texts))
        return csr_matrix(hstack(parts).tocsr())


@dataclass
class TopicClassifier:
    """One topic's late fusion: a linear SVM on the columns before ``split`` (TF-IDF, context)
    and, if any, one on the columns from ``split`` on (the dense semantic block)."""

    sparse: LinearSVC
    dense: LinearSVC | None
    weight: float = SEMANTIC_WEIGHT

    def decision(self, sparse: csr_matrix, dense: csr_matrix) -> FloatArray:
        s: FloatArray = self.sparse.decision_function(sparse)
        if self.dense is None:
            return s
        d: FloatArray = self.dense.decision_function(dense)
        return (1.0 - self.weight) * s + self.weight * d


@dataclass
class TopicModel:
    """A trained model: features, one classifier and threshold per topic, and sentiment."""

    lang: Lang
    topics: list[str]
    features: Features
    classifiers: list[TopicClassifier | None]
    thresholds: list[float]
    sentiment: LogisticRegression | None
    meta: dict[str, object] = field(default_factory=dict)
    format: int = FORMAT

    def scores(self, examples: Sequence[Example]) -> FloatArray:
        return self._scores(self.features.transform(examples))

    def _scores(self, x: csr_matrix) -> FloatArray:
        out = np.full((x.shape[0], len(self.topics)), -np.inf)
        sparse, dense = _blocks(x, self.features.split)
        for j, clf in enumerate(self.classifiers):
            if clf is not None:
                out[:, j] = clf.decision(sparse, dense)
        return out

    def predict_topics(self, examples: Sequence[Example]) -> list[frozenset[str]]:
        return self._topics(self.scores(examples))

    def _topics(self, s: FloatArray) -> list[frozenset[str]]:
        t = np.array(self.thresholds)
        return [frozenset(self.topics[j] for j in np.flatnonzero(row >= t)) for row in s]

    def predict(self, examples: Sequence[Example]) -> tuple[list[frozenset[str]], list[str | None]]:
        """Topics and sentiment of a batch, with the features computed once."""
        if not examples:
            return [], []
        x = self.features.transform(examples)
        feelings: list[str | None] = (
            [str(v) for v in self.sentiment.predict(x)]
            if self.sentiment is not None
            else [None] * len(examples)
        )
        return self._topics(self._scores(x)), feelings

    def predict_sentiment(self, examples: Sequence[Example]) -> list[str | None]:
        if self.sentiment is None:
            return [None] * len(examples)
        x = self.features.transform(examples)
        return [str(v) for v in self.sentiment.predict(x)]

    def dumps(self) -> bytes:
        buf = io.BytesIO()
        pickle.dump(self, buf, protocol=pickle.HIGHEST_PROTOCOL)
        return buf.getvalue()

    @staticmethod
    def loads(blob: bytes) -> TopicModel:
        model = pickle.loads(blob)  # noqa: S301 - our own blob from our own database
        if not isinstance(model, TopicModel):
            raise TypeError("not a TopicModel")
        # An older pickle has no ``format`` of its own (the class default would answer).
        found = vars(model).get("format", 1)
        if found != FORMAT:
            raise StaleModelError(f"stored model format {found}, this code reads {FORMAT}")
        return model


def targets(examples: Sequence[Example], topics: list[str]) -> NDArray[np.int8]:
    y = np.zeros((len(examples), len(topics)), dtype=np.int8)
    index = {t: j for j, t in enumerate(topics)}
    for i, e in enumerate(examples):
        for t in e.topics:
            if t in index:
                y[i, index[t]] = 1
    return y


def _blocks(x: csr_matrix, split: int) -> tuple[csr_matrix, csr_matrix]:
    """The TF-IDF and context columns, and the dense semantic ones (possibly none)."""
    return csr_matrix(x[:, :split]), csr_matrix(x[:, split:])


def _fit_svm(x: csr_matrix, y: NDArray[np.int8], c: float) -> LinearSVC:
    return LinearSVC(C=c).fit(x, y)


def _fit_one(
    sparse: csr_matrix, dense: csr_matrix, y: NDArray[np.int8], c: float
) -> TopicClassifier | None:
    """One topic's classifier (None if the labels are all one class)."""
    if y.sum() == 0 or y.sum() == len(y):
        return None
    return TopicClassifier(
        _fit_svm(sparse, y, c), _fit_svm(dense, y, c) if dense.shape[1] else None
    )


def _best_threshold(scores: FloatArray, y: NDArray[np.int8]) -> float:
    """The decision threshold with the best F1 on validation data (0.0 if no positives)."""
    if y.sum() == 0:
        return 0.0
    order = np.argsort(-scores)
    s, t = scores[order], y[order]
    tp = np.cumsum(t)
    k = np.arange(1, len(s) + 1)
    f1 = 2 * tp / (k + t.sum())
    best = int(np.argmax(f1))
    nxt = s[best + 1] if best + 1 < len(s) else s[best] - 1.0
    # Midway to the next score, shrunk towards the SVM's own 0 for stability.
    return float(0.5 * ((s[best] + nxt) / 2) + 0.5 * min(0.0, (s[best] + nxt) / 2))


def train(
    examples: Sequence[Example],
    topics: list[str],
    *,
    lang: Lang = "ru",
    c: float = 0.5,
    seed: int = SEED,
    folds: int = 4,
    groups: Sequence[str] | None = None,
) -> TopicModel:
    """Train topics and, if labelled, sentiment.

    Each topic's threshold is tuned on out-of-fold (late-fused) decision scores over the
    training data (``folds``-fold, seeded), so even rare topics have all their positives to
    tune on. With ``groups`` (e.g. the writer of each comment) the folds are the groups, dealt
    round-robin into ``folds`` folds, so a threshold is tuned on scores of writers the fold
    model never saw.
    """
    features = Features(lang, list(topics))
    x = features.fit_transform(examples)
    y = targets(examples, topics)
    fold_of = np.empty(len(examples), dtype=np.int64)
    if groups is not None:
        names = sorted(set(groups))
        folds = min(folds, len(names))
        index = {g: k % folds for k, g in enumerate(names)}
        fold_of[:] = [index[g] for g in groups]
    else:
        order = list(range(len(examples)))
        random.Random(seed).shuffle(order)  # noqa: S311 - reproducible folds
        fold_of[order] = np.arange(len(examples)) % folds
    sparse, dense = _blocks(x, features.split)
    thresholds = []
    for j in range(len(topics)):
        oof = np.zeros(len(examples))
        for k in range(folds):
            inside, out = fold_of != k, fold_of == k
            clf = _fit_one(sparse[inside], dense[inside], y[inside, j], c)
            oof[out] = clf.decision(sparse[out], dense[out]) if clf else -1.0
        thresholds.append(_best_threshold(oof, y[:, j]))
    classifiers = [_fit_one(sparse, dense, y[:, j], c) for j in range(len(topics))]
    sentiment = _train_sentiment(x, examples)
    return TopicModel(
        lang=lang,
        topics=list(topics),
        features=features,
        classifiers=classifiers,
        thresholds=thresholds,
        sentiment=sentiment,
    )


def _train_sentiment(x: csr_matrix, examples: Sequence[Example]) -> LogisticRegression | None:
    rows = [i for i, e in enumerate(examples) if e.sentiment]
    labels = [examples[i].sentiment for i in rows]
    if len(set(labels)) < 2:
        return None
    clf = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced")
    return clf.fit(x[rows], labels)
