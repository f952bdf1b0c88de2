"""Indicators: methodology versions, the rollup (month, year) kept by triggers, signals

Revision ID: 20261201_1450
Revises: 20261201_1430
Create Date: 2026-12-01 14:10:00+00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261201_1450"
down_revision: str | None = "20261201_1430"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A copy, not an import: a migration must not change when the code does.
DEFAULT_DEFINITION = {
    "items": ["overall", "organization", "comfort", "staff", "information", "accessibility"],
    "integral_weights": {
        "organization": 1,
        "comfort": 1,
        "staff": 1,
        "information": 1,
        "accessibility": 1,
    },
    "recommend_item": "recommend",
    "satisfied_min": 4,
    "improvement_threshold": 4.5,
    "annual_step": 0.2,
    "coverage_target": 0.4,
    "min_n": 10,
    "timely_days": 3,
    "confidence": 0.95,
}

COUNT_COLUMNS = ("n", "total", "n0", "n1", "n2", "n3", "n4", "n5")
COUNTS = ", ".join(f"count(*) FILTER (WHERE value = {v})" for v in range(6))
SET_ADD = ", ".join(f"{c} = indicator_rollup.{c} + EXCLUDED.{c}" for c in COUNT_COLUMNS)
SET_SUB = ", ".join(f"{c} = d.{c} - o.{c}" for c in COUNT_COLUMNS)
COLUMNS = "grain, day, organization_id, code, n, total, n0, n1, n2, n3, n4, n5"
# every answer counts in its month and its year (other ranges read the answers themselves)
GRAINS = "CROSS JOIN (VALUES ('m'), ('y')) g(grain)"
BUCKET = (
    "CASE g.grain WHEN 'm' THEN date_trunc('month', answered_on)::date "
    "ELSE date_trunc('year', answered_on)::date END"
)
KEY = "(grain, day, organization_id, code)"

TRIGGERS = f"""
CREATE FUNCTION indicator_rollup_items_add() RETURNS trigger AS $$
BEGIN
  INSERT INTO indicator_rollup ({COLUMNS})
  SELECT g.grain, {BUCKET}, organization_id, code, count(*), sum(value), {COUNTS}
  FROM new_rows {GRAINS} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT {KEY} DO UPDATE SET {SET_ADD};
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE FUNCTION indicator_rollup_items_sub() RETURNS trigger AS $$
BEGIN
  UPDATE indicator_rollup d SET {SET_SUB}
  FROM (SELECT g.grain, {BUCKET} AS day, organization_id, code, count(*) AS n,
               sum(value) AS total,
               {", ".join(f"count(*) FILTER (WHERE value = {v}) AS n{v}" for v in range(6))}
        FROM old_rows {GRAINS} GROUP BY 1, 2, 3, 4) o
  WHERE (d.grain, d.day, d.organization_id, d.code) = (o.grain, o.day, o.organization_id, o.code);
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE FUNCTION indicator_rollup_responses_add() RETURNS trigger AS $$
BEGIN
  INSERT INTO indicator_rollup ({COLUMNS})
  SELECT g.grain, {BUCKET}, organization_id, '*', count(*), count(*), 0, 0, 0, 0, 0, 0
  FROM new_rows {GRAINS} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT {KEY} DO UPDATE SET {SET_ADD};
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE FUNCTION indicator_rollup_responses_sub() RETURNS trigger AS $$
BEGIN
  UPDATE indicator_rollup d SET n = d.n - o.n, total = d.total - o.n
  FROM (SELECT g.grain, {BUCKET} AS day, organization_id, count(*) AS n
        FROM old_rows {GRAINS} GROUP BY 1, 2, 3) o
  WHERE (d.grain, d.day, d.organization_id, d.code) = (o.grain, o.day, o.organization_id, '*');
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER indicator_rollup_items_add AFTER INSERT ON response_items
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION indicator_rollup_items_add();
CREATE TRIGGER indicator_rollup_items_sub AFTER DELETE ON response_items
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION indicator_rollup_items_sub();
CREATE TRIGGER indicator_rollup_responses_add AFTER INSERT ON responses
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION indicator_rollup_responses_add();
CREATE TRIGGER indicator_rollup_responses_sub AFTER DELETE ON responses
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION indicator_rollup_responses_sub();
"""  # noqa: S608 - constants only


def upgrade() -> None:
    op.create_table(
        "methodology_versions",
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_methodology_versions")),
    )
    op.execute(
        sa.text(
            "INSERT INTO methodology_versions (version, title, definition, is_default) "
            "VALUES ('2025.1', :title, CAST(:definition AS jsonb), true)"
        ).bindparams(
            title="Методика по умолчанию (882, 344н)", definition=json.dumps(DEFAULT_DEFINITION)
        )
    )
    op.create_table(
        "indicator_rollup",
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("organization_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        *(
            sa.Column(c, sa.BigInteger() if c == "total" else sa.Integer(), nullable=False)
            for c in ("n", "total", "n0", "n1", "n2", "n3", "n4", "n5")
        ),
        sa.PrimaryKeyConstraint(
            "grain", "day", "organization_id", "code", name=op.f("pk_indicator_rollup")
        ),
    )
    op.create_index(
        "ix_indicator_rollup_organization", "indicator_rollup", ["organization_id", "grain", "day"]
    )
    op.create_table(
        "signals",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=80), nullable=False),
        sa.Column("period", sa.String(length=40), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
        sa.UniqueConstraint("kind", "unit", "period", name=op.f("uq_signals_kind")),
    )
    op.create_index("ix_signals_created_at", "signals", ["created_at"])
    op.execute(TRIGGERS)
    # Backfill whatever answers already exist.
    op.execute(
        f"INSERT INTO indicator_rollup ({COLUMNS}) "  # noqa: S608 - constants only
        f"SELECT g.grain, {BUCKET}, organization_id, code, count(*), sum(value), {COUNTS} "
        f"FROM response_items {GRAINS} GROUP BY 1, 2, 3, 4"
    )
    op.execute(
        f"INSERT INTO indicator_rollup ({COLUMNS}) "  # noqa: S608 - constants only
        f"SELECT g.grain, {BUCKET}, organization_id, '*', count(*), count(*), 0, 0, 0, 0, 0, 0 "
        f"FROM responses {GRAINS} GROUP BY 1, 2, 3"
    )


def downgrade() -> None:
    for table, name in (
        ("responses", "indicator_rollup_responses_sub"),
        ("responses", "indicator_rollup_responses_add"),
        ("response_items", "indicator_rollup_items_sub"),
        ("response_items", "indicator_rollup_items_add"),
    ):
        op.execute(f"DROP TRIGGER {name} ON {table}")
        op.execute(f"DROP FUNCTION {name}()")
    op.drop_table("signals")
    op.drop_table("indicator_rollup")
    op.drop_table("methodology_versions")
