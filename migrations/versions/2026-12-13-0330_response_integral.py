# ruff: noqa: S608 - SQL text built from constants only
"""Each questionnaire's own integral kept on ``responses`` (column ``integral``).

``responses.integral`` is the weighted mean of the questionnaire's integral items with the
weights of the default methodology version (the rollup's ``*integral`` moments are the sums of
these values), NULL when it has no integral item. The submission writes it with the
questionnaire (``surveys.repository.STORE``); the fold (``indicators.rollup.FOLD``), which
computes every touched questionnaire's integral from its items anyway, rewrites it whenever the
items say otherwise (items added or deleted later, rows loaded by other paths). The full
recompute reads it instead of aggregating every item a second time, for the questionnaires with
no queued row (those it computes from the items, as before).

Existing rows: filled once, set-based, from their items (under the fold's lock, so no fold
writes the column meanwhile). The migration keeps its own frozen copy of the SQL.

Revision ID: 20261213_0330
Revises: 20261212_0320
"""

from __future__ import annotations

from alembic import op

revision: str = "20261213_0330"
down_revision: str | None = "20261212_0320"
branch_labels = None
depends_on = None

WEIGHTS = (
    "SELECT key AS code, value::float8 AS w FROM methodology_versions, "
    "jsonb_each_text(definition -> 'integral_weights') WHERE is_default"
)


def upgrade() -> None:
    op.execute("SELECT pg_advisory_xact_lock(hashtext('indicators.fold_queue'))")
    op.execute("ALTER TABLE responses ADD COLUMN integral float8")
    op.execute(
        f"""
UPDATE responses r SET integral = p.v
FROM (SELECT response_id, answered_on, sum(w.w * value) / sum(w.w) AS v
      FROM response_items JOIN ({WEIGHTS}) w USING (code) WHERE w.w > 0
      GROUP BY response_id, answered_on HAVING sum(w.w) > 1e-9) p
WHERE r.id = p.response_id AND r.answered_on = p.answered_on
"""
    )


def downgrade() -> None:
    op.execute("ALTER TABLE responses DROP COLUMN integral")
