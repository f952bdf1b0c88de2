"""Respondent-level integral moments in the indicator rollup (code '*integral').

Rows with code ``*integral`` hold, per grain, period start and organization: ``n`` respondents
who answered at least one integral item, and in the new columns ``isum`` / ``isumsq`` the sum
and sum of squares of each respondent's own integral (the weighted mean of the integral items
they answered, weights of the default methodology version). Their variance is the sampling
variance of an organization's integral index (items correlated as they are), used by its
interval and by the ranking's shrinkage. Statement-level triggers keep them; because a
statement may add or remove only some of a questionnaire's items, a trigger recomputes each
touched questionnaire's integral after and before the statement and adds the difference.

Revision ID: 20261206_2325
Revises: 20261201_1450
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "20261206_2325"
down_revision: str | None = "20261201_1450"
branch_labels = None
depends_on = None

WEIGHTS = (
    "(SELECT key AS code, value::float8 AS w FROM methodology_versions, "
    "jsonb_each_text(definition -> 'integral_weights') WHERE is_default)"
)
# a questionnaire's integral from the items in `src`, restricted to the touched ones
PER_RESPONSE = """
  SELECT i.response_id, min(i.organization_id) AS organization_id,
         min(i.answered_on) AS answered_on, sum(w.w * i.value) / sum(w.w) AS v
  FROM {src} i JOIN {weights} w USING (code)
  WHERE i.response_id IN (SELECT response_id FROM {changed}) AND w.w > 0
  GROUP BY i.response_id
"""
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


def _function(name: str, changed: str, after: str, before: str) -> str:
    now = PER_RESPONSE.format(src=after, weights=WEIGHTS, changed=changed)
    was = PER_RESPONSE.format(src=before, weights=WEIGHTS, changed=changed)
    return f"""
CREATE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
  WITH delta AS (
    SELECT organization_id, answered_on, v, 1 AS s FROM ({now}) a
    UNION ALL
    SELECT organization_id, answered_on, v, -1 AS s FROM ({was}) b
  )
  {UPSERT}
  RETURN NULL;
END $$ LANGUAGE plpgsql;
"""  # noqa: S608 - constants only


KEEP = "response_items"
ADDED = (
    "(SELECT * FROM response_items x WHERE NOT EXISTS (SELECT 1 FROM new_rows r "
    "WHERE (r.response_id, r.code) = (x.response_id, x.code)))"
)
REMOVED = "(SELECT * FROM response_items UNION ALL SELECT * FROM old_rows)"
TRIGGERS = (
    _function("indicator_rollup_integral_add", "new_rows", KEEP, ADDED)
    + _function("indicator_rollup_integral_sub", "old_rows", KEEP, REMOVED)
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
