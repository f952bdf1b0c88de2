"""Lab rules: studies and re-tests, sessions by form or file (all or nothing), findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import NotFound, ValidationFailed
from otklik.identity.audit import Actor, record_audit
from otklik.kit.scope import Scope
from otklik.kit.tabular import open_table
from otklik.labs import repository
from otklik.labs.models import LabFinding, LabResult, LabSession, LabStudy, LabTask
from otklik.labs.sus import score

AGE_BANDS = ("18-29", "30-44", "45-59", "60-74", "75+")
DIGITAL = {"low": "низкий", "medium": "средний", "high": "высокий"}
YES = {"1", "да", "yes", "true"}
NO = {"0", "нет", "no", "false"}
MAX_TASKS = 20
MAX_ROWS = 500


@dataclass(frozen=True)
class TaskResult:
    success: bool
    seconds: int
    errors: int
    seq: int


@dataclass(frozen=True)
class SessionIn:
    participant: str
    age_band: str
    disability: bool
    digital: str
    sus: list[int]
    results: list[TaskResult]


async def create_study(
    session: AsyncSession,
    actor: Actor,
    *,
    title: str,
    subject: str,
    tasks: Sequence[str],
    region_code: str | None = None,
    retest_of: int | None = None,
) -> LabStudy:
    """A study with its scenario tasks; a re-test repeats the tasks of the original study."""
    title, subject = title.strip(), subject.strip()
    if not 3 <= len(title) <= 300:
        raise ValidationFailed("Название исследования: от 3 до 300 символов.", code="bad_title")
    if not 3 <= len(subject) <= 200:
        raise ValidationFailed("Предмет исследования: от 3 до 200 символов.", code="bad_subject")
    titles = [t.strip() for t in tasks if t.strip()]
    if retest_of is not None:
        original = await repository.study(session, Scope.country(), retest_of)
        if original is None:
            raise NotFound("Исходное исследование для повторного теста не найдено.")
        titles = [t.title for t in await repository.tasks(session, retest_of)]
    if not 1 <= len(titles) <= MAX_TASKS:
        raise ValidationFailed(f"Нужно от 1 до {MAX_TASKS} заданий.", code="bad_tasks")
    study = LabStudy(
        title=title,
        subject=subject,
        region_code=region_code,
        retest_of=retest_of,
        created_by=actor.label,
    )
    session.add(study)
    await session.flush()
    session.add_all(
        LabTask(study_id=study.id, position=i + 1, title=t[:300]) for i, t in enumerate(titles)
    )
    await session.flush()
    await record_audit(
        session,
        actor,
        "lab.study",
        "lab_study",
        str(study.id),
        None,
        {"title": title, "tasks": len(titles), "retest_of": retest_of},
    )
    return study


def _int(raw: str, low: int, high: int, where: str, what: str, errors: list[str]) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        errors.append(f"{where}: {what} — целое число от {low} до {high}, а не «{raw[:20]}».")
        return low
    if not low <= value <= high:
        errors.append(f"{where}: {what} должно быть от {low} до {high}, указано {value}.")
    return value


def parse_row(row: dict[str, str], n_tasks: int, where: str, errors: list[str]) -> SessionIn:
    """One participant's row (the file's or the form's), collecting every problem."""
    participant = row.get("participant", "").strip()
    if not participant or len(participant) > 20 or not participant.isalnum():
        errors.append(f"{where}: код участника — до 20 букв и цифр (например P01), без имён.")
    band = row.get("age_band", "").strip()
    if band not in AGE_BANDS:
        errors.append(f"{where}: возрастная группа одна из {', '.join(AGE_BANDS)}.")
    disability_raw = row.get("disability", "").strip().lower()
    if disability_raw not in YES | NO:
        errors.append(f"{where}: инвалидность — «да» или «нет».")
    digital = row.get("digital", "").strip().lower()
    if digital not in DIGITAL:
        errors.append(f"{where}: цифровой опыт — low, medium или high.")
    sus = [
        _int(row.get(f"sus{i}", ""), 1, 5, where, f"ответ SUS sus{i}", errors) for i in range(1, 11)
    ]
    results = []
    for k in range(1, n_tasks + 1):
        ok = row.get(f"t{k}_success", "").strip().lower()
        if ok not in YES | NO:
            errors.append(f"{where}: t{k}_success — «да» или «нет».")
        results.append(
            TaskResult(
                success=ok in YES,
                seconds=_int(
                    row.get(f"t{k}_seconds", ""), 1, 36_000, where, f"t{k}_seconds", errors
                ),
                errors=_int(row.get(f"t{k}_errors", ""), 0, 1000, where, f"t{k}_errors", errors),
                seq=_int(row.get(f"t{k}_seq", ""), 1, 7, where, f"t{k}_seq (оценка SEQ)", errors),
            )
        )
    return SessionIn(participant, band, disability_raw in YES, digital, sus, results)


