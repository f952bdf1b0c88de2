"""Text pipeline: normalization, tokens, lemmas, negation and stop words.

Russian (default) uses razdel tokens and pymorphy3 lemmas (cached: lemmatization dominates
the cost); English (for the NHS check) uses lowercase tokens and a light suffix stemmer.
A word after a negation (не, нет, ни, без / not, no, never, without) gets the ``NOT_`` prefix,
so "не ждали" and "ждали" are different features.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache
from typing import Literal

import pymorphy3
from razdel import tokenize

Lang = Literal["ru", "en"]
MAX_CHARS = 5000
NEG_PREFIX = "NOT_"

_WORD = re.compile(r"^[^\W\d_]+(?:-[^\W\d_]+)*$")
_EN_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202f]")
_SPACES = re.compile(r"\s+")
_REPEAT = re.compile(r"(.)\1{3,}")

NEGATIONS_RU = frozenset({"не", "нет", "ни", "без", "нету"})
NEGATIONS_EN = frozenset({"not", "no", "never", "without", "nothing", "nobody", "cannot"})
STOP_RU = frozenset(
    "и в во на с со к ко о об от до по за из у же бы ли а но да то это этот эта эти тот та те "
    "так как что чтобы или либо для при про над под через я мы вы он она оно они ты мой наш "
    "ваш его ее их себя свой весь все всё быть был была были есть уже еще ещё там тут вот "
    "который какой когда где если очень также тоже только даже просто".split()
)
STOP_EN = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been being "
    "i we you he she it they me us him her them my our your his its their this that these "
    "those there here so very just also too then than have has had do does did will would "
    "can could should".split()
)


def normalize(text: str) -> str:
    """Unicode-normalize, drop control characters, lowercase, fold ё and squeeze repeats."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS])
    text = _CONTROL.sub(" ", text).lower().replace("ё", "е")
    text = _REPEAT.sub(r"\1\1\1", text)
    return _SPACES.sub(" ", text).strip()


@lru_cache(maxsize=1)
def _morph() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer()


def is_person_name(word: str) -> bool:
    """Whether the dictionary knows ``word`` as a first name, a patronymic or a surname."""
    return any({"Name", "Patr", "Surn"} & set(p.tag.grammemes) for p in _morph().parse(word))


@lru_cache(maxsize=200_000)
def lemma_ru(word: str) -> str:
    """The normal form of a Russian word (cached); other scripts are returned as they are."""
    if not ("а" <= word[0] <= "я"):
        return word
    return str(_morph().parse(word)[0].normal_form).replace("ё", "е")


_EN_SUFFIXES = ("ations", "ation", "ments", "ment", "ness", "ingly", "edly", "ing", "ies", "ied")


@lru_cache(maxsize=100_000)
def stem_en(word: str) -> str:
    """A light English stemmer: enough to join waiting/waited/waits."""
    for suffix in _EN_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    for suffix in ("ed", "es", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def words(text: str, lang: Lang = "ru") -> list[str]:
    """Word tokens of normalized text (razdel for Russian), without numbers, punctuation, emoji."""
    return list(_words(text, lang))


# A batch's texts are tokenized by the rules, the urgent triage and the model's features:
# the last few thousand are cached, so each is tokenized once.
@lru_cache(maxsize=4096)
def _words(text: str, lang: Lang) -> tuple[str, ...]:
    if lang == "en":
        return tuple(_EN_WORD.findall(normalize(text).replace("’", "'")))
    return tuple(t.text for t in tokenize(normalize(text)) if _WORD.match(t.text))


def lemmas(text: str, lang: Lang = "ru") -> list[str]:
    """Lemmas without stop words; the content word after a negation carries ``NOT_``."""
    return lemmas_of(words(text, lang), lang)


def lemmas_of(tokens: list[str], lang: Lang = "ru") -> list[str]:
    """``lemmas`` over tokens already produced by ``words``."""
    negations, stop = (NEGATIONS_RU, STOP_RU) if lang == "ru" else (NEGATIONS_EN, STOP_EN)
    out: list[str] = []
    negate = False
    for word in tokens:
        if lang == "en" and "'" in word:
            negate = negate or word.endswith("n't")
            word = word.split("'")[0]
            if negate and word in negations | {"don", "didn", "wasn", "isn", "couldn", "won"}:
                continue
        if word in negations:
            negate = True
            continue
        if word in stop:
            continue
        base = lemma_ru(word) if lang == "ru" else stem_en(word)
        if base in stop:
            continue
        out.append(NEG_PREFIX + base if negate else base)
        negate = False
    return out


def analyzer_ru(text: str) -> list[str]:
    """Lemma unigrams and bigrams for the TF-IDF model (a module function: picklable)."""
    return _grams(lemmas(text, "ru"))


def analyzer_en(text: str) -> list[str]:
    """Stem unigrams and bigrams for the TF-IDF model on English text."""
    return _grams(lemmas(text, "en"))


def _grams(tokens: list[str]) -> list[str]:
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
