"""Deadline risk: one set-based pass over every active roadmap, and its reasons in words.

A measure's risk is a logistic score of what the platform sees (weights are ours, written
down below, not fitted): progress behind the plan for today, a reported forecast later than
the due date, late dependencies, the owner's slippage on their last five finished measures,
a late progress report, an expired due date. The roadmap's risk is the highest risk on its
critical path (its unfinished measures): the chain of dependencies, walked back from the
measure that finishes last, always through the predecessor that finishes last.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.improvement import repository as improvement_repository

THRESHOLD = 0.5  # a measure rising to this notifies its owner and the analysts
OWNER_HISTORY = 5
MAIL_BATCH = 5000  # rows of the e-mail outbox per statement (bind parameters < 65 535)

MEASURES_SQL = """
WITH m AS (
  SELECT m.id, m.roadmap_id, m.owner_user_id, m.planned_start, m.planned_due, m.progress,
         m.completed_on, m.last_report_at, m.risk AS old_risk,
         coalesce(m.forecast_due, m.planned_due) AS fdue,
         coalesce(m.last_report_at, greatest(r.activated_at, m.planned_start::timestamptz))
           + make_interval(days => r.report_every_days) < :now AS report_late
  FROM roadmap_measures m JOIN roadmaps r ON r.id = m.roadmap_id
  -- a finished measure is computed once more after it finishes, then left alone
  WHERE r.state = 'active'
    AND (m.progress < 100 OR m.risk_factors->>'completed_on' IS NULL)
),
dep AS (
  SELECT d.measure_id, count(*) AS n,
         count(*) FILTER (WHERE p.progress < 100 AND (
           coalesce(p.forecast_due, p.planned_due) > p.planned_due
           OR p.planned_due < :today)) AS late
  FROM roadmap_measure_dependencies d
  JOIN m ON m.id = d.measure_id
  JOIN roadmap_measures p ON p.id = d.depends_on_id
  GROUP BY d.measure_id
),
hist AS (
  SELECT owner_user_id, count(*) AS n, avg(greatest(slip, 0)) AS slip
  FROM (
    SELECT owner_user_id, completed_on - coalesce(baseline_due, planned_due) AS slip,
           row_number() OVER (PARTITION BY owner_user_id
                              ORDER BY completed_on DESC, id DESC) AS rn
    FROM roadmap_measures
    WHERE completed_on IS NOT NULL AND owner_user_id IN (SELECT owner_user_id FROM m)
  ) h
  WHERE rn <= :history
  GROUP BY owner_user_id
),
f AS (
  SELECT m.*, coalesce(dep.n, 0) AS deps, coalesce(dep.late, 0) AS deps_late,
         coalesce(hist.n, 0) AS owner_n, coalesce(hist.slip, 0)::float AS owner_slip,
         CASE WHEN :today >= m.planned_due THEN 1.0
              WHEN :today <= m.planned_start THEN 0.0
              ELSE (:today - m.planned_start)::float / (m.planned_due - m.planned_start)
         END AS planned,
         m.fdue - m.planned_due AS fslip, m.planned_due - :today AS days_left
  FROM m LEFT JOIN dep ON dep.measure_id = m.id LEFT JOIN hist USING (owner_user_id)
),
calc AS (
  SELECT f.*,
    CASE WHEN progress = 100 THEN (CASE WHEN completed_on > planned_due THEN 1.0 ELSE 0.0 END)
    ELSE round((1 / (1 + exp(-(
        -3.0
        + 6.0 * greatest(planned - progress / 100.0, 0)
        + CASE WHEN deps > 0 THEN 2.0 * deps_late / deps ELSE 0 END
        + 0.08 * least(owner_slip, 30)
        + CASE WHEN fslip > 0 THEN 2.5 + 0.05 * least(fslip, 60) ELSE 0 END
        + CASE WHEN report_late THEN 0.8 ELSE 0 END
        + CASE WHEN days_left < 0 THEN 6.0 ELSE 0 END))))::numeric, 3)::float
    END AS risk,
    jsonb_build_object(
        'planned', round(planned::numeric * 100), 'progress', progress,
        'deps', deps, 'deps_late', deps_late,
        'owner_n', owner_n, 'owner_slip', round(owner_slip::numeric),
        'forecast_slip', fslip, 'forecast_due', fdue, 'days_left', days_left,
        'report_late', report_late, 'last_report', last_report_at,
        'completed_on', completed_on) AS factors
  FROM f
),
upd AS (
  UPDATE roadmap_measures t
  SET risk = c.risk, risk_factors = c.factors
  FROM calc c
  WHERE t.id = c.id
    AND (t.risk IS DISTINCT FROM c.risk OR t.risk_factors IS DISTINCT FROM c.factors)
  RETURNING t.id, t.roadmap_id, t.owner_user_id, c.old_risk, c.risk, c.progress
),
rose AS (
  SELECT * FROM upd
  WHERE progress < 100 AND risk >= :threshold AND coalesce(old_risk, 0) < :threshold
),
notify AS (
  INSERT INTO roadmap_risk_alerts (user_id, roadmap_id, measure_id, risk_before, risk_after)
  SELECT owner_user_id, roadmap_id, id, old_risk, risk FROM rose
  UNION
  SELECT u.id, rose.roadmap_id, rose.id, rose.old_risk, rose.risk
  FROM rose JOIN roadmaps r ON r.id = rose.roadmap_id
  JOIN users u ON u.role = 'analyst' AND u.is_active
   AND (u.scope_kind = 'country' OR u.scope_region_code = r.region_code)
  RETURNING user_id, roadmap_id, measure_id, risk_after
),
timeline AS (
  INSERT INTO roadmap_events (roadmap_id, measure_id, actor_label, kind, comment)
  SELECT roadmap_id, id, 'Расчёт риска', 'risk_alert',
         'Риск срыва срока вырос до ' || replace(to_char(risk, 'FM0.00'), '.', ',')
  FROM rose
  RETURNING 1
)
SELECT (SELECT count(*) FROM upd) AS measures, (SELECT count(*) FROM timeline) AS events,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
          'user_id', n.user_id, 'roadmap_id', n.roadmap_id, 'risk', n.risk_after,
          'title', m.title)), '[]'::jsonb)
        FROM notify n JOIN roadmap_measures m ON m.id = n.measure_id) AS alerts
