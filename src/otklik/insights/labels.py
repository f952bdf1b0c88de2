"""Labelled comment files: our CSV format and an adapter for the NHS pxtextmining file.

Our format (UTF-8 CSV, header row): ``text``, ``topics`` (topic codes separated by ``;``),
optional ``sentiment`` (negative / neutral / positive) and ``overall`` (1-5).
The NHS file (``FFT answer``, ``Comment sentiment`` and one 0/1 column per v6 topic) is
recognised by its columns; see docs/insights.md for the label set and merges.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable
from pathlib import Path

from otklik.errors import ValidationFailed
from otklik.insights.model import Example
from otklik.insights.text import Lang

SENTIMENTS = ("negative", "neutral", "positive")
MAX_BYTES = 50_000_000


class LabelsError(ValidationFailed):
    code = "bad_labels"
    message = "Файл разметки не подходит."


# pxtextmining's published 32-label model: 29 v6 columns kept as they are, three merged labels.
NHS_MERGES: dict[str, tuple[str, ...]] = {
    "Staffing levels & responsiveness": ("Number & deployment of staff", "Staff responsiveness"),
    "Environment, facilities & equipment": (
        "Environment & Facilities",
        "Provision of medical equipment",
    ),
    "Continuity of care": ("Staff continuity", "Referals & continuity of care"),
}
NHS_SINGLE = (
    "Organisation & efficiency",
    "Funding & use of financial resources",
    "Staff manner & personal attributes",
    "Competence & training",
    "Unspecified communication",
    "Staff listening, understanding & involving patients",
    "Information directly from staff during care",
    "Information provision & guidance",
    "Being kept informed, clarity & consistency of information",
    "Contacting services",
    "Appointment arrangements",
    "Appointment method",
    "Timeliness of care",
    "Pain management",
    "Discharge",
    "Cleanliness, tidiness & infection control",
    "Service location",
    "Transport to/ from services",
    "Parking",
    "Electronic entertainment",
    "Feeling safe",
    "Mental Health Act",
    "Labelling not possible",
    "Supplying & understanding medication",
    "Activities & access to fresh air",
    "Food & drink provision & facilities",
    "Sensory experience",
    "Interaction with family/ carers",
    "Positive experience & gratitude",
)
NHS_LABELS = (*NHS_SINGLE, *NHS_MERGES)
NHS_QUESTIONS = {
    "what was good?": "q_good",
    "how could we improve?": "q_improve",
    "what could we do better?": "q_improve",
    "is there anything we could have done better?": "q_improve",
}
NHS_SENTIMENT = {
    "1": "very positive",
    "2": "positive",
    "3": "neutral",
    "4": "negative",
    "5": "very negative",
}


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and rows of a CSV file (optionally gzip-compressed); friendly errors."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise LabelsError(f"Файл больше {MAX_BYTES // 1_000_000} МБ / file too large.")
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8-sig")
    except FileNotFoundError as exc:
        raise LabelsError(f"Файл не найден / file not found: {path}") from exc
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise LabelsError("Файл не читается как CSV в UTF-8 / not a UTF-8 CSV file.") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    return header, list(reader)


def load(path: Path, known_topics: Iterable[str]) -> tuple[list[Example], list[str], Lang]:
    """Examples, their topic list and language ("ru" or "en") from a labelled file."""
    header, rows = read_rows(path)
    if "FFT answer" in header:
        return _nhs(header, rows), list(NHS_LABELS), "en"
    return _ours(header, rows, set(known_topics)), sorted(set(known_topics)), "ru"


def _ours(header: list[str], rows: list[dict[str, str]], known: set[str]) -> list[Example]:
    missing = [c for c in ("text", "topics") if c not in header]
    if missing:
        raise LabelsError(
            f"Нет обязательных столбцов: {', '.join(missing)} / missing columns: "
            f"{', '.join(missing)}. Нужны text, topics; необязательны sentiment, overall."
        )
    out: list[Example] = []
    for n, row in enumerate(rows, start=2):
        topics = frozenset(t.strip() for t in (row.get("topics") or "").split(";") if t.strip())
        unknown = sorted(topics - known)
        if unknown:
            raise LabelsError(
                f"Строка {n}: неизвестные темы {', '.join(unknown)} / "
                f"line {n}: unknown topics {', '.join(unknown)}."
            )
        sentiment = (row.get("sentiment") or "").strip() or None
        if sentiment is not None and sentiment not in SENTIMENTS:
            raise LabelsError(
                f"Строка {n}: тональность «{sentiment}» не из {', '.join(SENTIMENTS)} / "
                f"line {n}: bad sentiment."
            )
        overall = (row.get("overall") or "").strip()
        text = (row.get("text") or "").strip()
        if text:
            out.append(Example(text, topics, sentiment, f"overall_{overall}" if overall else ""))
    if not out:
        raise LabelsError("В файле нет размеченных комментариев / no labelled comments.")
    return out


def _nhs(header: list[str], rows: list[dict[str, str]]) -> list[Example]:
    columns = [*NHS_SINGLE, *(c for cols in NHS_MERGES.values() for c in cols)]
    missing = [c for c in columns if c not in header]
    if missing:
        raise LabelsError(f"Нет столбцов NHS / missing NHS columns: {', '.join(missing[:5])}.")
    out: list[Example] = []
    for row in rows:
        text = (row.get("FFT answer") or "").strip()
        on = {c for c in columns if (row.get(c) or "").strip() == "1"}
        topics = {c for c in NHS_SINGLE if c in on}
        topics |= {m for m, cols in NHS_MERGES.items() if on & set(cols)}
        question = (row.get("FFT question") or "").strip().lower()
        if not text:
            continue
        if not topics and not any((row.get(c) or "").strip() == "1" for c in header[11:]):
            continue  # unlabelled rows are dropped, as pxtextmining does
        sentiment = NHS_SENTIMENT.get((row.get("Comment sentiment") or "").strip())
        out.append(
            Example(text, frozenset(topics), sentiment, NHS_QUESTIONS.get(question, "q_any"))
        )
    return out
