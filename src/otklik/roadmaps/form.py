"""The roadmap form (create and edit): its rows to ``RoadmapIn``, and errors in Russian.

A measure is one row of the form; its key is its row number, so "зависит от" lists row
numbers ("1, 3") and change requests are listed by number ("12, 15"). Empty rows are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from otklik.roadmaps.schemas import RoadmapIn, RoadmapOut

EXTRA_ROWS = 3  # empty rows offered below the filled ones
MAX_ROWS = 200

_FIELDS = {
    "title": "название дорожной карты (от 3 до 300 символов)",
    "subject": "услугу или жизненную ситуацию",
    "report_every_days": "период отчётов: целое число дней от 1 до 92",
    "key": "номер строки",
    "owner": "e-mail владельца",
    "planned_start": "дату начала (ДД.ММ.ГГГГ)",
    "planned_due": "срок окончания (ДД.ММ.ГГГГ)",
    "weight": "вес: число больше 0 и не больше 1000",
    "depends_on": "номера строк, от которых зависит мероприятие, через запятую",
    "change_requests": "номера запросов на изменение через запятую",
}


@dataclass
class Row:
    title: str = ""
    owner: str = ""
    start: str = ""
    due: str = ""
    weight: str = "1"
    deps: str = ""
    crs: str = ""

    def empty(self) -> bool:
        return not any((self.title.strip(), self.owner.strip(), self.start, self.due))


@dataclass
class Form:
    title: str = ""
    subject: str = ""
    scope: str = ""
    report_every_days: str = "14"
    rows: list[Row] = field(default_factory=list)

    def padded(self, extra: int = EXTRA_ROWS) -> Form:
        filled = [r for r in self.rows if not r.empty()]
        self.rows = (filled + [Row() for _ in range(extra)])[:MAX_ROWS]
        return self


class FormError(Exception):
    """The form cannot become a ``RoadmapIn``: a Russian message naming the row and field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _numbers(text: str, what: str, row: int) -> list[str]:
    parts = [p.strip().lstrip("№").strip() for p in text.replace(";", ",").split(",")]
    out = [p for p in parts if p]
    bad = [p for p in out if not p.isdigit() or len(p) > 9]
    if bad:
        raise FormError(f"Строка {row}: «{bad[0][:20]}» — не номер; укажите {what} через запятую.")
    return out


def to_input(form: Form) -> RoadmapIn:
    """The filled rows as ``RoadmapIn``; a FormError in Russian for what cannot be read."""
    kind, _, code = form.subject.partition(":")
    measures: list[dict[str, Any]] = []
    numbered = [(k + 1, r) for k, r in enumerate(form.rows) if not r.empty()]
    if not numbered:
        raise FormError("Добавьте хотя бы одно мероприятие.")
    for row_no, r in numbered:
        measures.append(
            {
                "key": str(row_no),
                "title": r.title.strip(),
                "owner": r.owner.strip(),
                "planned_start": r.start or None,
                "planned_due": r.due or None,
                "weight": r.weight.strip().replace(",", ".") or "1",
                "depends_on": _numbers(r.deps, "номера строк", row_no),
                "change_requests": [
                    int(n) for n in _numbers(r.crs, "номера запросов на изменение", row_no)
                ],
            }
        )
    data = {
        "title": form.title.strip(),
        "subject": {"kind": kind, "code": code},
        "scope": form.scope.strip() or None,
        "report_every_days": form.report_every_days.strip() or "14",
        "measures": measures,
    }
    try:
        return RoadmapIn.model_validate(data)
    except ValidationError as exc:
        loc = exc.errors()[0]["loc"]
        if loc and loc[0] == "measures" and len(loc) > 2 and isinstance(loc[1], int):
            row_no = numbered[loc[1]][0]
            what = _FIELDS.get(str(loc[2]), "поля строки")
            raise FormError(f"Мероприятие в строке {row_no}: укажите {what}.") from None
        if loc and loc[0] == "subject":
            raise FormError("Выберите услугу или жизненную ситуацию.") from None
        what = _FIELDS.get(str(loc[0]) if loc else "", "поля формы")
        raise FormError(f"Проверьте {what}.") from None


def row_message(message: str, field_path: str | None, form: Form) -> str:
    """A service error on ``measures.<i>.<field>`` names the form's row number."""
    if field_path and field_path.startswith("measures."):
        index = field_path.split(".")[1]
        if index.isdigit():
            numbered = [k + 1 for k, r in enumerate(form.rows) if not r.empty()]
            i = int(index)
            if i < len(numbered):
                return f"Строка {numbered[i]}: {message}"
    return message


def from_detail(r: RoadmapOut, subject: str) -> Form:
    """The edit form of an existing roadmap (dependencies as row numbers)."""
    rows_of = {m.id: k + 1 for k, m in enumerate(r.measures)}
    rows = [
        Row(
            title=m.title,
            owner=m.owner,
            start=m.planned_start.isoformat(),
            due=m.planned_due.isoformat(),
            weight=f"{m.weight:g}",
            deps=", ".join(str(rows_of[d]) for d in m.depends_on if d in rows_of),
            crs=", ".join(str(c) for c in m.change_requests),
        )
        for m in r.measures
    ]
    return Form(
        title=r.title, subject=subject, report_every_days=str(r.report_every_days), rows=rows
    ).padded()
