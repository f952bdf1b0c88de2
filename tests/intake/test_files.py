"""Files go through the same checks as the API: CSV, XLSX and NDJSON."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.intake.formats import read_records
from otklik.intake.models import ServiceRecord
from otklik.intake.service import ingest_file
from otklik.kit.pii import PiiVault
from otklik.kit.tabular import FileProblem
from tests.factories import create_organization, create_source, service_record, snils

HEADER = [
    "record_id",
    "organization_ogrn",
    "service_code",
    "served_at",
    "recipient_snils",
    "recipient_birth_date",
    "recipient_portal_account_confirmed",
    "representative_snils",
    "representative_relation",
]
VAULT = PiiVault("p" * 40)


def rows(ogrn: str, served_at: str) -> list[list[str]]:
    return [
        ["F-1", ogrn, "health.outpatient_visit", served_at, snils(), "1980-05-01", "да", "", ""],
        [
            "F-2",
            ogrn,
            "health.outpatient_visit",
            served_at,
            snils(),
            "2016-05-01",
            "1",
            snils(),
            "parent",
        ],
        ["F-3", ogrn, "health.outpatient_visit", served_at, "123", "1980-05-01", "нет", "", ""],
        ["F-4", ogrn, "health.outpatient_visit", served_at, snils(), "2016-05-01", "maybe", "", ""],
    ]


async def _ingest(session: AsyncSession, path: Path) -> tuple[int, list[tuple[int, str, str]]]:
    source, _ = await create_source(session)
    records, _ = read_records(path, 10 * 2**20)
    report = await ingest_file(session, source.id, records, vault=VAULT, retention_days=45)
    return report.accepted, [(line, field, code) for line, _, field, code, _ in report.errors]


@pytest.mark.parametrize("encoding", ["utf-8", "cp1251"])
async def test_csv_rows_are_checked_like_api_records(
    session: AsyncSession, tmp_path: Path, encoding: str
) -> None:
    org = await create_organization(session)
    served = service_record(org.ogrn)["served_at"]
    path = tmp_path / "records.csv"
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(HEADER)
        w.writerows(rows(org.ogrn, served))
    accepted, errors = await _ingest(session, path)
    assert accepted == 2
    assert (4, "recipient.snils", "invalid_snils") in errors
    assert (5, "recipient.portal_account_confirmed", "invalid_type") in errors
    assert (5, "representatives", "representative_required") in errors


async def test_xlsx_and_ndjson(session: AsyncSession, tmp_path: Path) -> None:
    org = await create_organization(session)
    served = service_record(org.ogrn)["served_at"]
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    for r in rows(org.ogrn, served):
        ws.append(r)
    xlsx = tmp_path / "records.xlsx"
    wb.save(xlsx)
    accepted, errors = await _ingest(session, xlsx)
    assert accepted == 2
    assert len({line for line, _, _ in errors}) == 2

    ndjson = tmp_path / "records.ndjson"
    good = [service_record(org.ogrn) for _ in range(3)]
    ndjson.write_bytes(b"\n".join(orjson.dumps(r) for r in good) + b'\n{"record_id": \n')
    accepted, errors = await _ingest(session, ndjson)
    assert accepted == 3
    assert errors == [(4, "", "invalid_line")]
    assert await session.scalar(select(func.count()).select_from(ServiceRecord)) == 5


async def test_importing_the_same_file_twice_gives_duplicates(
    session: AsyncSession, tmp_path: Path
) -> None:
    org = await create_organization(session)
    source, _ = await create_source(session)
    path = tmp_path / "records.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(service_record(org.ogrn)) for _ in range(25)))
    reports = []
    for _ in range(2):
        records, _ = read_records(path, 2**20)
        reports.append(
            await ingest_file(session, source.id, records, vault=VAULT, retention_days=45, chunk=10)
        )
    assert (reports[0].accepted, reports[0].duplicates) == (25, 0)
    assert (reports[1].accepted, reports[1].duplicates) == (0, 25)


def test_unknown_columns_refuse_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_text(",".join([*HEADER, "recipient_full_name"]) + "\n", encoding="utf-8")
    with pytest.raises(FileProblem) as exc:
        read_records(path, 2**20)
    assert exc.value.code == "unknown_column"
    assert "recipient_full_name" in exc.value.message
