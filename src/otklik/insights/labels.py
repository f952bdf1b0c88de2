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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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


# ---------------------------------------------------------------- the evaluation corpus format

CORPUS_COLUMNS = (
    "id",
    "writer",
    "sector",
    "text",
    "topics",
    "sentiment",
    "urgent",
    "urgent_kind",
    "score",
)
SECTORS = ("health", "education", "sport", "social")
URGENT_KINDS = ("danger", "violence", "corruption", "discrimination")


@dataclass(frozen=True)
class CorpusRow:
    """One labelled comment of the evaluation corpus (see docs/insights.md)."""

    id: str
    writer: str
    sector: str
    text: str
    topics: frozenset[str]
    sentiment: str  # from the text alone
    urgent_kind: str | None  # None when not urgent
    score: int  # 1-5


def load_corpus(paths: Iterable[Path], known_topics: Iterable[str]) -> list[CorpusRow]:
    """All rows of the corpus files ``paths``; the first malformed row stops with a message
    naming the file and its line (nothing is dropped or fixed silently)."""
    known = set(known_topics)
    out: list[CorpusRow] = []
    seen: dict[str, str] = {}
    for path in paths:
        header, rows = read_rows(path)
        missing = [c for c in CORPUS_COLUMNS if c not in header]
        if missing:
            raise LabelsError(
                f"{path.name}: нет столбцов {', '.join(missing)}; нужны "
                f"{','.join(CORPUS_COLUMNS)} / missing columns: {', '.join(missing)}."
            )
        for n, raw in enumerate(rows, start=2):
            row = _corpus_row(raw, known, f"{path.name}, строка {n}")
            if row.id in seen:
                raise LabelsError(
                    f"{path.name}, строка {n}: id «{row.id}» повторяется (уже в {seen[row.id]}) "
                    f"/ duplicate id."
                )
            seen[row.id] = f"{path.name}, строка {n}"
            out.append(row)
    if not out:
        raise LabelsError("В файлах нет размеченных комментариев / no labelled comments.")
    return out


def _corpus_row(raw: Mapping[str, str | None], known: set[str], where: str) -> CorpusRow:
    # csv.DictReader keeps extra fields under the key None and fills missing ones with None.
    if (
        len(raw) > len(set(raw) - {""})
        or None in list(raw)
        or any(raw.get(c) is None for c in CORPUS_COLUMNS)
    ):
        raise LabelsError(f"{where}: число полей не совпадает с заголовком / wrong field count.")
    value = {c: (raw.get(c) or "").strip() for c in CORPUS_COLUMNS}
    if not value["id"]:
        raise LabelsError(f"{where}: пустой id / empty id.")
    if not value["text"]:
        raise LabelsError(f"{where}: пустой текст / empty text.")
    if value["sector"] not in SECTORS:
        raise LabelsError(
            f"{where}: сфера «{value['sector']}» не из {', '.join(SECTORS)} / bad sector."
        )
    topics = frozenset(t.strip() for t in value["topics"].split(";") if t.strip())
    unknown = sorted(topics - known)
    if unknown:
        raise LabelsError(f"{where}: неизвестные темы {', '.join(unknown)} / unknown topics.")
    if value["sentiment"] not in SENTIMENTS:
        raise LabelsError(
            f"{where}: тональность «{value['sentiment']}» не из {', '.join(SENTIMENTS)} "
            f"/ bad sentiment."
        )
    if value["urgent"] not in ("0", "1"):
        raise LabelsError(f"{where}: urgent «{value['urgent']}» не 0 и не 1 / bad urgent.")
    kind = value["urgent_kind"] or None
    if value["urgent"] == "1" and kind not in URGENT_KINDS:
        raise LabelsError(
            f"{where}: вид срочного сигнала «{value['urgent_kind']}» не из "
            f"{', '.join(URGENT_KINDS)} / bad urgent_kind."
        )
    if value["urgent"] == "0" and kind is not None:
        raise LabelsError(f"{where}: urgent_kind задан при urgent=0 / urgent_kind without urgent.")
    if value["score"] not in ("1", "2", "3", "4", "5"):
        raise LabelsError(f"{where}: оценка «{value['score']}» не от 1 до 5 / bad score.")
    return CorpusRow(
        value["id"],
        value["writer"],
        value["sector"],
        value["text"],
        topics,
        value["sentiment"],
        kind if value["urgent"] == "1" else None,
        int(value["score"]),
    )
