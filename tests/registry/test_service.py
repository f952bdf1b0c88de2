"""Registry import: per-row reports, idempotence, encodings, XLSX and bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.audit import Actor
from otklik.kit.tabular import FileProblem
from otklik.registry.models import LifeSituationService, Organization, ServiceOrganizationType
from otklik.registry.service import import_file
from otklik.registry.validators import inn_with_checksum, ogrn_with_checksum

ACTOR = Actor.system("test")
HEADER = (
    "ogrn,inn,full_name,short_name,type,region,founder,address,participates_from,participates_to"
)


def org_row(n: int, **over: str) -> str:
    values = {
        "ogrn": ogrn_with_checksum(f"1237700{n:05d}"),
        "inn": inn_with_checksum(f"7701{n:05d}"),
        "full_name": f"Поликлиника номер {n}",
        "short_name": f"Поликлиника {n}",
        "type": "med_outpatient",
        "region": "77",
        "founder": "r77-health",
        "address": "г. Москва",
        "participates_from": "2025-06-15",
        "participates_to": "",
    }
    values.update(over)
    return ",".join(values.values())


async def run(session: AsyncSession, path: Path, kind: str = "organizations", **kw: int):  # type: ignore[no-untyped-def]
    return await import_file(
        session,
        kind,
        path,
        max_bytes=kw.get("max_bytes", 2**20),
        batch_size=kw.get("batch_size", 2),
    )


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Organization)) or 0)


async def test_good_rows_kept_bad_rows_reported(session: AsyncSession, tmp_path: Path) -> None:
    rows = [
        org_row(1),
        org_row(2, ogrn="1237700000029"),  # wrong checksum
        org_row(3, inn="123"),
        org_row(4, region="99"),
        org_row(5, founder="nobody"),
        org_row(6, type="spaceport"),
        org_row(7, participates_from="15.06.2025", participates_to="2025-01-01"),
        org_row(1),  # duplicate of the first row
        org_row(8, full_name=""),
        org_row(9, participates_from="завтра"),
        org_row(10),
        org_row(11) + ",extra",
    ]
    path = tmp_path / "orgs.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    report = await run(session, path)
    codes = {(e.row, e.code) for e in report.errors}
    assert codes == {
        (3, "ogrn_checksum"),
        (4, "inn_format"),
        (5, "unknown_region"),
        (6, "unknown_founder"),
        (7, "unknown_type"),
        (8, "bad_period"),
        (9, "duplicate_in_file"),
        (10, "required"),
        (11, "bad_date"),
        (13, "extra_cells"),
    }
    assert (report.inserted, report.rejected, report.rows) == (2, 10, 12)
    assert await count(session) == 2


async def test_reimport_is_idempotent_and_updates(session: AsyncSession, tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"
    path.write_text("\n".join([HEADER, org_row(1), org_row(2), org_row(3)]), encoding="utf-8")
    first = await run(session, path)
    again = await run(session, path)
    assert (first.inserted, again.inserted, again.updated, again.unchanged) == (3, 0, 0, 3)
    path.write_text(
        "\n".join([HEADER, org_row(1, address="г. Москва ул. Новая")]), encoding="utf-8"
    )
    changed = await run(session, path)
    assert (changed.inserted, changed.updated) == (0, 1)
    assert await count(session) == 3


async def test_cp1251_semicolons(session: AsyncSession, tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"
    text = "\n".join([HEADER, org_row(1), org_row(2)]).replace(",", ";")
    path.write_bytes(text.encode("cp1251"))
    report = await run(session, path)
    assert report.inserted == 2
    assert not report.errors
    name = await session.scalar(select(Organization.short_name).order_by(Organization.ogrn))
    assert name == "Поликлиника 1"


async def test_xlsx_with_russian_headers(session: AsyncSession, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["ОГРН", "ИНН", "Полное наименование", "Тип", "Регион", "Учредитель"])
    ws.append(
        [
            int(ogrn_with_checksum("123770000001")),
            inn_with_checksum("770100001"),
            "Школа № 1",
            "edu_general",
            "77",
            "r77-education",
        ]
    )
    ws.append(["123", "", "Плохая строка", "edu_general", "77", "r77-education"])
    path = tmp_path / "orgs.xlsx"
    wb.save(path)
    report = await run(session, path)
    assert report.inserted == 1
    assert {e.code for e in report.errors} == {"ogrn_format", "inn_format"}


@pytest.mark.parametrize(
    ("content", "name", "code"),
    [
        (b"", "empty.csv", "empty_file"),
        (b"ogrn,inn\n1,2\n", "cols.csv", "missing_columns"),
        (b"PK\x03\x04 not really a workbook", "broken.xlsx", "bad_xlsx"),
        (b"\x00\x01\x02\x03binary", "bin.csv", "binary_file"),
        (b"some text", "orgs.pdf", "unsupported_format"),
        (HEADER.encode() + b"\n", "header-only.csv", "empty_file"),
    ],
)
async def test_bad_files_write_nothing(
    session: AsyncSession, tmp_path: Path, content: bytes, name: str, code: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileProblem) as exc:
        await run(session, path)
    assert exc.value.code == code
    assert await count(session) == 0


async def test_oversized_file_is_refused_before_reading(
    session: AsyncSession, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "\n" + (org_row(1) + "\n") * 2000, encoding="utf-8")
    with pytest.raises(FileProblem) as exc:
        await run(session, path, max_bytes=10_000)
    assert exc.value.code == "file_too_large"
    assert "МБ" in exc.value.message


async def test_broken_quote_mid_file_leaves_nothing(session: AsyncSession, tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"
    lines = [HEADER, org_row(1), org_row(2), org_row(3), 'x,"unterminated\x00']
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(FileProblem):
        await run(session, path)
    await session.rollback()  # the caller rolls back: the import is one transaction
    assert await count(session) == 0


async def test_services_and_life_situations(session: AsyncSession, tmp_path: Path) -> None:
    services = tmp_path / "services.csv"
    services.write_text(
        "code,name,sector,organization_types,mszu,online,proactive\n"
        "t.visit,Приём,healthcare,med_outpatient;med_dental,да,нет,нет\n"
        "t.bad,Плохая,space,med_outpatient,да,нет,может быть\n",
        encoding="utf-8",
    )
    report = await run(session, services, "services")
    assert report.inserted == 1
    assert {e.code for e in report.errors} == {"unknown_sector", "bad_flag"}
    links = await session.scalar(
        select(func.count())
        .select_from(ServiceOrganizationType)
        .where(ServiceOrganizationType.service_code == "t.visit")
    )
    assert links == 2
    situations = tmp_path / "ls.csv"
    situations.write_text(
        "code,name,description,services\n"
        "t.sick,Болезнь,,t.visit\n"
        "t.bad,Плохая,,t.visit;t.nothing\n",
        encoding="utf-8",
    )
    report = await run(session, situations, "life_situations")
    assert report.inserted == 1
    assert [e.code for e in report.errors] == ["unknown_service"]
    ordered = await session.scalar(
        select(func.count())
        .select_from(LifeSituationService)
        .where(LifeSituationService.life_situation_code.like("t.%"))
    )
    assert ordered == 1
