"""One comment in, its analysis out: topics, sentiment and urgent-risk triage.

Topics and sentiment come from the trained model (``default_model``) when the caller passes
its batch predictions; otherwise from the lemma rules and a small Russian polarity lexicon
(a negation flips a word's polarity), the transparent baseline. The stored sentiment is the
text's alone; a score that contradicts it (``disagrees``) is a signal of its own. Urgent
triage looks for danger to life or health, abuse or violence, corruption and discrimination;
a flag goes to a person at once, whatever the thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

from otklik.insights.taxonomy import Taxonomy, classify, load
from otklik.insights.text import NEG_PREFIX, lemmas_of, words
from otklik.insights.urgent import detect

RULES_MODEL = "rules"

POSITIVE = frozenset(
    "хороший хорошо отличный отлично прекрасный прекрасно замечательный замечательно вежливый "
    "вежливо внимательный внимательно доброжелательный довольный доволен спасибо благодарить "
    "благодарность быстро чистый чисто удобный удобно профессиональный понравиться нравиться "
    "рекомендовать уютный комфортный грамотный приятный приятно супер лучший молодец "
    "неплохой неплохо отзывчивый чуткий аккуратный умница".split()
)
NEGATIVE = frozenset(
    "плохой плохо ужасный ужасно грубый грубо хамство хамить нахамить хам отвратительный "
    "безобразие недовольный жалоба кошмар равнодушный бардак невозможно хуже худший долго "
    "грязный грязно грязь очередь опаздывать опоздание отказать отказ ждать прождать "
    "некомпетентный непрофессиональный невнимательный неприятный холодно душно сломать "
    "сломанный кричать накричать обман обмануть вымогать ужас позор стыдно бесит "
    "неудобно неудобный безразличие безразличный медленно".split()
)

URGENT_KINDS = {
    "danger": "Угроза жизни или здоровью",
    "violence": "Насилие или жестокое обращение",
    "corruption": "Коррупция",
    "discrimination": "Дискриминация",
}


@dataclass(frozen=True)
class Analysis:
    topics: list[str]
    sentiment: str  # negative, neutral, positive: from the text alone
    urgent: bool
    urgent_kind: str | None
    taxonomy_version: str
    model_version: str
    disagrees: bool = False  # the overall score contradicts the text's sentiment


def urgent_kind(text: str, tokens: list[str] | None = None, score: int | None = None) -> str | None:
    """The urgent-risk kind the text signals (``insights.urgent``: lexicon and classifier)."""
    flag = detect(text, score, tokens)
    return flag.kind if flag else None


def sentiment(tokens: list[str], overall: int | None) -> str:
    """negative / neutral / positive from lexicon polarity and the overall score (1-5)."""
    polarity = 0.0
    for token in tokens:
        negated = token.startswith(NEG_PREFIX)
        base = token[len(NEG_PREFIX) :] if negated else token
        value = 1.0 if base in POSITIVE else -1.0 if base in NEGATIVE else 0.0
        polarity += -0.7 * value if negated else value
    total = max(-2.0, min(2.0, polarity)) + (overall - 3) * 1.0 if overall else polarity
    if total >= 1.0:
        return "positive"
    if total <= -1.0:
        return "negative"
    return "neutral"


def disagrees(text_sentiment: str, overall: int | None) -> bool:
    """Whether the score contradicts the text: a complaint with 4-5, praise with 1-2."""
    if overall is None:
        return False
    return (text_sentiment == "negative" and overall >= 4) or (
        text_sentiment == "positive" and overall <= 2
    )


def analyse(
    text: str,
    overall: int | None,
    *,
    taxonomy: Taxonomy | None = None,
    model_version: str = RULES_MODEL,
    model_topics: frozenset[str] | None = None,
    model_sentiment: str | None = None,
) -> Analysis:
    """Analyse one masked comment. A trained model's batch predictions (``model_topics``,
    ``model_sentiment``) replace the rules' topics and the lexicon's sentiment; the overall
    score is kept for ``disagrees`` only, never mixed into the sentiment."""
    tax = taxonomy or load()
    plain_words = words(text)
    kind = urgent_kind(text, plain_words, overall)
    if model_topics is None or model_sentiment is None:
        tokens = lemmas_of(plain_words)
        rule_topics = frozenset(classify(tokens, tax))
        lexicon = sentiment(tokens, None)
    topics = model_topics if model_topics is not None else rule_topics
    feeling = model_sentiment if model_sentiment is not None else lexicon
    return Analysis(
        [c for c in tax.codes if c in topics],
        feeling,
        kind is not None,
        kind,
        tax.version,
        model_version,
        disagrees(feeling, overall),
    )
