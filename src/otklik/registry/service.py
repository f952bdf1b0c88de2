"""Importing organizations, services and life situations from CSV / XLSX.

One transaction per import; each batch runs in its own savepoint, so a failure (or a crash)
leaves nothing half-written, while rows rejected by validation never stop the good ones.
Re-importing the same file changes nothing (upserts by OGRN / code).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import delete, literal_column, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.kit.tabular import EXTRA_CELLS, FileProblem, open_table
from otklik.registry import repository
from otklik.registry.models import (
    LifeSituation,
    LifeSituationService,
    Sector,
    Service,
    ServiceOrganizationType,
)
from otklik.registry.validators import inn_is_valid, ogrn_is_valid

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,99}$")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
TRUE = {"да", "yes", "true", "1", "y", "д", "+"}
FALSE = {"нет", "no", "false", "0", "n", "н", "-", ""}
ProgressFn = Callable[[int], None]


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    code: str
    message: str


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({e.row for e in self.errors})

    def summary(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }


class RowInvalid(Exception):
    def __init__(self, errors: list[tuple[str, str, str]]):
        self.errors = errors


def _parse_date(value: str) -> date | None:
    """ISO (ГГГГ-ММ-ДД) or Russian (ДД.ММ.ГГГГ) dates; a time part is ignored."""
    if not value:
        return None
    text_ = value[:10]
    if len(text_) == 10 and text_[2] == "." and text_[5] == ".":
        text_ = f"{text_[6:]}-{text_[3:5]}-{text_[:2]}"
    return date.fromisoformat(text_)


def _parse_flag(value: str) -> bool:
    v = value.strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    raise ValueError(value)


def _split_codes(value: str) -> list[str]:
    return [c.strip() for c in re.split(r"[;,|\s]+", value) if c.strip()]


class Errors:
    """Collects the problems of one row."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str]] = []

    def add(self, field_: str, code: str, message: str) -> None:
        self.items.append((field_, code, message))

    def text(self, row: dict[str, str], name: str, *, required: bool, limit: int) -> str:
        value = row.get(name, "")
        if CONTROL_RE.search(value):
            self.add(name, "control_chars", "Поле содержит управляющие символы.")
        elif required and not value:
            self.add(name, "required", "Поле обязательно.")
        elif len(value) > limit:
            self.add(name, "too_long", f"Поле длиннее {limit} символов.")
        return value

    def raise_if_any(self) -> None:
        if self.items:
            raise RowInvalid(self.items)


class Importer:
    kind = ""
    required: frozenset[str] = frozenset()
    aliases: dict[str, str] = {}  # noqa: RUF012 - class-level constant tables
    key = ""

    def __init__(self, lookups: dict[str, dict[str, Any]]):
        self.lookups = lookups

    def validate(self, row: dict[str, str]) -> dict[str, Any]:
        raise NotImplementedError

    async def write(self, session: AsyncSession, records: list[dict[str, Any]]) -> tuple[int, int]:
        """Upsert ``records``; return (inserted, updated)."""
        raise NotImplementedError


