"""Service records from request bodies (JSON array, NDJSON) and files (CSV, XLSX, NDJSON)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from otklik.errors import DomainError, PayloadTooLarge, UnsupportedMediaType
from otklik.intake.messages import message
from otklik.intake.service import INVALID_LINE
from otklik.kit.tabular import EXTRA_CELLS, FileProblem, open_table

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
JSON_TYPES = ("application/json",)  # no Content-Type is a 415, not a guess

# Flat columns of CSV/XLSX files: recipient_* and representative[2..5]_* become nested objects.
RECORD_COLUMNS = ("record_id", "organization_ogrn", "service_code", "served_at")
OPTIONAL_COLUMNS = ("life_situation_code",)
PERSON_COLUMNS = ("snils", "birth_date", "portal_account_confirmed", "email", "phone")
REPRESENTATIVE_COLUMNS = ("snils", "relation", "portal_account_confirmed", "email", "phone")
REPRESENTATIVE_PREFIXES = ("representative_", *(f"representative{n}_" for n in range(2, 6)))
REQUIRED_COLUMNS = {*RECORD_COLUMNS, "recipient_snils", "recipient_birth_date"}
KNOWN_COLUMNS = {
    *RECORD_COLUMNS,
    *OPTIONAL_COLUMNS,
    *(f"recipient_{c}" for c in PERSON_COLUMNS),
    *(p + c for p in REPRESENTATIVE_PREFIXES for c in REPRESENTATIVE_COLUMNS),
}
TRUE = {"true", "1", "да", "yes", "y", "д"}
FALSE = {"false", "0", "нет", "no", "n", "н"}


class BadRequestBody(DomainError):
    status_code = 400
    code = "invalid_json"


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are not JSON


def loads_strict(data: bytes) -> Any:
    """JSON that refuses a key repeated in one object (instead of keeping the last one)."""
    return json.loads(data, object_pairs_hook=_unique_keys, parse_constant=_no_constant)


def parse_body(body: bytes, content_type: str, max_records: int) -> list[Any]:
    """Records of a request body, or a whole-request error (400, 413, 415)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in NDJSON_TYPES:
        lines = [line for line in body.split(b"\n") if line.strip()]
        if len(lines) > max_records:
            raise PayloadTooLarge(
                message("too_many_records", limit=max_records), code="too_many_records"
            )
        return [_load_line(line) for line in lines]
    if media not in JSON_TYPES:
        raise UnsupportedMediaType(message("unsupported_media_type"))
    try:
        data = loads_strict(body)
    except DuplicateKey as exc:
        raise BadRequestBody(message("duplicate_key", key=exc.key), code="duplicate_key") from None
    except ValueError:
        raise BadRequestBody(message("invalid_json")) from None
    if not isinstance(data, list):
        raise BadRequestBody(message("not_a_list"), code="not_a_list")
    if len(data) > max_records:
        raise PayloadTooLarge(
            message("too_many_records", limit=max_records), code="too_many_records"
        )
    return data


def _load_line(line: bytes) -> Any:
    try:
        return loads_strict(line)
    except ValueError:  # also a repeated key: the line is refused, never "last one wins"
        return INVALID_LINE


def _flag(value: str) -> bool | str:
    low = value.strip().lower()
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    return value


def _person(row: dict[str, str], prefix: str, columns: tuple[str, ...]) -> dict[str, Any]:
    person: dict[str, Any] = {}
    for c in columns:
        value = row.get(prefix + c, "")
        if value:
            person[c] = _flag(value) if c == "portal_account_confirmed" else value
    return person


def flat_to_record(row: dict[str, str]) -> dict[str, Any]:
    """One CSV/XLSX row as the nested record the API takes."""
    record: dict[str, Any] = {c: row[c] for c in (*RECORD_COLUMNS, *OPTIONAL_COLUMNS) if row.get(c)}
    record["recipient"] = _person(row, "recipient_", PERSON_COLUMNS)
    reps = [_person(row, p, REPRESENTATIVE_COLUMNS) for p in REPRESENTATIVE_PREFIXES]
    if any(reps):
        record["representatives"] = [r for r in reps if r]
    return record


def read_records(path: Path, max_bytes: int) -> tuple[Iterator[tuple[int, Any]], int | None]:
    """(line number, record) pairs of a CSV, XLSX or NDJSON file, and their count if cheap."""
    if path.suffix.lower() in (".ndjson", ".jsonl"):
        if not path.is_file():
            raise FileProblem(f"Файл не найден: {path.name}.", code="file_not_found")
        if path.stat().st_size > max_bytes:
            raise FileProblem(
                "Файл слишком большой: разделите его на части.", code="file_too_large"
            )
        return _ndjson(path), None
    table = open_table(path, required=REQUIRED_COLUMNS, aliases={}, max_bytes=max_bytes)
    unknown = sorted(h for h in table.headers if h and h not in KNOWN_COLUMNS)
    if unknown:
        raise FileProblem(
            "Неизвестные столбцы: " + ", ".join(unknown) + " (список столбцов — в docs/intake.md).",
            code="unknown_column",
        )
    return ((line, _row(row)) for line, row in table.rows), table.total


def _row(row: dict[str, str]) -> Any:
    if EXTRA_CELLS in row:
        return INVALID_LINE
    return flat_to_record(row)


def _ndjson(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open("rb") as fh:
        for n, line in enumerate(fh, start=1):
            if line.strip():
                yield n, _load_line(line)
