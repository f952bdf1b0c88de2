"""The summary row's integral index, kept with the row (issue 19, item 4).

``indicator_summary.x``: the organization's integral index for the row's period in exact
``numeric`` as ``table_queries.integral_expr`` computes it for the default methodology version
``2025.1`` (the weighted mean of the item means with at least ``min_n`` = 10 answers; NULL
below 10 questionnaires), a stored generated column: PostgreSQL computes it whenever the
triggers add to the row, so the published tables read it instead of dividing 20 000 rows of
sums in ``numeric`` on every request. The weights and ``min_n`` are frozen here;
``rollup.SUMMARY_INTEGRAL`` spells the same and the tables read the column only for a
methodology with exactly these (any other is computed from the sums, as before).

Revision ID: 20261210_0240
Revises: 20261210_0230
"""

from __future__ import annotations

from alembic import op

revision: str = "20261210_0240"
down_revision: str | None = "20261210_0230"
branch_labels = None
depends_on = None

WEIGHTS = {"organization": 1, "comfort": 1, "staff": 1, "information": 1, "accessibility": 1}
MIN_N = 10


def _expression() -> str:
    num = "0"
    den = "0"
    for q, w in WEIGHTS.items():
        ok = f"(n_{q} >= {MIN_N})"
        num += (
            f" + CASE WHEN {ok} THEN {float(w)} * "
            f"(CAST(s_{q} AS NUMERIC) / CAST(n_{q} AS NUMERIC)) ELSE 0 END"
        )
        den += f" + CASE WHEN {ok} THEN {float(w)} ELSE 0 END"
    return (
        f"CASE WHEN (resp >= {MIN_N} AND {den} > 0) "
        f"THEN ({num}) / CAST(nullif({den}, 0) AS NUMERIC) ELSE NULL END"
    )


def upgrade() -> None:
    op.execute(
        f"ALTER TABLE indicator_summary ADD COLUMN x numeric "
        f"GENERATED ALWAYS AS ({_expression()}) STORED"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE indicator_summary DROP COLUMN x")