class OrganizationImporter(Importer):
    kind = "organizations"
    required = frozenset({"ogrn", "inn", "full_name", "type", "region", "founder"})
    aliases = {  # noqa: RUF012
        "огрн": "ogrn",
        "инн": "inn",
        "полное наименование": "full_name",
        "краткое наименование": "short_name",
        "тип": "type",
        "субъект рф": "region",
        "регион": "region",
        "учредитель": "founder",
        "адрес": "address",
        "участвует с": "participates_from",
        "участвует по": "participates_to",
    }
    key = "ogrn"
    columns = (
        "ogrn",
        "inn",
        "full_name",
        "short_name",
        "type_code",
        "region_code",
        "founder_id",
        "address",
        "participates_from",
        "participates_to",
    )

    def validate(self, row: dict[str, str]) -> dict[str, Any]:
        e = Errors()
        ogrn, inn = row.get("ogrn", ""), row.get("inn", "")
        if not ogrn:
            e.add("ogrn", "required", "Поле обязательно.")
        elif not (len(ogrn) == 13 and ogrn.isascii() and ogrn.isdigit()):
            e.add("ogrn", "ogrn_format", "ОГРН должен состоять из 13 цифр.")
        elif not ogrn_is_valid(ogrn):
            e.add("ogrn", "ogrn_checksum", "Неверная контрольная цифра ОГРН.")
        if not (len(inn) == 10 and inn.isascii() and inn.isdigit()):
            e.add("inn", "inn_format", "ИНН организации должен состоять из 10 цифр.")
        elif not inn_is_valid(inn):
            e.add("inn", "inn_checksum", "Неверная контрольная цифра ИНН.")
        full_name = e.text(row, "full_name", required=True, limit=2000)
        short_name = e.text(row, "short_name", required=False, limit=500) or full_name[:500]
        address = e.text(row, "address", required=False, limit=1000)
        type_code, region, founder = (
            row.get("type", ""),
            row.get("region", ""),
            row.get("founder", ""),
        )
        region = region.zfill(2) if region.isdigit() else region
        if type_code not in self.lookups["types"]:
            e.add("type", "unknown_type", "Неизвестный тип организации.")
        if region not in self.lookups["regions"]:
            e.add("region", "unknown_region", "Неизвестный код субъекта РФ.")
        founder_id = self.lookups["founders"].get(founder)
        if founder_id is None:
            e.add("founder", "unknown_founder", "Неизвестный учредитель.")
        dates: dict[str, date | None] = {}
        for name in ("participates_from", "participates_to"):
            try:
                dates[name] = _parse_date(row.get(name, ""))
            except ValueError:
                e.add(name, "bad_date", "Дата должна быть в виде ГГГГ-ММ-ДД или ДД.ММ.ГГГГ.")
        start, end = dates.get("participates_from"), dates.get("participates_to")
        if start and end and end < start:
            e.add("participates_to", "bad_period", "Дата окончания участия раньше даты начала.")
        e.raise_if_any()
        return {
            "ogrn": ogrn,
            "inn": inn,
            "full_name": full_name,
            "short_name": short_name,
            "type_code": type_code,
            "region_code": region,
            "founder_id": founder_id,
            "address": address,
            "participates_from": start,
            "participates_to": end,
        }

    async def write(self, session: AsyncSession, records: list[dict[str, Any]]) -> tuple[int, int]:
        conn = await session.connection()
        await conn.execute(
            text(
                "CREATE TEMP TABLE IF NOT EXISTS stage_organizations "
                "(LIKE organizations INCLUDING DEFAULTS) ON COMMIT DROP"
            )
        )
        await conn.execute(text("TRUNCATE stage_organizations"))
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None  # noqa: S101 - an open connection always has one
        cols = ", ".join(self.columns)
        async with (
            raw.cursor() as cur,
            cur.copy(f"COPY stage_organizations ({cols}) FROM STDIN") as copy,
        ):
            for r in records:
                await copy.write_row([r[c] for c in self.columns])
        updates = ", ".join(f"{c} = excluded.{c}" for c in self.columns[1:])
        changed = " OR ".join(
            f"organizations.{c} IS DISTINCT FROM excluded.{c}" for c in self.columns[1:]
        )
        result = await conn.execute(
            text(
                f"INSERT INTO organizations ({cols}) SELECT {cols} FROM stage_organizations "  # noqa: S608 - fixed column names
                f"ON CONFLICT (ogrn) DO UPDATE SET {updates}, updated_at = now() WHERE {changed} "
                "RETURNING (xmax = 0) AS inserted"
            )
        )
        flags = [bool(r[0]) for r in result]
        return sum(flags), len(flags) - sum(flags)


