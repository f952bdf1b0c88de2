# ruff: noqa: S608 - SQL text built from constants only
"""A summary row per organization and period, kept by triggers on the rollup.

``indicator_summary(grain, day, organization_id, resp, ri_n, ri_s, ri_ss, n_q, s_q, ss_q …)``:
the rollup's rows of a fixed list of codes pivoted into one row, so the published tables read
one row per organization (20 000 for the country) instead of pivoting eight rollup rows each.
Statement-level triggers on ``indicator_rollup`` add every rollup statement's difference (new
rows minus old rows) in the same transaction; the rebuild turns them off with the setting
``otklik.summary_off`` and pivots the rebuilt rollup in one statement. The migration keeps its
own frozen copy of the SQL; ``indicators/rollup.py`` spells the same and a test compares the
installed bodies with it. Existing rollup rows are pivoted once here.

Revision ID: 20261208_0170
Revises: 20261208_0160
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "20261208_0170"
down_revision: str | None = "20261208_0160"
branch_labels = None
depends_on = None

CODES = ("overall", "organization", "comfort", "staff", "information", "accessibility", "recommend")
COLUMNS = ("resp", "ri_n", "ri_s", "ri_ss", *(f"{p}_{c}" for c in CODES for p in ("n", "s", "ss")))
SQ = "n1 + 4 * n2 + 9 * n3 + 16 * n4 + 25 * n5"
PIVOT = ", ".join(
    [
        "coalesce(sum(n) FILTER (WHERE code = '*'), 0)",
        "coalesce(sum(n) FILTER (WHERE code = '*integral'), 0)",
        "coalesce(sum(isum) FILTER (WHERE code = '*integral'), 0)",
        "coalesce(sum(isumsq) FILTER (WHERE code = '*integral'), 0)",
    ]
    + [
        f"coalesce(sum({x}) FILTER (WHERE code = '{c}'), 0)"
        for c in CODES
        for x in ("n", "total", "sq")
    ]
)
CODES_IN = "code IN ('*', '*integral', " + ", ".join(f"'{c}'" for c in CODES) + ")"
NEW = f"SELECT grain, day, organization_id, code, n, total, {SQ} AS sq, isum, isumsq FROM new_rows"
OLD = f"SELECT grain, day, organization_id, code, -n, -total, -({SQ}), -isum, -isumsq FROM old_rows"
INTO = f"INSERT INTO indicator_summary (grain, day, organization_id, {', '.join(COLUMNS)})"
ADD = ", ".join(f"{c} = indicator_summary.{c} + EXCLUDED.{c}" for c in COLUMNS)


def _function(name: str, rows: str) -> str:
    return f"""
CREATE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
  IF current_setting('otklik.summary_off', true) = 'on' THEN RETURN NULL; END IF;
  {INTO}
  SELECT grain, day, organization_id, {PIVOT}
  FROM ({rows}) d(grain, day, organization_id, code, n, total, sq, isum, isumsq)
  WHERE {CODES_IN}
  GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (grain, day, organization_id) DO UPDATE SET {ADD};
  RETURN NULL;
END $$ LANGUAGE plpgsql;
"""


TRIGGERS = {
    "indicator_summary_ins": (
        NEW,
        "AFTER INSERT ON indicator_rollup REFERENCING NEW TABLE AS new_rows",
    ),
    "indicator_summary_upd": (
        f"{NEW} UNION ALL {OLD}",
        "AFTER UPDATE ON indicator_rollup REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    ),
    "indicator_summary_del": (
        OLD,
        "AFTER DELETE ON indicator_rollup REFERENCING OLD TABLE AS old_rows",
    ),
}


def upgrade() -> None:
    op.create_table(
        "indicator_summary",
        sa.Column("grain", sa.String(1), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("organization_id", sa.BigInteger(), primary_key=True),
        sa.Column("resp", sa.Integer(), nullable=False),
        sa.Column("ri_n", sa.Integer(), nullable=False),
        sa.Column("ri_s", sa.Float(), nullable=False),
        sa.Column("ri_ss", sa.Float(), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in COLUMNS[4:]),
    )
    for name, (rows, event) in TRIGGERS.items():
        op.execute(_function(name, rows))
        op.execute(f"CREATE TRIGGER {name} {event} FOR EACH STATEMENT EXECUTE FUNCTION {name}()")
    op.execute(
        f"""{INTO}
        SELECT grain, day, organization_id, {PIVOT}
        FROM (SELECT grain, day, organization_id, code, n, total, {SQ} AS sq, isum, isumsq
              FROM indicator_rollup WHERE {CODES_IN}) d
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
    )


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON indicator_rollup")
        op.execute(f"DROP FUNCTION {name}()")
    op.drop_table("indicator_summary")
