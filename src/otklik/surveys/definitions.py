"""Questionnaire versions as data: the schema of a definition file (YAML or JSON), parsing with
clear Russian errors, the compatibility rule (a code never changes type) and the default file.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from otklik.errors import ValidationFailed
from otklik.registry.models import Sector

VERSIONS_DIR = Path(__file__).resolve().parent / "versions"
DEFAULT_VERSION = "2025.1"
MAX_FILE_BYTES = 256 * 1024
RATING_LABELS = {1: "очень плохо", 2: "плохо", 3: "удовлетворительно", 4: "хорошо", 5: "отлично"}
QuestionType = Literal["rating", "yesno", "choice", "text"]
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
TYPE_LABELS = {
    "rating": "оценка от 1 до 5",
    "yesno": "да / нет",
    "choice": "выбор одного варианта",
    "text": "свободный текст",
}
# Form fields that are not answers: the submit button, the honeypot, the text-size switch.
RESERVED = frozenset({"action", "website", "text"})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(Strict):
    code: Code
    equals: str


class Option(Strict):
    value: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")]
    label: Annotated[str, Field(min_length=1, max_length=200)]


class Question(Strict):
    code: Code
    type: QuestionType
    text: Annotated[str, Field(min_length=1, max_length=500)]
    required: bool = False
    sectors: tuple[Sector, ...] = ()  # empty: every sector (a core question)
    show_if: Condition | None = None
    not_used: bool = False  # rating: offer "не пользовался"
    prefer_not: bool = False  # yesno: offer "предпочитаю не отвечать"
    options: tuple[Option, ...] = ()  # choice
    max_length: Annotated[int, Field(ge=1, le=5000)] = 1000  # text

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.type == "choice" and len(self.options) < 2:
            raise ValueError("у вопроса с выбором должно быть не меньше двух вариантов")
        if self.type != "choice" and self.options:
            raise ValueError("варианты ответа бывают только у вопроса с выбором (choice)")
        if self.not_used and self.type != "rating":
            raise ValueError("«не пользовался» бывает только у оценки (rating)")
        if self.prefer_not and self.type != "yesno":
            raise ValueError("«предпочитаю не отвечать» бывает только у вопроса да/нет (yesno)")
        if self.code in RESERVED:
            raise ValueError(f"код «{self.code}» зарезервирован")
        return self


class Definition(Strict):
    version: Annotated[str, Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]{0,19}$")]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    questions: Annotated[tuple[Question, ...], Field(min_length=1, max_length=60)]
    # the form's HTML of each unanswered question, rendered once (pages.blank_question)
    _blank_html: dict[str, Markup] = PrivateAttr(default_factory=dict)
    # the blank form page as fragments, per sector's questions and text size (surveys.fragments)
    _fragments: dict[tuple[tuple[str, ...], bool], Any] = PrivateAttr(default_factory=dict)
    _by_sector: dict[str, tuple[Question, ...]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _references(self) -> Definition:
        seen: dict[str, Question] = {}
        for q in self.questions:
            if q.code in seen:
                raise ValueError(f"код вопроса «{q.code}» повторяется")
            if q.show_if is not None:
                target = seen.get(q.show_if.code)
                if target is None:
                    raise ValueError(
                        f"вопрос «{q.code}» зависит от «{q.show_if.code}», "
                        "которого нет выше в анкете"
                    )
                if q.show_if.equals not in allowed_values(target):
                    raise ValueError(
                        f"условие вопроса «{q.code}»: у «{target.code}» нет ответа "
                        f"«{q.show_if.equals}»"
                    )
            seen[q.code] = q
        return self

    def for_sector(self, sector: str) -> tuple[Question, ...]:
        """The questions shown for an organization of ``sector``: core ones plus its module."""
        found = self._by_sector.get(sector)
        if found is None:
            found = tuple(q for q in self.questions if not q.sectors or sector in q.sectors)
            self._by_sector[sector] = found
        return found


def allowed_values(q: Question) -> tuple[str, ...]:
    """Every value a form may send for ``q`` (a text question accepts any text)."""
    if q.type == "rating":
        return ("1", "2", "3", "4", "5") + (("na",) if q.not_used else ())
    if q.type == "yesno":
        return ("yes", "no") + (("prefer_not",) if q.prefer_not else ())
    if q.type == "choice":
        return tuple(o.value for o in q.options)
    return ()


def _location(loc: tuple[Any, ...], data: Any) -> str:
    if len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int):
        try:
            code = data["questions"][loc[1]].get("code", "?")
        except (KeyError, IndexError, TypeError, AttributeError):
            code = "?"
        rest = ".".join(str(p) for p in loc[2:])
        return f"вопрос № {loc[1] + 1} ({code})" + (f", поле {rest}" if rest else "")
    return "поле " + ".".join(str(p) for p in loc) if loc else "анкета"


def parse_definition(content: bytes, filename: str = "") -> Definition:
    """A definition from a YAML or JSON file, or ``ValidationFailed`` saying what is wrong."""
    if len(content) > MAX_FILE_BYTES:
        raise ValidationFailed(f"Файл больше {MAX_FILE_BYTES // 1024} КБ.", code="file_too_large")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed("Файл должен быть в кодировке UTF-8.", code="bad_encoding") from None
    try:
        data = json.loads(text) if filename.lower().endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        line = getattr(exc, "lineno", None) if line is None else line + 1
        where = f" (строка {line})" if line else ""
        raise ValidationFailed(
            f"Файл не читается как YAML или JSON{where}.", code="bad_syntax"
        ) from None
    if not isinstance(data, dict):
        raise ValidationFailed("В файле должна быть анкета: version, title, questions.")
    try:
        return Definition.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_location(tuple(e['loc']), data)}: {_message(e)}" for e in exc.errors()[:10]]
        raise ValidationFailed(
            "Анкета не прошла проверку: " + "; ".join(problems), code="bad_definition"
        ) from None


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "обязательное поле отсутствует"
    if kind == "extra_forbidden":
        return "неизвестное поле"
    if kind == "string_pattern_mismatch":
        return "недопустимые символы (латинские строчные буквы, цифры и «_»)"
    if kind == "literal_error":
        return "тип вопроса должен быть одним из: rating, yesno, choice, text"
    if kind == "enum":
        return "сектор должен быть одним из: " + ", ".join(s.value for s in Sector)
    if kind == "value_error":
        return re.sub(r"^Value error, ", "", str(error["msg"]))
    return str(error["msg"])


def type_conflicts(new: Definition, published: list[Definition]) -> list[str]:
    """Codes whose type differs from an earlier published version (codes are stable)."""
    known = {q.code: (q.type, d.version) for d in published for q in d.questions}
    return [
        f"«{q.code}» был «{TYPE_LABELS[known[q.code][0]]}» в версии {known[q.code][1]}, "
        f"а стал «{TYPE_LABELS[q.type]}»"
        for q in new.questions
        if q.code in known and known[q.code][0] != q.type
    ]


@cache
def default_definition() -> Definition:
    path = VERSIONS_DIR / f"{DEFAULT_VERSION}.yaml"
    return parse_definition(path.read_bytes(), path.name)
