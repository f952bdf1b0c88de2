# ruff: noqa: S608 - SQL text built from constants only
"""The rollup's arithmetic, readable in one place.

``indicator_rollup(grain, day, organization_id, code, n, total, n0..n5)`` holds, per grain (``m``
month, ``y`` year), period start, organization and item: the number of answers ``n``, their sum
``total`` and the count of each value ``n0..n5``; code ``*`` counts questionnaires (``total`` =
``n``). Every formula of the engine reads these sufficient statistics: a mean is total / n, a
sum of squares is Σ v²·n_v, a share satisfied is Σ_{v ≥ 4} n_v / n.

Two writers keep it, and both are spelled here:

* the statement-level triggers on ``responses`` / ``response_items`` (created by the migration
  ``2026-12-01-1450_indicators``, which keeps its own frozen copy; ``TRIGGER_BODIES`` are the
  bodies it installs, and a test compares them with the database's), adding and subtracting the
  inserted or deleted answers' counts in the answer's own transaction;
* ``REBUILD``, the set-based rebuild behind ``otklik indicators compute``.
"""

from __future__ import annotations

COUNT_COLUMNS = ("n", "total", "n0", "n1", "n2", "n3", "n4", "n5")
COLUMNS = "grain, day, organization_id, code, " + ", ".join(COUNT_COLUMNS)
# count of each value 0..5 (yes/no items: n1 = yes, n0 = no)
VALUE_COUNTS = ", ".join(f"count(*) FILTER (WHERE value = {v})" for v in range(6))
NAMED_VALUE_COUNTS = ", ".join(f"count(*) FILTER (WHERE value = {v}) AS n{v}" for v in range(6))
SET_ADD = ", ".join(f"{c} = indicator_rollup.{c} + EXCLUDED.{c}" for c in COUNT_COLUMNS)
SET_SUB = ", ".join(f"{c} = d.{c} - o.{c}" for c in COUNT_COLUMNS)
# every answer counts in its month and its year (other ranges read the answers themselves)
GRAINS = "CROSS JOIN (VALUES ('m'), ('y')) g(grain)"
BUCKET = (
    "CASE g.grain WHEN 'm' THEN date_trunc('month', answered_on)::date "
    "ELSE date_trunc('year', answered_on)::date END"
)
KEY = "(grain, day, organization_id, code)"

TRIGGER_BODIES = {
    "indicator_rollup_items_add": f"""
BEGIN
  INSERT INTO indicator_rollup ({COLUMNS})
  SELECT g.grain, {BUCKET}, organization_id, code, count(*), sum(value), {VALUE_COUNTS}
  FROM new_rows {GRAINS} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT {KEY} DO UPDATE SET {SET_ADD};
  RETURN NULL;
END """,
    "indicator_rollup_items_sub": f"""
BEGIN
  UPDATE indicator_rollup d SET {SET_SUB}
  FROM (SELECT g.grain, {BUCKET} AS day, organization_id, code, count(*) AS n,
               sum(value) AS total,
               {NAMED_VALUE_COUNTS}
        FROM old_rows {GRAINS} GROUP BY 1, 2, 3, 4) o
  WHERE (d.grain, d.day, d.organization_id, d.code) = (o.grain, o.day, o.organization_id, o.code);
  RETURN NULL;
END """,
    "indicator_rollup_responses_add": f"""
BEGIN
  INSERT INTO indicator_rollup ({COLUMNS})
  SELECT g.grain, {BUCKET}, organization_id, '*', count(*), count(*), 0, 0, 0, 0, 0, 0
  FROM new_rows {GRAINS} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT {KEY} DO UPDATE SET {SET_ADD};
  RETURN NULL;
END """,
    "indicator_rollup_responses_sub": """
BEGIN
  UPDATE indicator_rollup d SET n = d.n - o.n, total = d.total - o.n
  FROM (SELECT g.grain, """
    + BUCKET
    + """ AS day, organization_id, count(*) AS n
        FROM old_rows """
    + GRAINS
    + """ GROUP BY 1, 2, 3) o
  WHERE (d.grain, d.day, d.organization_id, d.code) = (o.grain, o.day, o.organization_id, '*');
  RETURN NULL;
END """,
}

_GROUPS = "GROUP BY GROUPING SETS ((m, organization_id, code), (y, organization_id, code))"
_GRAIN_KEYS = "CASE WHEN grouping(m) = 0 THEN 'm' ELSE 'y' END, coalesce(m, y)"
_DAYS = (
    "date_trunc('month', answered_on)::date AS m, date_trunc('year', answered_on)::date AS y, "
    "organization_id"
)
# One aggregation pass over the answers writes both grains (grouping sets: month and year
# groups from the same scan), ordered like the primary key so its index fills in order.
REBUILD = f"""
INSERT INTO indicator_rollup ({COLUMNS})
SELECT {_GRAIN_KEYS}, organization_id, code, count(*), sum(value), {VALUE_COUNTS}
FROM (SELECT {_DAYS}, code, value FROM response_items
      WHERE answered_on BETWEEN :start AND :end) a
{_GROUPS}
UNION ALL
SELECT {_GRAIN_KEYS}, organization_id, '*', count(*), count(*), 0, 0, 0, 0, 0, 0
FROM (SELECT {_DAYS}, '*' AS code FROM responses WHERE answered_on BETWEEN :start AND :end) r
{_GROUPS}
ORDER BY 1, 2, 3, 4
"""
# The aggregation holds ~1.7 M groups at 20 000 organizations: in memory, not spilled to disk.
REBUILD_WORK_MEM = "SET LOCAL work_mem = '256MB'"