class ServiceImporter(Importer):
    kind = "services"
    required = frozenset({"code", "name", "sector", "organization_types"})
    aliases = {  # noqa: RUF012
        "код": "code",
        "наименование": "name",
        "сфера": "sector",
        "типы организаций": "organization_types",
        "мсзу": "mszu",
        "онлайн": "online",
        "проактивно": "proactive",
    }
    key = "code"

    def validate(self, row: dict[str, str]) -> dict[str, Any]:
        e = Errors()
        code = row.get("code", "")
        if not CODE_RE.match(code):
            e.add(
                "code",
                "bad_code",
                "Код: латинские строчные буквы, цифры, точка, дефис, подчёркивание.",
            )
        name = e.text(row, "name", required=True, limit=500)
        sector = row.get("sector", "")
        if sector not in Sector.__members__:
            e.add("sector", "unknown_sector", "Сфера: healthcare, education, sport или social.")
        types = _split_codes(row.get("organization_types", ""))
        if not types:
            e.add("organization_types", "required", "Укажите хотя бы один тип организации.")
        unknown = [t for t in types if t not in self.lookups["types"]]
        if unknown:
            e.add(
                "organization_types", "unknown_type", "Неизвестные типы: " + ", ".join(unknown[:5])
            )
        flags = {}
        for name_ in ("mszu", "online", "proactive"):
            try:
                flags[name_] = _parse_flag(row.get(name_, ""))
            except ValueError:
                e.add(name_, "bad_flag", "Ожидается «да» или «нет».")
        e.raise_if_any()
        return {
            "code": code,
            "name": name,
            "sector": sector,
            "is_mszu": flags["mszu"],
            "online": flags["online"],
            "proactive": flags["proactive"],
            "types": list(dict.fromkeys(types)),
        }

    async def write(self, session: AsyncSession, records: list[dict[str, Any]]) -> tuple[int, int]:
        rows = [{k: v for k, v in r.items() if k != "types"} for r in records]
        base = insert(Service).values(rows)
        cols = ("name", "sector", "is_mszu", "online", "proactive")
        stmt: Any = base.on_conflict_do_update(
            index_elements=["code"],
            set_={c: base.excluded[c] for c in cols},
            where=tuple_(*(getattr(Service, c) for c in cols)).is_distinct_from(
                tuple_(*(base.excluded[c] for c in cols))
            ),
        ).returning(literal_column("(xmax = 0)"))
        flags = [bool(r[0]) for r in await session.execute(stmt)]
        codes = [r["code"] for r in records]
        links = [{"service_code": r["code"], "type_code": t} for r in records for t in r["types"]]
        # Only the links that changed are written: a re-import leaves identical rows untouched.
        await session.execute(
            delete(ServiceOrganizationType).where(
                ServiceOrganizationType.service_code.in_(codes),
                tuple_(
                    ServiceOrganizationType.service_code, ServiceOrganizationType.type_code
                ).not_in([(x["service_code"], x["type_code"]) for x in links]),
            )
        )
        await session.execute(
            insert(ServiceOrganizationType).values(links).on_conflict_do_nothing()
        )
        return sum(flags), len(flags) - sum(flags)


class LifeSituationImporter(Importer):
    kind = "life_situations"
    required = frozenset({"code", "name", "services"})
    aliases = {  # noqa: RUF012
        "код": "code",
        "наименование": "name",
        "описание": "description",
        "услуги": "services",
    }
    key = "code"

    def validate(self, row: dict[str, str]) -> dict[str, Any]:
        e = Errors()
        code = row.get("code", "")
        if not CODE_RE.match(code):
            e.add(
                "code",
                "bad_code",
                "Код: латинские строчные буквы, цифры, точка, дефис, подчёркивание.",
            )
        name = e.text(row, "name", required=True, limit=500)
        description = e.text(row, "description", required=False, limit=4000)
        services = _split_codes(row.get("services", ""))
        if not services:
            e.add("services", "required", "Укажите хотя бы одну услугу.")
        unknown = [s for s in services if s not in self.lookups["services"]]
        if unknown:
            e.add("services", "unknown_service", "Неизвестные услуги: " + ", ".join(unknown[:5]))
        if len(set(services)) != len(services):
            e.add("services", "duplicate_service", "Услуга указана дважды.")
        e.raise_if_any()
        return {"code": code, "name": name, "description": description, "services": services}

    async def write(self, session: AsyncSession, records: list[dict[str, Any]]) -> tuple[int, int]:
        rows = [{k: v for k, v in r.items() if k != "services"} for r in records]
        base = insert(LifeSituation).values(rows)
        stmt: Any = base.on_conflict_do_update(
            index_elements=["code"],
            set_={"name": base.excluded.name, "description": base.excluded.description},
            where=tuple_(LifeSituation.name, LifeSituation.description).is_distinct_from(
                tuple_(base.excluded.name, base.excluded.description)
            ),
        ).returning(literal_column("(xmax = 0)"))
        flags = [bool(r[0]) for r in await session.execute(stmt)]
        codes = [r["code"] for r in records]
        links = [
            {"life_situation_code": r["code"], "position": i, "service_code": s}
            for r in records
            for i, s in enumerate(r["services"], start=1)
        ]
        # Only the links that changed are written: a re-import leaves identical rows untouched.
        await session.execute(
            delete(LifeSituationService).where(
                LifeSituationService.life_situation_code.in_(codes),
                tuple_(
                    LifeSituationService.life_situation_code, LifeSituationService.position
                ).not_in([(x["life_situation_code"], x["position"]) for x in links]),
            )
        )
        upsert = insert(LifeSituationService).values(links)
        await session.execute(
            upsert.on_conflict_do_update(
                index_elements=["life_situation_code", "position"],
                set_={"service_code": upsert.excluded.service_code},
                where=LifeSituationService.service_code != upsert.excluded.service_code,
            )
        )
        return sum(flags), len(flags) - sum(flags)


