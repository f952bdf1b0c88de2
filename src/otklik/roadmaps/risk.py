"""Deadline risk: one set-based pass over every active roadmap, and its reasons in words.

A measure's risk is a logistic score of what the platform sees (weights are ours, written
down below, not fitted): progress behind the plan for today, a reported forecast later than
the due date, late dependencies, the owner's slippage on their last five finished measures,
a late progress report, an expired due date. The roadmap's risk is the larger of two:

- the highest risk on its critical path (its unfinished measures): the chain of dependencies,
  walked back from the measure that finishes last, always through the predecessor that
  finishes last (the end date is at risk);
- the weighted mean risk of its unfinished measures, ``sum(weight * risk) / sum(weight)``: the
  expected share of the remaining work, by the measures' weights, that will be late (a heavy
  measure off the critical path that is late weighs on the roadmap too).

Both are computed for every roadmap in one statement (``ROADMAPS_SQL``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.improvement.repository import OUTBOX_INSERT
from otklik.kit.fmt import NBSP

THRESHOLD = 0.5  # a measure rising to this notifies its owner and the analysts
OWNER_HISTORY = 5

_MEASURES_SQL = """
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
),
-- the e-mails through the improvement outbox (sent over SMTP by its job), in this statement
mail AS (
  {outbox_insert}
  SELECT n.user_id, left('Риск срыва срока: ' || m.title, 300),
         'Риск срыва срока мероприятия «' || m.title || '» вырос до '
           || replace(to_char(n.risk_after, 'FM0.00'), '.', ',')
           || '. Причины и график — на странице дорожной карты.',
         '/roadmaps/' || n.roadmap_id
  FROM notify n JOIN roadmap_measures m ON m.id = n.measure_id
  RETURNING 1
)
SELECT (SELECT count(*) FROM upd) AS measures, (SELECT count(*) FROM timeline) AS events,
       (SELECT count(*) FROM mail) AS alerts
"""
# the outbox's INSERT comes from improvement (its table); constant text, no input in it
MEASURES_SQL = _MEASURES_SQL.format(outbox_insert=OUTBOX_INSERT)

# Every active roadmap's risk in one statement: each measure's "driver" (the dependency that
# finishes last), the critical path walked back from the measure that finishes last through
# the drivers (a recursive CTE), the path's worst unfinished measure, the weighted share of the
# remaining work at risk, and the UPDATE. ``critical_paths`` below is the same walk in Python,
# kept as the reference the tests compare this statement with.
ROADMAPS_SQL = """
WITH RECURSIVE ms AS MATERIALIZED (
  SELECT m.roadmap_id, m.id, coalesce(m.risk, 0) AS risk, m.progress, m.weight,
         coalesce(m.forecast_due, m.planned_due) AS fdue
  FROM roadmap_measures m JOIN roadmaps r ON r.id = m.roadmap_id AND r.state = 'active'
),
driver AS MATERIALIZED (
  SELECT DISTINCT ON (d.measure_id) d.measure_id, p.id AS driver_id
  FROM roadmap_measure_dependencies d JOIN ms p ON p.id = d.depends_on_id
  ORDER BY d.measure_id, p.fdue DESC, p.id
),
last AS (
  SELECT DISTINCT ON (roadmap_id) roadmap_id, id FROM ms ORDER BY roadmap_id, fdue DESC, id
),
walk (roadmap_id, id, depth, seen) AS (
  SELECT roadmap_id, id, 1, ARRAY[id] FROM last
  UNION ALL
  SELECT w.roadmap_id, d.driver_id, w.depth + 1, w.seen || d.driver_id
  FROM walk w JOIN driver d ON d.measure_id = w.id
  WHERE d.driver_id <> ALL (w.seen)  -- a cycle cannot be created; guard anyway
),
path AS (
  SELECT w.roadmap_id,
         array_agg(w.id ORDER BY w.depth DESC) AS ids,
         (array_agg(w.id ORDER BY ms.risk DESC, w.depth) FILTER (WHERE ms.progress < 100))[1]
           AS worst,
         coalesce(max(ms.risk) FILTER (WHERE ms.progress < 100), 0) AS risk
  FROM walk w JOIN ms ON ms.id = w.id
  GROUP BY w.roadmap_id
),
weighted AS (
  SELECT roadmap_id, sum(weight * risk) / sum(weight) AS risk
  FROM ms WHERE progress < 100 GROUP BY roadmap_id
)
UPDATE roadmaps r
SET risk = round(greatest(p.risk, coalesce(w.risk, 0))::numeric, 3)::float,
    risk_factors = jsonb_build_object(
      'critical_path', p.ids, 'worst', p.worst, 'path_risk', p.risk,
      'weighted_risk', round(coalesce(w.risk, 0)::numeric, 3)),
    risk_computed_at = :now
FROM path p LEFT JOIN weighted w USING (roadmap_id)
WHERE r.id = p.roadmap_id
"""

# the reference walk's input: every active measure with its driver
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


def critical_paths(rows: Sequence[Any]) -> dict[int, tuple[float, dict[str, Any]]]:
    """The reference walk (in Python) of ``ROADMAPS_SQL``'s critical path: per roadmap, walk
    back from the measure finishing last through each measure's driver; the path's risk is the
    highest among its unfinished measures.

    ``rows``: (roadmap_id, id, risk, progress, forecast due, driver id) tuples."""
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
            if measure_id in seen:
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
    # The plans' cost estimates are large, so PostgreSQL would JIT-compile them: seconds of
    # compilation for statements that run in about one (measured: 5.1 s of 6.3 s at 40 000
    # measures). These are plain hash joins and aggregates; JIT does not pay here.
    await session.execute(text("SET LOCAL jit = off"))
    row = (
        await session.execute(
            text(MEASURES_SQL),
            {"now": now, "today": today, "threshold": threshold, "history": OWNER_HISTORY},
        )
    ).one()
    await session.execute(text(ROADMAPS_SQL), {"now": now})
    return int(row.measures), int(row.alerts)


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
        days = _days(-int(f["days_left"]))
        out.append(f"срок истёк {days} назад, выполнено {f['progress']}{NBSP}%")
    if int(f["forecast_slip"]) > 0:
        out.append(
            f"прогноз завершения — {_day(f['forecast_due'])}, на {_days(int(f['forecast_slip']))}"
            " позже срока"
        )
    if int(f["planned"]) - int(f["progress"]) >= 10:
        done, planned = f"{f['progress']}{NBSP}%", f"{f['planned']}{NBSP}%"
        out.append(f"выполнено {done} при плановых {planned} на сегодня")
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
    weighted = factors.get("weighted_risk")
    if weighted is not None and float(weighted) > float(factors.get("path_risk") or 0.0):
        share = f"{float(weighted):.2f}".replace(".", ",")
        out.append(
            f"средневзвешенный риск невыполненных мероприятий (с учётом весов) — {share}: "
            "он выше риска критического пути"
        )
    return out
