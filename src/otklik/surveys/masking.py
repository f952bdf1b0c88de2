"""Masking of personal data in citizens' free-text comments.

``mask_personal_data`` turns a raw comment into plain text with personal data replaced by
Russian placeholders. The steps, in order:

1. markup: control and zero-width characters dropped; scripts, styles and comments removed with
   their content, other tags removed; entities unescaped once; tags that the unescaping revealed
   removed too; whitespace normalised (line breaks kept, runs collapsed);
2. e-mails (also "ivan at mail dot ru");
3. digit runs: bank cards (13-19 digits, Luhn), SNILS (checksum or 123-456-789 01), Russian and
   international phone numbers; dates, times, amounts and room numbers have other shapes;
4. street addresses introduced by a street word ("ул.", "проспект") or a city ("г. Москва");
5. names of people: natasha's NER, PER spans, without role words ("доктор", "медсестра").

The NER model is loaded once, lazily, and runs only on pieces that hold a capitalised
Cyrillic word. The result is a fixpoint: masking it again changes nothing (except a
double-encoded entity such as ``&amp;lt;``, which decodes one level per call by design).
"""

from __future__ import annotations

import html
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator
from functools import lru_cache
from itertools import pairwise
from typing import Any

PHONE = "[телефон]"
EMAIL = "[e-mail]"
SNILS = "[СНИЛС]"
CARD = "[номер карты]"
NAME = "[имя]"
ADDRESS = "[адрес]"

# ---------------------------------------------------------------- markup and characters

_ZWJ = "\u200d"
_DROPPED = {"Cc", "Cf", "Cs"}  # control, format (zero-width, bidi), lone surrogates
_LINE_BREAKS = {"\r\n": "\n", "\r": "\n", "\u2028": "\n", "\u2029": "\n", "\x0b": "\n"}
_HIDDEN = re.compile(
    r"<(script|style|noscript|template)\b[^>]*>.*?(?:</\1\s*>|$)"
    r"|<!--.*?(?:-->|$)|<!\[CDATA\[.*?(?:\]\]>|$)",
    re.IGNORECASE | re.DOTALL,
)
_BLOCK_TAG = re.compile(r"</?(?:br|p|div|li|tr|h[1-6]|ul|ol|table|blockquote)\b[^<>]*>", re.I)
_QUOTED_TAG = re.compile(r"""<[A-Za-z/!?](?:"[^"]*"|'[^']*'|[^'"<>])*>""")
_TAG = re.compile(r"<[A-Za-z/!?][^<>]*>")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_MAX_TAG_PASSES = 8


def _clean_characters(text: str) -> str:
    """Drop control, format (zero-width, bidi) and surrogate characters; keep emoji joiners."""
    for old, new in _LINE_BREAKS.items():
        text = text.replace(old, new)
    out: list[str] = []
    for i, char in enumerate(text):
        category = unicodedata.category(char)
        if char in "\n\t" or (category not in _DROPPED and category[0] != "Z"):
            out.append(char)
        elif category[0] == "Z":
            out.append(" ")
        elif char == _ZWJ and 0 < i < len(text) - 1 and _is_emoji(text[i - 1]):
            out.append(char)
        elif char == "\x0c":
            out.append("\n")
    return "".join(out)


def _is_emoji(char: str) -> bool:
    return unicodedata.category(char) in {"So", "Sk", "Mn"}


def _strip_tags(text: str) -> str:
    """Remove hidden blocks and tags until none is left (nested or split tags included)."""
    for _ in range(_MAX_TAG_PASSES):
        stripped = _BLOCK_TAG.sub("\n", _HIDDEN.sub("", text))
        stripped = _TAG.sub("", _QUOTED_TAG.sub("", stripped))
        if stripped == text:
            return text
        text = stripped
    return _TAG_START.sub("", text)  # adversarially deep nesting: no tag may survive


def _normalise_whitespace(text: str) -> str:
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" ?\n ?", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _plain_text(text: str) -> str:
    text = _strip_tags(_clean_characters(text))
    text = _strip_tags(_clean_characters(html.unescape(text)))
    return _normalise_whitespace(text)


