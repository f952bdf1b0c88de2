"""A study's report: per task success, time, errors and SEQ with intervals; SUS; re-test."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import NotFound
from otklik.indicators.stats import wilson
from otklik.kit.scope import Scope
from otklik.labs import repository
from otklik.labs.sus import mean_interval


def _r(v: float | None, digits: int = 2) -> float | None:
    return None if v is None or v != v else round(v, digits)


async def task_stats(session: AsyncSession, study_id: int) -> list[dict[str, Any]]:
    by_task: dict[int, list[Any]] = defaultdict(list)
    for r in await repository.results(session, study_id):
        by_task[int(r.position)].append(r)
    out = []
    for t in await repository.tasks(session, study_id):
        rows = by_task.get(t.position, [])
        n = len(rows)
        k = sum(1 for r in rows if r.success)
        ci = wilson(k, n, 0.95)
        sec = mean_interval([float(r.seconds) for r in rows])
        seq = mean_interval([float(r.seq) for r in rows])
        out.append(
            {
                "position": t.position,
                "title": t.title,
                "n": n,
                "success": _r(k / n, 3) if n else None,
                "success_low": _r(ci.low, 3) if ci else None,
                "success_high": _r(ci.high, 3) if ci else None,
                "seconds": _r(sec[0], 1),
                "seconds_low": _r(sec[1], 1),
                "seconds_high": _r(sec[2], 1),
                "errors": _r(sum(r.errors for r in rows) / n) if n else None,
                "seq": _r(seq[0]),
                "seq_low": _r(seq[1]),
                "seq_high": _r(seq[2]),
            }
        )
    return out


async def study_report(session: AsyncSession, scope: Scope, study_id: int) -> dict[str, Any]:
    study = await repository.study(session, scope, study_id)
    if study is None:
        raise NotFound("Исследование не найдено или вне вашей области доступа.")
    scores = await repository.sus_scores(session, study_id)
    mean, low, high = mean_interval(scores)
    report: dict[str, Any] = {
        "id": study.id,
        "title": study.title,
        "subject": study.subject,
        "region_code": study.region_code,
        "retest_of": study.retest_of,
        "participants": len(scores),
        "sus": {
            "mean": _r(mean, 1),
            "ci_low": _r(low, 1),
            "ci_high": _r(high, 1),
            "n": len(scores),
        },
        "tasks": await task_stats(session, study_id),
        "demographics": [
            {"age_band": r[0], "disability": r[1], "digital": r[2], "n": int(r[3])}
            for r in await repository.demographics(session, study_id)
        ],
        "findings": [
            {
                "id": f.id,
                "severity": f.severity,
                "title": f.title,
                "description": f.description,
                "task": pos,
                "change_request_id": f.change_request_id,
            }
            for f, pos in await repository.findings(session, study_id)
        ],
        "before": None,
    }
    if study.retest_of is not None:
        before = await study_report(session, Scope.country(), study.retest_of)
        report["before"] = {
            "id": before["id"],
            "title": before["title"],
            "sus": before["sus"],
            "tasks": before["tasks"],
        }
    return report
