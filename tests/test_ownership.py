"""Every table has one owning package, and only its owner writes it.

The domain that owns a table owns every statement that writes it (issue 18): others call the
owner's repository or compose the owner's SQL fragments into their statement. The scan reads
every module under ``src/otklik`` for raw SQL writes (INSERT INTO, UPDATE, DELETE FROM,
TRUNCATE, COPY ... FROM) and SQLAlchemy writes (``insert(Model)``, ``update(Model)``,
``delete(Model)``, ``session.add(Model(...))``) and fails on a write of another package's table.
A fragment is attributed to the module whose text spells it, so a composed statement counts
for the owners of its parts.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

SRC = Path(__file__).resolve().parents[1] / "src" / "otklik"
# Tables without an ORM model, created by their owner's migration.
RAW_TABLES = {
    "exchange_queue": "exchange",
    "indicator_queue": "indicators",
    "partition_horizon": "ops",
    "intake_stream_rejections": "intake",
    "rate_buckets": "kit",
}

SQL_WRITES = (
    re.compile(r"\bINSERT\s+INTO\s+(\w+)"),
    # not "DO UPDATE SET" (an upsert's own table) nor a "FOR [NO KEY] UPDATE" lock
    re.compile(r"(?<!\bDO )(?<!\bFOR )(?<!\bKEY )\bUPDATE\s+(?!SET\b)(\w+)"),
    re.compile(r"\bDELETE\s+FROM\s+(\w+)"),
    re.compile(r"\bTRUNCATE\s+(?:TABLE\s+)?(\w+(?:\s*,\s*\w+)*)"),
    re.compile(r"\bCOPY\s+(\w+)\s*(?:\([^)]*\))?\s*FROM\b"),
)
ORM_WRITES = (
    re.compile(r"\b(?:insert|update|delete)\(\s*(\w+)\s*[,)]"),
    re.compile(r"\.add(?:_all)?\(\s*(\w+)\("),
)
MODEL = re.compile(
    r"^class (\w+)\([^)]*\):\n(?:(?:    .*)?\n)*?    __tablename__ = \"(\w+)\"", re.M
)
TEMP = re.compile(r"CREATE TEMP(?:ORARY)? TABLE (?:IF NOT EXISTS )?(\w+)")
MODEL_IMPORT = re.compile(r"^from otklik\.(\w+)\.models import (?:\(([^)]*)\)|([^\n(]+))", re.M)


def _package(path: Path) -> str:
    parts = path.relative_to(SRC).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def _modules() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in sorted(SRC.rglob("*.py"))}


def owners() -> tuple[dict[str, str], dict[str, str]]:
    """{table: owning package} and {model class: table}."""
    tables, models = dict(RAW_TABLES), {}
    for path, source in _modules().items():
        for cls, table in MODEL.findall(source):
            tables[table] = _package(path)
            models[cls] = table
        for table in TEMP.findall(source):
            tables[table] = _package(path)
    return tables, models


def _line(source: str, at: int) -> int:
    return source.count("\n", 0, at) + 1


def foreign_writes(
    path: Path, source: str, tables: dict[str, str], models: dict[str, str]
) -> list[str]:
    """``file:line: package writes table (owner)`` for each write of another package's table."""
    own = _package(path)
    found: list[tuple[int, str]] = []
    for rx in SQL_WRITES:
        for m in rx.finditer(source):
            for table in re.split(r"\s*,\s*", m.group(1)):
                if table in tables and tables[table] != own:
                    found.append((_line(source, m.start()), table))
    # a model name counts when this module imports it from its package's models
    imported = {
        name.strip(): pkg
        for pkg, wrapped, plain in MODEL_IMPORT.findall(source)
        for name in (wrapped or plain).split(",")
        if name.strip()
    }
    for rx in ORM_WRITES:
        for m in rx.finditer(source):
            cls = m.group(1)
            table = models.get(cls)
            if table and imported.get(cls) == tables[table] and tables[table] != own:
                found.append((_line(source, m.start()), table))
    rel = path.relative_to(SRC.parents[1])
    return [f"{rel}:{line}: {own} writes {table} ({tables[table]})" for line, table in found]


def test_no_package_writes_a_table_it_does_not_own() -> None:
    tables, models = owners()
    violations = [
        v
        for path, source in _modules().items()
        for v in foreign_writes(path, source, tables, models)
    ]
    assert violations == []


def test_the_scan_sees_each_kind_of_foreign_write() -> None:
    """The scan itself can fail: each kind of write of outreach's table from intake is caught
    (the statement intake used to run before outreach's trigger took it over is the first)."""
    tables, models = owners()
    path = SRC / "intake" / "repository.py"
    header = "from otklik.outreach.models import OutreachTask\n"
    for write in (
        "INSERT INTO outreach_tasks (service_record_id, run_after) SELECT id, now() FROM x",
        "UPDATE outreach_tasks SET status = 'planned'",
        "DELETE FROM outreach_tasks WHERE id = 1",
        "TRUNCATE contacts, outreach_tasks",
        "COPY outreach_tasks (service_record_id) FROM STDIN",
        "await session.execute(update(OutreachTask).values(status='x'))",
        "session.add(OutreachTask(service_record_id=1))",
    ):
        assert foreign_writes(path, header + write, tables, models) != [], write
    for harmless in (
        "INSERT INTO contacts (position) VALUES (0) ON CONFLICT DO UPDATE SET position = 1",
        "SELECT id FROM outreach_tasks FOR UPDATE SKIP LOCKED",
        "SELECT id FROM outreach_tasks FOR NO KEY UPDATE",
        "session.add(Contact(position=0))",
    ):
        assert foreign_writes(path, header + harmless, tables, models) == [], harmless


async def test_every_table_has_an_owner(session: AsyncSession) -> None:
    tables, _ = owners()
    # a partition (``responses_p202701``, ``responses_default``) is its parent's
    rows = await session.scalars(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        )
    )
    unowned = sorted(set(rows) - set(tables) - {"alembic_version"})
    assert unowned == []
