"""Checking a submitted form against the questions shown: every problem named by its field,
good answers kept for the re-rendered form."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from otklik.surveys.definitions import RESERVED, Question, allowed_values

FORM_ERROR = "_form"
MAX_CHOICE_CHARS = 40
NOT_ANSWERS = RESERVED | {"csrf_token"}


@dataclass
class Checked:
    values: dict[str, str] = field(default_factory=dict)  # code -> value, as typed
    errors: dict[str, str] = field(default_factory=dict)  # code (or FORM_ERROR) -> message


def shown(q: Question, values: dict[str, str]) -> bool:
    """Whether ``q`` applies given the other answers (its ``show_if`` condition)."""
    return q.show_if is None or values.get(q.show_if.code) == q.show_if.equals


def _value_error(q: Question, value: str) -> str | None:
    if q.type == "text":
        if len(value) > q.max_length:
            return (
                f"Текст длиннее {q.max_length} символов (сейчас {len(value)}). "
                "Сократите его, пожалуйста."
            )
        return None
    if len(value) > MAX_CHOICE_CHARS or value not in allowed_values(q):
        if q.type == "rating":
            return "Оценка должна быть числом от 1 до 5."
        return "Выберите один из предложенных вариантов."
    return None


def check(
    questions: Iterable[Question], fields: list[tuple[str, str]], *, complete: bool
) -> Checked:
    """Check the fields of a form; ``complete`` also requires the required answers."""
    questions = tuple(questions)
    by_code = {q.code: q for q in questions}
    out = Checked()
    unknown: list[str] = []
    repeated: set[str] = set()
    for name, raw in fields:
        if name in NOT_ANSWERS:
            continue
        q = by_code.get(name)
        if q is None:
            unknown.append(name[:40])
            continue
        if name in out.values:
            repeated.add(name)
        out.values[name] = raw.strip() if q.type == "text" else raw
    for name in repeated:
        out.errors[name] = "На вопрос пришло несколько ответов: выберите один."
    for q in questions:
        value = out.values.get(q.code, "")
        if not shown(q, out.values):
            out.values.pop(q.code, None)
            continue
        if not value:
            out.values.pop(q.code, None)
            if complete and q.required:
                out.errors.setdefault(q.code, "Ответьте на этот вопрос.")
            continue
        problem = _value_error(q, value)
        if problem:
            out.errors.setdefault(q.code, problem)
            if q.type != "text":
                out.values.pop(q.code, None)
    if unknown:
        out.errors[FORM_ERROR] = (
            "Форма содержит неизвестные поля ("
            + ", ".join(sorted(set(unknown))[:5])
            + "). Обновите страницу и ответьте на вопросы ещё раз."
        )
    return out


def ordered_errors(questions: Iterable[Question], errors: dict[str, str]) -> list[tuple[str, str]]:
    """Errors in the order of the questions (form-wide problems first)."""
    out = [(FORM_ERROR, errors[FORM_ERROR])] if FORM_ERROR in errors else []
    return out + [(q.code, errors[q.code]) for q in questions if q.code in errors]
