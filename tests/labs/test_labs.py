"""Lab studies: SUS scoring, file upload (all or nothing), duplicates, report and re-test."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import ValidationFailed
from otklik.identity.audit import Actor
from otklik.kit.scope import Scope
from otklik.kit.tabular import FileProblem
from otklik.labs import report, service
from otklik.labs.models import LabSession
from otklik.labs.sus import score

ACTOR = Actor.system("test")
SCOPE = Scope.country()


def test_sus_standard_scoring() -> None:
    # Brooke's formula by hand: odd items (x - 1), even items (5 - x), sum x 2.5
    assert score([3] * 10) == 50.0
    assert score([5, 1] * 5) == 100.0
    assert score([1, 5] * 5) == 0.0
    # odd: 3+3+4+3+3 = 16, even: 4+3+4+3+3 = 17 -> 33 x 2.5
    assert score([4, 1, 4, 2, 5, 1, 4, 2, 4, 2]) == 82.5
    with pytest.raises(ValueError, match="SUS"):
        score([6] + [3] * 9)


def _row(code: str, sus: list[int], ok: list[str], seconds: list[int]) -> dict[str, str]:
    row = {"participant": code, "age_band": "30-44", "disability": "нет", "digital": "high"}
    row |= {f"sus{i + 1}": str(v) for i, v in enumerate(sus)}
    for k, (s, sec) in enumerate(zip(ok, seconds, strict=True), start=1):
        row |= {
            f"t{k}_success": s,
            f"t{k}_seconds": str(sec),
            f"t{k}_errors": "1",
            f"t{k}_seq": "5",
        }
    return row


def _write(path: Path, rows: list[dict[str, str]], header: list[str] | None = None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header or list(rows[0]), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


async def test_upload_report_and_retest(session: AsyncSession, tmp_path: Path) -> None:
    study = await service.create_study(
        session,
        ACTOR,
        title="Запись к врачу",
        subject="service:health.outpatient_visit",
        tasks=["Найти врача", "Записаться"],
    )
    rows = [
        _row("P01", [4, 1, 4, 2, 5, 1, 4, 2, 4, 2], ["да", "нет"], [60, 200]),
        _row("P02", [3] * 10, ["да", "да"], [80, 150]),
        _row("P03", [5, 1] * 5, ["нет", "нет"], [100, 250]),
    ]
    added = await service.import_file(
        session, SCOPE, ACTOR, study.id, _write(tmp_path / "a.csv", rows), 1 << 20
    )
    assert added == 3
    got = await report.study_report(session, SCOPE, study.id)
    assert got["sus"]["mean"] == pytest.approx((82.5 + 50 + 100) / 3, abs=0.05)
    assert got["sus"]["ci_low"] < got["sus"]["mean"] < got["sus"]["ci_high"]
    first = got["tasks"][0]
    assert first["n"] == 3
    assert first["success"] == pytest.approx(2 / 3, abs=1e-3)
    assert first["seconds"] == 80.0
    retest = await service.create_study(
        session,
        ACTOR,
        title="Запись к врачу — после выпуска",
        subject="service:x",
        tasks=[],
        retest_of=study.id,
    )
    await service.import_file(
        session,
        SCOPE,
        ACTOR,
        retest.id,
        _write(tmp_path / "b.csv", [_row("P01", [5, 1] * 5, ["да", "да"], [40, 90])]),
        1 << 20,
    )
    after = await report.study_report(session, SCOPE, retest.id)
    assert [t["title"] for t in after["tasks"]] == ["Найти врача", "Записаться"]
    assert after["before"]["tasks"][1]["success"] == pytest.approx(1 / 3, abs=1e-3)
    assert after["tasks"][1]["success"] == 1.0


async def test_bad_files_write_nothing(session: AsyncSession, tmp_path: Path) -> None:
    study = await service.create_study(
        session, ACTOR, title="Портал", subject="service:x", tasks=["Войти"]
    )
    good = _row("P01", [3] * 10, ["да"], [30])
    # wrong columns
    with pytest.raises(FileProblem) as wrong:
        await service.import_file(
            session,
            SCOPE,
            ACTOR,
            study.id,
            _write(tmp_path / "w.csv", [good], header=["participant", "age"]),
            1 << 20,
        )
    assert wrong.value.code == "missing_columns"
    assert "sus1" in wrong.value.message
    # out-of-range SUS answer: the whole file is refused with the line and column
    bad = _row("P02", [3] * 9 + [6], ["да"], [30])
    with pytest.raises(ValidationFailed) as out_of_range:
        await service.import_file(
            session, SCOPE, ACTOR, study.id, _write(tmp_path / "r.csv", [good, bad]), 1 << 20
        )
    assert (
        "Строка 3: ответ SUS sus10 должно быть от 1 до 5, указано 6." in out_of_range.value.message
    )
    assert await session.scalar(select(func.count()).select_from(LabSession)) == 0
    # duplicate sessions, within the file and against the study
    with pytest.raises(ValidationFailed) as dup:
        await service.import_file(
            session, SCOPE, ACTOR, study.id, _write(tmp_path / "d.csv", [good, good]), 1 << 20
        )
    assert dup.value.code == "duplicate_session"
    assert "P01" in dup.value.message
    await service.import_file(
        session, SCOPE, ACTOR, study.id, _write(tmp_path / "g.csv", [good]), 1 << 20
    )
    with pytest.raises(ValidationFailed):
        await service.import_file(
            session, SCOPE, ACTOR, study.id, _write(tmp_path / "g2.csv", [good]), 1 << 20
        )
    assert await session.scalar(select(func.count()).select_from(LabSession)) == 1