"""

# every active measure with the dependency that finishes last (its "driver" on a path)
PATHS_SQL = """
WITH driver AS (
  SELECT DISTINCT ON (d.measure_id) d.measure_id, p.id AS driver_id
  FROM roadmap_measure_dependencies d
  JOIN roadmap_measures p ON p.id = d.depends_on_id
  JOIN roadmaps r ON r.id = p.roadmap_id AND r.state = 'active'
  ORDER BY d.measure_id, coalesce(p.forecast_due, p.planned_due) DESC, p.id
)
SELECT m.roadmap_id, m.id, m.risk, m.progress, coalesce(m.forecast_due, m.planned_due) AS fdue,
       driver.driver_id
FROM roadmap_measures m JOIN roadmaps r ON r.id = m.roadmap_id AND r.state = 'active'
LEFT JOIN driver ON driver.measure_id = m.id
"""

ROADMAPS_SQL = """
UPDATE roadmaps r
SET risk = x.risk, risk_factors = x.factors, risk_computed_at = :now
FROM unnest(CAST(:ids AS bigint[]), CAST(:risks AS float8[]), CAST(:factors AS jsonb[]))
     AS x(id, risk, factors)
WHERE r.id = x.id
"""


def critical_paths(rows: Sequence[Any]) -> dict[int, tuple[float, dict[str, Any]]]:
    """Per roadmap: walk back from the measure finishing last through each measure's driver;
    the risk is the highest among the path's unfinished measures.

    ``rows``: (roadmap_id, id, risk, progress, forecast due, driver id) tuples; plain tuples
    and local lookups keep 200 000 measures well under a second."""
    by_roadmap: dict[int, dict[int, tuple[Any, ...]]] = {}
    last: dict[int, tuple[Any, ...]] = {}
    for row in rows:
        roadmap_id, measure_id, _, _, fdue, _ = row
        by_roadmap.setdefault(roadmap_id, {})[measure_id] = row
        best = last.get(roadmap_id)
        if best is None or fdue > best[4] or (fdue == best[4] and measure_id < best[1]):
            last[roadmap_id] = row
    out: dict[int, tuple[float, dict[str, Any]]] = {}
    for roadmap_id, index in by_roadmap.items():
        node: tuple[Any, ...] | None = last[roadmap_id]
        path: list[int] = []
        seen: set[int] = set()
        worst, worst_risk = None, -1.0
        while node is not None:
            measure_id, risk, progress, driver = node[1], node[2], node[3], node[5]
            if measure_id in seen:  # a cycle cannot be created; guard anyway
                break
            seen.add(measure_id)
            path.append(measure_id)
            if progress < 100 and (risk or 0.0) > worst_risk:
                worst, worst_risk = measure_id, risk or 0.0
            node = index.get(driver) if driver is not None else None
        path.reverse()
        out[roadmap_id] = (max(worst_risk, 0.0), {"critical_path": path, "worst": worst})
    return out


async def recompute(
    session: AsyncSession, now: datetime, today: date, threshold: float = THRESHOLD
) -> tuple[int, int]:
    """Recompute every active measure and roadmap; returns (measures changed, alerts)."""
    await session.execute(text("SET LOCAL work_mem = '64MB'"))  # sorts and hashes in memory
    row = (
        await session.execute(
            text(MEASURES_SQL),
            {"now": now, "today": today, "threshold": threshold, "history": OWNER_HISTORY},
        )
    ).one()
    paths = critical_paths((await session.execute(text(PATHS_SQL))).all())
    if paths:
        ids = list(paths)
        await session.execute(
            text(ROADMAPS_SQL),
            {
                "now": now,
                "ids": ids,
                "risks": [paths[i][0] for i in ids],
                "factors": [json.dumps(paths[i][1]) for i in ids],
            },
        )
    mails = [_email(a) for a in row.alerts]
    for i in range(0, len(mails), MAIL_BATCH):  # one multi-row INSERT per batch
        await improvement_repository.notify(session, mails[i : i + MAIL_BATCH])
    return int(row.measures), len(row.alerts)


def _email(alert: dict[str, Any]) -> dict[str, Any]:
    """An e-mail through the improvement outbox (sent by its job over SMTP)."""
    share = f"{float(alert['risk']):.2f}".replace(".", ",")
    return {
        "user_id": alert["user_id"],
        "subject": f"Риск срыва срока: {alert['title']}"[:300],
        "text": f"Риск срыва срока мероприятия «{alert['title']}» вырос до {share}. "
        "Причины и график — на странице дорожной карты.",
        "link": f"/roadmaps/{alert['roadmap_id']}",
    }


def _plural(n: int, one: str, few: str, many: str) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def _days(n: int) -> str:
    return f"{n} {_plural(n, 'день', 'дня', 'дней')}"


def _day(value: Any) -> str:
    return date.fromisoformat(str(value)[:10]).strftime("%d.%m.%Y")


def reasons(f: dict[str, Any] | None) -> list[str]:
    """The factors of one measure's risk, in Russian, the strongest first."""
    if not f:
        return []
    out: list[str] = []
    if f.get("completed_on"):
        late = int(f.get("forecast_slip") or 0)
        return [f"выполнено с опозданием на {_days(late)}"] if late > 0 else []
    if int(f["days_left"]) < 0:
        out.append(f"срок истёк {_days(-int(f['days_left']))} назад, выполнено {f['progress']} %")
    if int(f["forecast_slip"]) > 0:
        out.append(
            f"прогноз завершения — {_day(f['forecast_due'])}, на {_days(int(f['forecast_slip']))}"
            " позже срока"
        )
    if int(f["planned"]) - int(f["progress"]) >= 10:
        out.append(f"выполнено {f['progress']} % при плановых {f['planned']} % на сегодня")
    if int(f["deps_late"]) > 0:
        n, late = int(f["deps"]), int(f["deps_late"])
        verb = "опаздывает" if late == 1 else "опаздывают"
        word = _plural(n, "зависимости", "зависимостей", "зависимостей")
        out.append(f"{late} из {n} {word} {verb}")
    if int(f["owner_n"]) > 0 and int(f["owner_slip"]) > 0:
        n = int(f["owner_n"])
        slip = _days(int(f["owner_slip"]))
        if n == 1:
            out.append(f"последнее мероприятие владельца сдвинулось на {slip}")
        else:
            word = _plural(n, "мероприятие", "мероприятия", "мероприятий")
            out.append(f"последние {n} {word} владельца сдвинулись в среднем на {slip}")
    if f.get("report_late"):
        last = f.get("last_report")
        out.append(
            f"отчёт о ходе выполнения просрочен (последний — {_day(last)})"
            if last
            else "отчёт о ходе выполнения просрочен (отчётов ещё не было)"
        )
    return out


def roadmap_reasons(
    factors: dict[str, Any] | None, titles: dict[int, str], risks: dict[int, float | None]
) -> list[str]:
    if not factors:
        return []
    path = [int(i) for i in factors.get("critical_path", [])]
    worst = factors.get("worst")
    n = len(path)
    out = [f"критический путь: {n} {_plural(n, 'мероприятие', 'мероприятия', 'мероприятий')}"]
    if worst is not None and int(worst) in titles:
        risk = risks.get(int(worst)) or 0.0
        share = f"{risk:.2f}".replace(".", ",")
        out.append(f"наибольший риск на нём — «{titles[int(worst)]}» ({share})")
    return out