IMPORTERS: dict[str, type[Importer]] = {
    i.kind: i for i in (OrganizationImporter, ServiceImporter, LifeSituationImporter)
}


async def _write_batch(
    session: AsyncSession,
    importer: Importer,
    batch: list[tuple[int, dict[str, Any]]],
    report: ImportReport,
) -> None:
    """Write a batch in a savepoint; if the database refuses it, retry row by row."""
    try:
        async with session.begin_nested():
            ins, upd = await importer.write(session, [r for _, r in batch])
    except DBAPIError:
        if len(batch) == 1:
            report.errors.append(
                RowError(
                    batch[0][0],
                    "",
                    "db_rejected",
                    "Строку отклонила база данных (нарушено ограничение).",
                )
            )
            return
        for item in batch:
            await _write_batch(session, importer, [item], report)
        return
    report.inserted += ins
    report.updated += upd
    report.unchanged += len(batch) - ins - upd


async def import_file(
    session: AsyncSession,
    kind: str,
    path: Path,
    *,
    max_bytes: int,
    batch_size: int = 2000,
    on_start: Callable[[int | None], None] | None = None,
    progress: ProgressFn | None = None,
) -> ImportReport:
    """Validate and upsert every row of ``path``; the caller commits (or rolls back).

    The caller records the import in the audit log (identity's, a domain above this one).
    """
    if kind not in IMPORTERS:
        raise FileProblem(
            f"Неизвестный вид данных «{kind}»: ожидается {', '.join(IMPORTERS)}.",
            code="unknown_kind",
        )
    cls = IMPORTERS[kind]
    table = open_table(path, required=set(cls.required), aliases=cls.aliases, max_bytes=max_bytes)
    if on_start:
        on_start(table.total)
    importer = cls(await repository.lookup_codes(session))
    report = ImportReport(kind)
    seen: set[str] = set()
    batch: list[tuple[int, dict[str, Any]]] = []
    for line, row in table.rows:
        report.rows += 1
        try:
            if EXTRA_CELLS in row:
                raise RowInvalid([("", "extra_cells", "В строке больше ячеек, чем столбцов.")])
            record = importer.validate(row)
            if record[importer.key] in seen:
                raise RowInvalid(
                    [
                        (
                            importer.key,
                            "duplicate_in_file",
                            "Такая запись уже встречалась в файле выше.",
                        )
                    ]
                )
        except RowInvalid as exc:
            report.errors.extend(RowError(line, f, c, m) for f, c, m in exc.errors)
        else:
            seen.add(record[importer.key])
            batch.append((line, record))
        if len(batch) >= batch_size:
            await _write_batch(session, importer, batch, report)
            batch = []
        if progress:
            progress(1)
    if batch:
        await _write_batch(session, importer, batch, report)
    if report.rows == 0:
        raise FileProblem("В файле нет строк с данными.", code="empty_file")
    return report


async def seed_catalogue(session: AsyncSession) -> list[ImportReport]:
    """Import the packaged list of services and life situations (idempotent)."""
    data = resources.files("otklik.registry").joinpath("data")
    reports = []
    for kind, name in (("services", "services.csv"), ("life_situations", "life_situations.csv")):
        with resources.as_file(data.joinpath(name)) as path:
            reports.append(await import_file(session, kind, path, max_bytes=10 * 2**20))
    return reports
