"""Respondent-level integral moments in the indicator rollup (code '*integral').

Rows with code ``*integral`` hold, per grain, period start and organization: ``n`` respondents
who answered at least one integral item, and in the new columns ``isum`` / ``isumsq`` the sum
and sum of squares of each respondent's own integral (the weighted mean of the integral items
they answered, weights of the default methodology version). Their variance is the sampling
variance of an organization's integral index (items correlated as they are), used by its
interval and by the ranking's shrinkage. Statement-level triggers keep them; because a
statement may add or remove only some of a questionnaire's items, a trigger reads each touched
questionnaire's items (by primary key), takes its integral after the statement and before it
(after minus / plus the statement's own rows) and adds the difference.

Revision ID: 20261206_2325
Revises: 20261206_2355
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "20261206_2325"
down_revision: str | None = "20261206_2355"
branch_labels = None
depends_on = None

WEIGHTS = (
    "(SELECT key AS code, value::float8 AS w FROM methodology_versions, "
    "jsonb_each_text(definition -> 'integral_weights') WHERE is_default)"
)
GRAINS = "CROSS JOIN (VALUES ('m'), ('y')) g(grain)"
BUCKET = (
    "CASE g.grain WHEN 'm' THEN date_trunc('month', answered_on)::date "
    "ELSE date_trunc('year', answered_on)::date END"
)
UPSERT = f"""
  INSERT INTO indicator_rollup (grain, day, organization_id, code, n, total,
                                n0, n1, n2, n3, n4, n5, isum, isumsq)
  SELECT g.grain, {BUCKET}, organization_id, '*integral', sum(s), 0, 0, 0, 0, 0, 0, 0,
         sum(s * v), sum(s * v * v)
  FROM delta {GRAINS} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (grain, day, organization_id, code) DO UPDATE SET
    n = indicator_rollup.n + EXCLUDED.n, isum = indicator_rollup.isum + EXCLUDED.isum,
    isumsq = indicator_rollup.isumsq + EXCLUDED.isumsq;
"""  # noqa: S608 - constants only


def _function(name: str, rows: str, sign: str) -> str:
    """Per touched questionnaire: its integral now (its items, read through the primary key)
    and before the statement (now minus / plus the statement's own rows), as +1 / -1 rows."""
    return f"""
CREATE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
  WITH changed AS (
    SELECT r.response_id, min(r.organization_id) AS organization_id,
           min(r.answered_on) AS answered_on, sum(w.w * r.value) AS cw, sum(w.w) AS cn
    FROM {rows} r JOIN {WEIGHTS} w USING (code) WHERE w.w > 0 GROUP BY r.response_id
  ), state AS (
    SELECT c.organization_id, c.answered_on, a.aw, a.an,
           a.aw {sign} c.cw AS bw, a.an {sign} c.cn AS bn
    FROM changed c CROSS JOIN LATERAL (
      SELECT coalesce(sum(w.w * i.value), 0) AS aw, coalesce(sum(w.w), 0) AS an
      FROM response_items i JOIN {WEIGHTS} w USING (code)
      WHERE i.response_id = c.response_id AND w.w > 0) a
  ), delta AS (
    SELECT organization_id, answered_on, aw / an AS v, 1 AS s FROM state WHERE an > 1e-9
    UNION ALL
    SELECT organization_id, answered_on, bw / bn, -1 FROM state WHERE bn > 1e-9
  )
  {UPSERT}
  RETURN NULL;
END $$ LANGUAGE plpgsql;
"""  # noqa: S608 - constants only


TRIGGERS = (
    _function("indicator_rollup_integral_add", "new_rows", "-")
    + _function("indicator_rollup_integral_sub", "old_rows", "+")
    + """
CREATE TRIGGER indicator_rollup_integral_add AFTER INSERT ON response_items
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION indicator_rollup_integral_add();
CREATE TRIGGER indicator_rollup_integral_sub AFTER DELETE ON response_items
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION indicator_rollup_integral_sub();
"""
)
BACKFILL = f"""
INSERT INTO indicator_rollup (grain, day, organization_id, code, n, total,
                              n0, n1, n2, n3, n4, n5, isum, isumsq)
SELECT g.grain, {BUCKET}, organization_id, '*integral', count(*), 0, 0, 0, 0, 0, 0, 0,
       sum(v), sum(v * v)
FROM (SELECT i.response_id, min(i.organization_id) AS organization_id,
             min(i.answered_on) AS answered_on, sum(w.w * i.value) / sum(w.w) AS v
      FROM response_items i JOIN {WEIGHTS} w USING (code) WHERE w.w > 0
      GROUP BY i.response_id) a {GRAINS}
GROUP BY 1, 2, 3
"""  # noqa: S608 - constants only


def upgrade() -> None:
    for col in ("isum", "isumsq"):
        op.add_column(
            "indicator_rollup",
            sa.Column(col, sa.Float(), server_default="0", nullable=False),
        )
    op.execute(TRIGGERS)
    op.execute(BACKFILL)


def downgrade() -> None:
    op.execute("DELETE FROM indicator_rollup WHERE code = '*integral'")
    for name in ("indicator_rollup_integral_add", "indicator_rollup_integral_sub"):
        op.execute(f"DROP TRIGGER {name} ON response_items")
        op.execute(f"DROP FUNCTION {name}()")
    for col in ("isum", "isumsq"):
        op.drop_column("indicator_rollup", col)
