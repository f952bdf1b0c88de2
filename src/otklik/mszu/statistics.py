"""Application statistics intake: validation per row, then set-based staging and upsert.

Idempotent by (source, service, region, founder, month, channel), the founder being optional
('' when a row does not state it): the same value again is a duplicate,
a different one replaces the stored value and leaves an audit row with both values. Rows of a
closed (reported) quarter are refused. Reuses the intake domain's source keys and body parsing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.intake.service import INVALID_LINE
from otklik.kit.clock import MOSCOW
from otklik.kit.tabular import EXTRA_CELLS, FileProblem, open_table
from otklik.mszu import repository
from otklik.mszu.messages import message
from otklik.mszu.models import CHANNELS

REQUIRED = ("service_code", "region_code", "month", "channel", "applications")
FIELDS = (*REQUIRED, "founder_code")
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)
MAX_COUNT = 1_000_000_000
DB_FIELDS = {
    "unknown_service": "service_code",
    "unknown_region": "region_code",
    "unknown_founder": "founder_code",
    "founder_region_mismatch": "founder_code",
    "mixed_founder": "founder_code",
}


@dataclass(slots=True)
class RowError:
    index: int
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "field": self.field,
            "code": self.code,
            "message": self.message,
        }


@dataclass
class StatsResult:
    accepted: int = 0
    replaced: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "replaced": self.replaced,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": [e.as_dict() for e in self.errors],
        }


Clean = tuple[str, str, str, date, str, int]  # service, region, founder, month, channel, count


def _month(value: Any, today: date) -> date | tuple[str, str]:
    if not isinstance(value, str) or not (m := MONTH_RE.match(value.strip())):
        return ("invalid_month", message("invalid_month"))
    year, mon = int(m[1]), int(m[2])
    if not 1 <= mon <= 12:
        return ("invalid_month", message("invalid_month"))
    if year < 2020:
        return ("month_too_old", message("month_too_old"))
    first = date(year, mon, 1)
    if first >= today.replace(day=1):
        return ("month_in_future", message("month_in_future", month=value.strip()))
    return first


def check_row(obj: Any, today: date) -> Clean | list[tuple[str, str, str]]:
    """A clean row, or its problems as (field, code, message)."""
    if obj is INVALID_LINE:
        return [("", "invalid_line", message("invalid_line"))]
    if not isinstance(obj, dict):
        return [("", "not_an_object", message("not_an_object"))]
    problems = [(k[:60], "unknown_field", message("unknown_field")) for k in obj if k not in FIELDS]
    for f in REQUIRED:
        if obj.get(f) in (None, ""):
            problems.append((f, "required", message("required")))
    if problems:
        return problems
    founder = obj.get("founder_code")
    founder = "" if founder is None else founder
    for f, v in (
        ("service_code", obj["service_code"]),
        ("region_code", obj["region_code"]),
        ("channel", obj["channel"]),
        ("founder_code", founder),
    ):
        limit = 60 if f == "founder_code" else 100
        if not isinstance(v, str) or len(v) > limit:
            problems.append((f, "invalid_type", message("invalid_type", expected="строка")))
    count = obj["applications"]
    if not isinstance(count, int) or isinstance(count, bool):
        problems.append(
            ("applications", "invalid_type", message("invalid_type", expected="целое число"))
        )
    elif count < 0:
        problems.append(("applications", "negative_count", message("negative_count")))
    elif count > MAX_COUNT:
        problems.append(("applications", "count_too_large", message("count_too_large")))
    if isinstance(obj["channel"], str) and obj["channel"] not in CHANNELS:
        problems.append(("channel", "unknown_channel", message("unknown_channel")))
    month = _month(obj["month"], today)
    if isinstance(month, tuple):
        problems.append(("month", *month))
    if problems or isinstance(month, tuple):
        return problems
    return (
        obj["service_code"],
        obj["region_code"],
        str(founder).strip(),
        month,
        obj["channel"],
        int(count),
    )


MIXED_OTHER = {True: "без учредителя", False: "с учредителями"}
CHANNEL_SET = frozenset(CHANNELS)


def fast_row(obj: Any, months: dict[str, date | None], today: date) -> Clean | None:
    """The common case in one pass: a well-formed row exactly as ``check_row`` would return it;
    ``None`` sends the row to ``check_row`` for its precise errors. ``months`` caches the
    parsed months of a batch (``None`` for a bad one)."""
    if type(obj) is not dict:
        return None
    size = len(obj)
    if size == 5:
        founder: Any = ""
    elif size == 6 and "founder_code" in obj:
        founder = obj["founder_code"]
        if founder is None:
            founder = ""
    else:
        return None
    try:
        s, r, m, c, a = (
            obj["service_code"],
            obj["region_code"],
            obj["month"],
            obj["channel"],
            obj["applications"],
        )
    except KeyError:
        return None
    if not (
        type(s) is str
        and type(r) is str
        and type(c) is str
        and type(a) is int
        and type(founder) is str
        and type(m) is str
        and 0 < len(s) <= 100
        and 0 < len(r) <= 100
        and len(founder) <= 60
        and 0 <= a <= MAX_COUNT
        and c in CHANNEL_SET
    ):
        return None
    if m not in months:
        parsed = _month(m, today)
        months[m] = parsed if isinstance(parsed, date) else None
    month = months[m]
    if month is None:
        return None
    return (s, r, founder.strip(), month, c, a)


def today_moscow() -> date:
    return datetime.now(MOSCOW).date()


async def ingest_statistics(
    session: AsyncSession,
    source_id: int,
    items: Sequence[Any],
    *,
    today: date | None = None,
    first_index: int = 0,
) -> StatsResult:
    """Validate and store a batch; good rows are kept, bad ones reported with a reason."""
    day = today or today_moscow()
    result = StatsResult()
    clean: dict[int, Clean] = {}
    months: dict[str, date | None] = {}
    for i, obj in enumerate(items):
        fast = fast_row(obj, months, day)
        if fast is not None:
            clean[i] = fast
            continue
        checked = check_row(obj, day)
        if isinstance(checked, list):
            result.errors.extend(RowError(first_index + i, *p) for p in checked)
        else:
            clean[i] = checked
    keys = Counter(c[:5] for c in clean.values())
    first: dict[tuple[Any, ...], int] = {}
    for i, c in list(clean.items()):
        if keys[c[:5]] > 1:
            first.setdefault(c[:5], first_index + i)
            text_ = message("duplicate_in_batch", first=first[c[:5]])
            result.errors.append(RowError(first_index + i, "", "duplicate_in_batch", text_))
            del clean[i]
    if clean:
        await repository.stage(session, ((i, *c) for i, c in clean.items()))
        bad = await repository.check_staged(session, source_id)
        bad_with_founder = {i for i in bad if clean[i][2]}
        for i, code in bad.items():
            field_ = DB_FIELDS.get(code, "month")
            text_ = (
                message(code, other=MIXED_OTHER[i in bad_with_founder])
                if code == "mixed_founder"
                else message(code)
            )
            result.errors.append(RowError(first_index + i, field_, code, text_))
        staged = len(clean) - len(bad)
        result.accepted, result.replaced, result.duplicates = await repository.store_staged(
            session, source_id, staged
        )
    result.rejected = len({e.index for e in result.errors})
    result.errors.sort(key=lambda e: e.index)
    return result


# --- files (CSV, XLSX, NDJSON) for the CLI and the upload page ---


def read_rows(path: Path, max_bytes: int) -> Iterator[tuple[int, Any]]:
    """(line, row) pairs; counts become integers where they are written as digits."""
    if path.suffix.lower() in (".ndjson", ".jsonl"):
        if not path.is_file():
            raise FileProblem(f"Файл не найден: {path.name}.", code="file_not_found")
        if path.stat().st_size > max_bytes:
            raise FileProblem(
                "Файл слишком большой: разделите его на части.", code="file_too_large"
            )
        return _ndjson(path)
    table = open_table(path, required=set(REQUIRED), aliases={}, max_bytes=max_bytes)
    unknown = sorted(h for h in table.headers if h and h not in FIELDS)
    if unknown:
        raise FileProblem(
            "Неизвестные столбцы: " + ", ".join(unknown) + " (список столбцов — в docs/mszu.md).",
            code="unknown_column",
        )
    return ((line, _flat(row)) for line, row in table.rows)


def _flat(row: dict[str, str]) -> Any:
    if EXTRA_CELLS in row:
        return INVALID_LINE
    out: dict[str, Any] = {k: v.strip() for k, v in row.items() if k in FIELDS and v.strip()}
    count = out.get("applications")
    if isinstance(count, str) and re.fullmatch(r"-?\d{1,12}", count):
        out["applications"] = int(count)
    return out


def _ndjson(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open("rb") as fh:
        for n, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    yield n, orjson.loads(line)
                except orjson.JSONDecodeError:
                    yield n, INVALID_LINE


@dataclass
class FileReport:
    rows: int = 0
    accepted: int = 0
    replaced: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[tuple[int, str, str, str]] = field(default_factory=list)  # line, field, code, msg


async def ingest_file(
    session: AsyncSession,
    source_id: int,
    rows: Iterable[tuple[int, Any]],
    *,
    chunk: int = 10_000,
    after_chunk: Callable[[], Awaitable[None]] | None = None,
) -> FileReport:
    """A file in chunks through the same checks as the API (a re-run is safe: duplicates)."""
    report = FileReport()
    part: list[tuple[int, Any]] = []

    async def flush() -> None:
        result = await ingest_statistics(session, source_id, [r for _, r in part])
        report.rows += len(part)
        report.accepted += result.accepted
        report.replaced += result.replaced
        report.duplicates += result.duplicates
        report.rejected += result.rejected
        report.errors.extend((part[e.index][0], e.field, e.code, e.message) for e in result.errors)
        part.clear()
        if after_chunk:
            await after_chunk()

    for item in rows:
        part.append(item)
        if len(part) >= chunk:
            await flush()
    if part:
        await flush()
    return report
