"""The versioned topic taxonomy (data files in ``data/``) and its lemma rules.

A taxonomy file lists topics (code, Russian name, rules) and, from the second version on,
``map_from_previous``: how each old topic code translates into new ones, so that comments
analysed under an old version still count in today's trends (``translate``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from otklik.insights.text import NEG_PREFIX, lemma_ru, lemmas, normalize

CURRENT = "2026.1"


@dataclass(frozen=True)
class Rule:
    items: tuple[str, ...]  # lemma, "prefix*" or "NOT_lemma"


@dataclass(frozen=True)
class Topic:
    code: str
    name: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True, eq=False)
class Taxonomy:
    version: str
    previous: str | None
    map_from_previous: dict[str, tuple[str, ...]]
    topics: tuple[Topic, ...]

    @property
    def codes(self) -> list[str]:
        return [t.code for t in self.topics]

    @property
    def names(self) -> dict[str, str]:
        return {t.code: t.name for t in self.topics}


def _item(raw: str) -> str:
    word = normalize(raw)
    if word.endswith("*"):
        return word
    if raw.startswith(NEG_PREFIX):
        return NEG_PREFIX + lemma_ru(normalize(raw[len(NEG_PREFIX) :]))
    return lemma_ru(word)


def rule_of(phrase: str) -> Rule:
    """A rule from its phrase: lemmas in order; ``NOT_word`` negated; ``word*`` a prefix."""
    return Rule(tuple(_item(w) for w in phrase.split()))


@lru_cache(maxsize=8)
def load(version: str = CURRENT) -> Taxonomy:
    """The taxonomy of ``version`` from the package data (KeyError-free: unknown -> ValueError)."""
    try:
        raw = resources.files("otklik.insights").joinpath(f"data/taxonomy-{version}.json")
        data = json.loads(raw.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValueError(f"unknown taxonomy version {version}") from exc
    topics = tuple(
        Topic(
            t["code"],
            t["name"],
            tuple(rule_of(r) for r in t.get("rules", [])),
        )
        for t in data["topics"]
    )
    mapping = {k: tuple(v) for k, v in data.get("map_from_previous", {}).items()}
    return Taxonomy(data["version"], data.get("previous"), mapping, topics)


def translate(codes: Iterable[str], from_version: str, to_version: str = CURRENT) -> list[str]:
    """Translate stored topic codes from an older taxonomy version into ``to_version``."""
    chain: list[Taxonomy] = []
    tax = load(to_version)
    while tax.version != from_version:
        if tax.previous is None:
            raise ValueError(f"{from_version} is not an ancestor of {to_version}")
        chain.append(tax)
        tax = load(tax.previous)
    current = set(codes)
    for step in reversed(chain):
        current = {new for code in current for new in step.map_from_previous.get(code, (code,))}
    return sorted(current)


def _matches(item: str, token: str) -> bool:
    negated = token.startswith(NEG_PREFIX)
    if item.startswith(NEG_PREFIX):
        return negated and _matches(item[len(NEG_PREFIX) :], token[len(NEG_PREFIX) :])
    base = token[len(NEG_PREFIX) :] if negated else token
    return base.startswith(item[:-1]) if item.endswith("*") else base == item


def rule_hits(rule: Rule, tokens: list[str]) -> bool:
    n = len(rule.items)
    for i in range(len(tokens) - n + 1):
        if all(_matches(item, tokens[i + k]) for k, item in enumerate(rule.items)):
            return True
    return False


@lru_cache(maxsize=8)
def _index(
    tax: Taxonomy,
) -> tuple[dict[str, set[str]], dict[str, list[tuple[str, Rule]]], list[tuple[str, Rule]]]:
    """Single plain lemmas in a dictionary (the fast path); phrases by their first lemma;
    rules starting with a prefix in a list."""
    exact: dict[str, set[str]] = {}
    phrases: dict[str, list[tuple[str, Rule]]] = {}
    other: list[tuple[str, Rule]] = []
    for topic in tax.topics:
        for rule in topic.rules:
            item = rule.items[0]
            if item.endswith("*"):
                other.append((topic.code, rule))
            elif len(rule.items) == 1:
                keys = [item] if item.startswith(NEG_PREFIX) else [item, NEG_PREFIX + item]
                for key in keys:
                    exact.setdefault(key, set()).add(topic.code)
            else:
                phrases.setdefault(item.removeprefix(NEG_PREFIX), []).append((topic.code, rule))
    return exact, phrases, other


def classify(tokens: list[str], taxonomy: Taxonomy | None = None) -> list[str]:
    """Topic codes whose rules match the lemma tokens (from ``text.lemmas``)."""
    tax = taxonomy or load()
    exact, phrases, other = _index(tax)
    found: set[str] = set()
    candidates = list(other)
    for token in set(tokens):
        found |= exact.get(token, set())
        candidates.extend(phrases.get(token.removeprefix(NEG_PREFIX), ()))
    for code, rule in candidates:
        if code not in found and rule_hits(rule, tokens):
            found.add(code)
    return [c for c in tax.codes if c in found]


def classify_text(text: str, taxonomy: Taxonomy | None = None) -> list[str]:
    return classify(lemmas(text), taxonomy)