def columns(n_tasks: int) -> list[str]:
    head = ["participant", "age_band", "disability", "digital"]
    head += [f"sus{i}" for i in range(1, 11)]
    for k in range(1, n_tasks + 1):
        head += [f"t{k}_success", f"t{k}_seconds", f"t{k}_errors", f"t{k}_seq"]
    return head


async def add_sessions(
    session: AsyncSession, scope: Scope, actor: Actor, study_id: int, rows: Sequence[SessionIn]
) -> int:
    """Store sessions; a participant code already in the study refuses the whole batch."""
    study = await repository.study(session, scope, study_id)
    if study is None:
        raise NotFound("Исследование не найдено или вне вашей области доступа.")
    tasks = await repository.tasks(session, study_id)
    codes = [r.participant for r in rows]
    existing = await repository.participants(session, study_id)
    dupes = sorted({c for c in codes if codes.count(c) > 1} | (set(codes) & existing))
    if dupes:
        raise ValidationFailed(
            "Участники уже записаны в исследовании или повторяются: " + ", ".join(dupes[:20]) + ".",
            code="duplicate_session",
        )
    for r in rows:
        s = LabSession(
            study_id=study_id,
            participant=r.participant,
            age_band=r.age_band,
            disability=r.disability,
            digital=r.digital,
            sus=r.sus,
            sus_score=score(r.sus),
        )
        session.add(s)
        await session.flush()
        session.add_all(
            LabResult(
                session_id=s.id,
                task_id=t.id,
                success=x.success,
                seconds=x.seconds,
                errors=x.errors,
                seq=x.seq,
            )
            for t, x in zip(tasks, r.results, strict=True)
        )
    await session.flush()
    await record_audit(
        session, actor, "lab.sessions", "lab_study", str(study_id), None, {"added": len(rows)}
    )
    return len(rows)


async def import_file(
    session: AsyncSession, scope: Scope, actor: Actor, study_id: int, path: Path, max_bytes: int
) -> int:
    """CSV or XLSX, one row per participant; any problem refuses the file, nothing is written."""
    tasks = await repository.tasks(session, study_id)
    if not tasks:
        raise NotFound("Исследование не найдено или вне вашей области доступа.")
    table = open_table(path, required=set(columns(len(tasks))), aliases={}, max_bytes=max_bytes)
    errors: list[str] = []
    parsed: list[SessionIn] = []
    for line, row in table.rows:
        if len(parsed) >= MAX_ROWS:
            errors.append(f"В файле больше {MAX_ROWS} участников: разделите его.")
            break
        parsed.append(parse_row(row, len(tasks), f"Строка {line}", errors))
    if not parsed and not errors:
        errors.append("В файле нет ни одного участника.")
    if errors:
        raise ValidationFailed(
            "Файл не загружен: " + " ".join(errors[:20]) + (" …" if len(errors) > 20 else ""),
            code="bad_lab_file",
            errors=errors[:100],
        )
    return await add_sessions(session, scope, actor, study_id, parsed)


async def add_finding(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    study_id: int,
    *,
    task_position: int | None,
    severity: int,
    title: str,
    description: str = "",
) -> LabFinding:
    study = await repository.study(session, scope, study_id)
    if study is None:
        raise NotFound("Исследование не найдено или вне вашей области доступа.")
    if severity not in (1, 2, 3, 4):
        raise ValidationFailed("Серьёзность находки — число от 1 до 4.", code="bad_severity")
    if not 3 <= len(title.strip()) <= 300:
        raise ValidationFailed("Находка: заголовок от 3 до 300 символов.", code="bad_title")
    task_id = None
    if task_position is not None:
        by_pos = {t.position: t.id for t in await repository.tasks(session, study_id)}
        if task_position not in by_pos:
            raise ValidationFailed(
                f"В исследовании нет задания № {task_position}.", code="bad_task"
            )
        task_id = by_pos[task_position]
    finding = LabFinding(
        study_id=study_id,
        task_id=task_id,
        severity=severity,
        title=title.strip(),
        description=description.strip()[:4000],
    )
    session.add(finding)
    await session.flush()
    await record_audit(
        session, actor, "lab.finding", "lab_finding", str(finding.id), None, {"severity": severity}
    )
    return finding