# ---------------------------------------------------------------- e-mails

_EMAIL = re.compile(
    r"[\w.!#$%&'*+/=?^`{|}~-]+@(?:[\w-]+\.)+[\w-]{2,}"
    r"|(?<![\w.])[A-Za-z0-9._%+-]+\s*(?:\(at\)|\[at\]|\sat\s|\sсобака\s|@)\s*"
    r"[A-Za-z0-9-]+\s*(?:\(dot\)|\[dot\]|\sdot\s|\sточка\s)\s*[A-Za-z]{2,}\b",
    re.IGNORECASE,
)

# ---------------------------------------------------------------- digit runs

_RUN = re.compile(r"\+?(?:\(\d{1,6}\)|\d+)(?:[ \-\u2010-\u2015]{0,3}(?:\(\d{1,6}\)|\d+))*")
_DIGITS = re.compile(r"\d+")
_TEN_DIGIT_SHAPES = {(10,), (3, 7), (3, 3, 4), (3, 3, 2, 2)}
_MAX_WINDOW_GROUPS = 6
_MAX_WINDOW_DIGITS = 19


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char) * (2 if i % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _snils_ok(digits: str) -> bool:
    total = sum(int(d) * (9 - i) for i, d in enumerate(digits[:9]))
    check = total % 101 % 100
    return check == int(digits[9:])


def _is_phone(digits: str, shape: tuple[int, ...], seps: list[str], plus: bool) -> bool:
    if plus:
        return 8 <= len(digits) <= 15
    if len(digits) == 11 and digits[0] in "78":
        return shape == (11,) or (shape[0] == 1 and shape[1:] in _TEN_DIGIT_SHAPES)
    if len(digits) == 10 and digits[0] in "3489":
        return shape in _TEN_DIGIT_SHAPES
    return shape == (3, 2, 2) and all(sep == "-" for sep in seps)


def _classify(digits: str, shape: tuple[int, ...], seps: list[str], plus: bool) -> str | None:
    """The placeholder for one window of digit groups, or None if it is no personal number."""
    if plus:
        return PHONE if _is_phone(digits, shape, seps, plus) else None
    if 13 <= len(digits) <= 19 and _luhn_ok(digits):
        return CARD
    if len(digits) == 11 and shape == (3, 3, 3, 2) and seps[:2] == ["-", "-"]:
        return SNILS
    if _is_phone(digits, shape, seps, plus):
        return PHONE
    if len(digits) == 11 and shape in {(11,), (3, 3, 3, 2)} and _snils_ok(digits):
        return SNILS
    return None


def _mask_run(run: re.Match[str]) -> str:
    """Mask the personal numbers inside one run of digit groups, longest window first."""
    text = run.group()
    groups = list(_DIGITS.finditer(text))
    out: list[str] = []
    kept_to, i = 0, 0
    while i < len(groups):
        found = _window_at(text, groups, i)
        if found is None:
            i += 1
            continue
        j, placeholder = found
        start, end = _window_bounds(text, groups[i].start(), groups[j].end(), plus=i == 0)
        out += [text[kept_to:start], placeholder]
        kept_to, i = end, j + 1
    return "".join([*out, text[kept_to:]])


def _window_at(text: str, groups: list[re.Match[str]], i: int) -> tuple[int, str] | None:
    last = min(len(groups), i + _MAX_WINDOW_GROUPS) - 1
    for j in range(last, i - 1, -1):
        window = groups[i : j + 1]
        digits = "".join(g.group() for g in window)
        if len(digits) > _MAX_WINDOW_DIGITS:
            continue
        shape = tuple(len(g.group()) for g in window)
        seps = [text[a.end() : b.start()].strip("() ") or " " for a, b in pairwise(window)]
        plus = i == 0 and text.startswith("+")
        placeholder = _classify(digits, shape, seps, plus)
        if placeholder is not None:
            return j, placeholder
    return None


def _window_bounds(text: str, start: int, end: int, *, plus: bool) -> tuple[int, int]:
    if start > 0 and text[start - 1] == "(":
        start -= 1
    if plus and text.startswith("+"):
        start = 0
    if end < len(text) and text[end] == ")":
        end += 1
    return start, end


# ---------------------------------------------------------------- addresses

_STREET_WORD = (
    r"(?i:ул(?:иц[аеуы]|\.|\b)|пр-к?т\.?|просп(?:ект[аеу]?\b|\.)|пр\.|пер(?:еул(?:ок|к[еау])|\.)"
    r"|б-р|бул(?:ьвар[аеу]?\b|\.)|ш\.|шоссе|пл(?:ощад[иь]|\.)|наб(?:ережн(?:ая|ой|ую)|\.)"
    r"|мкр(?:н|\.)?|микрорайон[аеу]?\b|проезд[аеу]?\b|туп(?:ик[аеу]?\b|\.)|алле[яиюе]\b|тракт\b)"
)
_CITY = r"(?i:г\.|гор\.|город[аеу]?\b)\s*[А-ЯЁ][\w-]*(?:\s[А-ЯЁ][\w-]*)?"
_STREET_NAME = r"(?:\d{1,3}-?[а-я]{0,3}\s+)?[А-ЯЁ][\w-]*(?:\s+[А-ЯЁ][\w-]*){0,2}"
_HOUSE = r"(?:,?\s*(?i:д\.|дом\b)?\s*\d+[а-яА-Я]?\b(?:\s*[/-]\s*\d+[а-яА-Я]?\b)?)"
_UNIT = r"(?:,?\s*(?i:корп(?:ус|\.)?|к\.|стр(?:оение|\.)|кв(?:артира|\.)?|оф(?:ис|\.)?)\s*\d+\w?)"
_ADDRESS = re.compile(
    rf"(?<!\w)(?:(?:{_CITY}),?\s*)?{_STREET_WORD}\s*{_STREET_NAME}{_HOUSE}?{_UNIT}*"
    rf"|(?<!\w){_CITY},\s*{_STREET_NAME}\s+\d+[а-яА-Я]?\b(?:[/-]\d+)?{_UNIT}*"
)

# ---------------------------------------------------------------- names (natasha NER)

_NER_CHUNK = 1000
_CAPITALISED = re.compile(r"[А-ЯЁ][а-яё]")
# A sentence (with its end marks); the NER reads only the sentences that may hold a name.
_SENTENCE = re.compile(r"[^.!?…\n]+[.!?…]*")
_CAPITALISED_ANY = re.compile(r"[А-ЯЁ][а-яё]+(?:-[А-ЯЁа-яё]+)*")
_CAPITALISED_WORD = re.compile(r"(?<![\w\[-])[А-ЯЁ][а-яё]+\b(?!-)")
_NAMED_AFTER = re.compile(r"(?i:\bим\.|\bимени)\s*$")  # "больница имени Пирогова"
_UPPER_WORD = re.compile(r"[А-ЯЁ]{2,}")
_SPAN_TOKEN = re.compile(r"\[[^\[\]]*\]|\b\w\.|[\w-]+")  # placeholder, initial, word
_ROLES = (
    r"(?:врач|доктор|медс[её]стр|медбрат|фельдшер|терапевт|хирург|педиатр|стоматолог|невролог"
    r"|окулист|кардиолог|гинеколог|главврач|заведующ|регистратор|администратор|сотрудни"
    r"|специалист|учител|воспитател|директор|тренер|преподавател|социальн|работни|санитар)"
)
_ROLE_WORD = re.compile(rf"{_ROLES}|(?:зав|лор)$")
_ROLE_IN_TEXT = re.compile(rf"(?i:\b(?:соц)?{_ROLES})[а-яё-]*")
_NEXT_LOWER_WORD = re.compile(r"\s+([а-яё]+)\b")
_PATRONYMIC = r"[А-ЯЁ][а-яё]+(?:ович|евич|ьич|овн|евн|ичн)[а-яё]{0,3}\b"
_NAME_RULES = re.compile(
    rf"(?:[А-ЯЁ][а-яё]+\s+){{1,2}}{_PATRONYMIC}"  # (Surname) First-name Patronymic
    r"|[А-ЯЁ][а-яё]+\s+[А-ЯЁ]\.\s?(?:[А-ЯЁ]\.)?"  # Surname I. O.
    r"|\b[А-ЯЁ]\.\s?(?:[А-ЯЁ]\.\s?)?[А-ЯЁ][а-яё]+"  # I. O. Surname
)
_MAX_NER_ROUNDS = 3  # for texts up to one chunk; longer ones get one round
_PERSON_TAGS = frozenset({"Name", "Surn", "Patr"})
_SURNAME_SHAPE = re.compile(r"(?:ов|ев|[её]в|ин|ын|ск|цк)(?:а|у|ой|ым|ом|е|ий|ая|ого|ой)?$", re.I)
_models_lock = threading.Lock()
_models: tuple[Callable[[list[str]], Iterator[Any]], Any] | None = None


def _load_models() -> tuple[Callable[[list[str]], Iterator[Any]], Any]:
    """natasha's NER tagger and pymorphy3's analyser, loaded once per process (~1.5 s, 60 MB)."""
    global _models
    if _models is None:
        with _models_lock:
            if _models is None:
                from natasha import NewsEmbedding, NewsNERTagger  # type: ignore[import-untyped]
                from pymorphy3 import MorphAnalyzer

                _models = (NewsNERTagger(NewsEmbedding()).map, MorphAnalyzer())
    return _models


def warm_up() -> None:
    """Load the models now (at server start) rather than on the first comment with a name."""
    _load_models()


@lru_cache(maxsize=8192)
def _is_first_name(word: str, tags: frozenset[str] = frozenset({"Name"})) -> bool:
    """True if pymorphy3's likeliest reading of the word is a first name ("Оля", "Игорь")."""
    return bool(tags & _load_models()[1].parse(word)[0].tag.grammemes)


@lru_cache(maxsize=8192)
def _may_be_name(word: str) -> bool:
    """False for a word that is never a person's name: a dictionary word without a name
    reading ("Перезвоните", "Спасибо", "Логопед", "Внука", "Госуслугах": the NER takes
    sentence-initial nouns for names), a known word behind a prefix ("Медкабинет",
    "Соцработница") or hyphenated known words ("Онлайн-запись"). A word the dictionary does
    not know otherwise may be a rare surname and stays a name, and so does a short adjective
    shaped like a surname ("Пыжикова")."""
    if len(word) < 3:
        return True  # an initial
    parses = _load_models()[1].parse(word)
    if any(_PERSON_TAGS & p.tag.grammemes for p in parses):
        return True
    if _SURNAME_SHAPE.search(word) and any("ADJS" in p.tag or "ADJF" in p.tag for p in parses):
        return True
    known = any(p.is_known for p in parses)
    if known:
        return False
    method = type(parses[0].methods_stack[0][0]).__name__
    return method not in {"DictionaryAnalyzer", "HyphenatedWordsAnalyzer"}


def _chunks(text: str) -> Iterator[tuple[int, str]]:
    """Pieces of at most _NER_CHUNK characters, cut at a line, sentence or word end."""
    start = 0
    while start < len(text):
        end = min(len(text), start + _NER_CHUNK)
        if end < len(text):
            cut = max(text.rfind(mark, start, end) for mark in ("\n", ". ", " "))
            end = cut + 1 if cut > start else end
        yield start, text[start:end]
        start = end


def _ner_view(text: str) -> str:
    """The text as the NER sees it: a shouted comment is re-cased word by word (same length)."""
    upper = sum(c.isupper() for c in text)
    if upper <= sum(c.islower() for c in text):
        return text
    return _UPPER_WORD.sub(lambda m: m.group()[0] + m.group()[1:].lower(), text)


def _person_spans(text: str) -> list[tuple[int, int]]:
    """Spans of names: natasha's PER spans, the patronymic/initials rules, first names."""
    view = _ner_view(text)
    spans: list[tuple[int, int]] = []
    for rule in _NAME_RULES.finditer(view):
        spans += _name_parts(view, rule.start(), rule.end(), 0)
    for word in _CAPITALISED_WORD.finditer(view):
        before = view[max(0, word.start() - 8) : word.start()]
        if _is_first_name(word.group()) and not _NAMED_AFTER.search(before):
            spans.append(word.span())
    for role in _ROLE_IN_TEXT.finditer(view):
        spans += _lower_case_name_after(view, role.end())
    pieces = [
        (start + m.start(), m.group())
        for start, chunk in _chunks(view)
        for m in _SENTENCE.finditer(chunk)
        if _needs_ner(m.group())
    ]
    if pieces:
        markups = _load_models()[0]([piece for _, piece in pieces])
        for (offset, piece), markup in zip(pieces, markups, strict=True):
            for span in markup.spans:
                if span.type == "PER":
                    spans += _name_parts(piece, span.start, span.stop, offset)
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(spans):
        if merged and not view[merged[-1][1] : start].strip():  # overlapping or space apart
            merged[-1] = (merged[-1][0], max(stop, merged[-1][1]))
        else:
            merged.append((start, stop))
    return merged


def _needs_ner(piece: str) -> bool:
    """Whether the NER can find a name here: a capitalised word that may be a name. A piece
    whose capitalised words are all ordinary ("Логопед хороший. Спасибо") is skipped: every
    word of a PER span must pass ``_may_be_name`` anyway, so the NER could add nothing."""
    return any(
        _may_be_name(part.lower())
        for word in _CAPITALISED_ANY.findall(piece)
        for part in word.split("-")
        if part
    )


def _lower_case_name_after(view: str, position: int) -> list[tuple[int, int]]:
    """A name in lower case right after a role word: "медсестра оля", "доктор петров"."""
    spans: list[tuple[int, int]] = []
    for _ in range(3):
        word = _NEXT_LOWER_WORD.match(view, position)
        if word is None or not _is_first_name(word.group(1), _PERSON_TAGS):
            break
        spans.append(word.span(1))
        position = word.end()
    return spans


def _name_parts(piece: str, start: int, stop: int, offset: int) -> list[tuple[int, int]]:
    """A PER span without role words, placeholders and non-name words, as runs of the rest."""
    parts: list[tuple[int, int]] = []
    run: tuple[int, int] | None = None
    if start > 0 and piece[start - 1] == "[":
        start -= 1  # a span that begins inside a placeholder
    for token in _SPAN_TOKEN.finditer(piece, start):
        if token.start() >= stop:
            break
        word = token.group().lower()
        if word.startswith("[") or _ROLE_WORD.match(word) or not _may_be_name(word):
            run = None
            continue
        if run is not None and piece[run[1] : token.start()].strip():
            run = None  # only spaces may join the words of one name
        run = (token.start() if run is None else run[0], token.end())
        if parts and parts[-1][0] == offset + run[0]:
            parts.pop()
        parts.append((offset + run[0], offset + run[1]))
    return parts


def _mask_names(text: str) -> str:
    rounds = _MAX_NER_ROUNDS if len(text) <= _NER_CHUNK else 1
    for _ in range(rounds):  # masking a name can reveal another one to the model
        spans = _person_spans(text)
        if not spans:
            break
        for start, stop in reversed(spans):
            text = text[:start] + NAME + text[stop:]
    return text


# ---------------------------------------------------------------- the public function


def mask_personal_data(text: str) -> str:
    """Return ``text`` as plain text with personal data replaced by Russian placeholders.

    Masks e-mails, phone numbers, SNILS, bank card numbers, street addresses and names of
    people (see the module docstring for the rules and docs/surveys.md for the limits).
    Safe for any input size; the NER model is loaded on first use of a comment with a name.
    """
    text = _plain_text(text)
    text = _EMAIL.sub(EMAIL, text)
    text = _RUN.sub(_mask_run, text)
    text = _ADDRESS.sub(ADDRESS, text)
    return _mask_names(text)
