"""Indicators: methodology versions, the daily rollup kept by triggers, signals

Revision ID: 20261201_1410
Revises: 20261201_1330
Create Date: 2026-12-01 14:10:00+00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261201_1410"
down_revision: str | None = "20261201_1330"
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

COUNTS = ", ".join(f"count(*) FILTER (WHERE value = {v})" for v in range(6))
SET_ADD = ", ".join(
    f"{c} = indicator_daily.{c} + EXCLUDED.{c}"
    for c in ("n", "total", "n0", "n1", "n2", "n3", "n4", "n5")
)
SET_SUB = ", ".join(
    f"{c} = d.{c} - o.{c}" for c in ("n", "total", "n0", "n1", "n2", "n3", "n4", "n5")
)
COLUMNS = "organization_id, day, code, n, total, n0, n1, n2, n3, n4, n5"

TRIGGERS = f"""
CREATE FUNCTION indicator_daily_items_add() RETURNS trigger AS $$
BEGIN
  INSERT INTO indicator_daily ({COLUMNS})
  SELECT organization_id, answered_on, code, count(*), sum(value), {COUNTS}
  FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (organization_id, day, code) DO UPDATE SET {SET_ADD};
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE FUNCTION indicator_daily_items_sub() RETURNS trigger AS $$
BEGIN
  UPDATE indicator_daily d SET {SET_SUB}
  FROM (SELECT organization_id, answered_on AS day, code, count(*) AS n, sum(value) AS total,
               {", ".join(f"count(*) FILTER (WHERE value = {v}) AS n{v}" for v in range(6))}
        FROM old_rows GROUP BY 1, 2, 3) o
  WHERE d.organization_id = o.organization_id AND d.day = o.day AND d.code = o.code;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE FUNCTION indicator_daily_responses_add() RETURNS trigger AS $$
BEGIN
  INSERT INTO indicator_daily ({COLUMNS})
  SELECT organization_id, answered_on, '*', count(*), count(*), 0, 0, 0, 0, 0, 0
  FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (organization_id, day, code) DO UPDATE SET {SET_ADD};
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE FUNCTION indicator_daily_responses_sub() RETURNS trigger AS $$
BEGIN
  UPDATE indicator_daily d SET n = d.n - o.n, total = d.total - o.n
  FROM (SELECT organization_id, answered_on AS day, count(*) AS n
        FROM old_rows GROUP BY 1, 2) o
  WHERE d.organization_id = o.organization_id AND d.day = o.day AND d.code = '*';
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER indicator_daily_items_add AFTER INSERT ON response_items
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION indicator_daily_items_add();
CREATE TRIGGER indicator_daily_items_sub AFTER DELETE ON response_items
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION indicator_daily_items_sub();
CREATE TRIGGER indicator_daily_responses_add AFTER INSERT ON responses
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION indicator_daily_responses_add();
CREATE TRIGGER indicator_daily_responses_sub AFTER DELETE ON responses
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION indicator_daily_responses_sub();
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
        "indicator_daily",
        sa.Column("organization_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        *(
            sa.Column(c, sa.BigInteger() if c == "total" else sa.Integer(), nullable=False)
            for c in ("n", "total", "n0", "n1", "n2", "n3", "n4", "n5")
        ),
        sa.PrimaryKeyConstraint("organization_id", "day", "code", name=op.f("pk_indicator_daily")),
    )
    op.create_index("ix_indicator_daily_day", "indicator_daily", ["day"])
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
        f"INSERT INTO indicator_daily ({COLUMNS}) "  # noqa: S608 - constants only
        f"SELECT organization_id, answered_on, code, count(*), sum(value), {COUNTS} "
        "FROM response_items GROUP BY 1, 2, 3"
    )
    op.execute(
        f"INSERT INTO indicator_daily ({COLUMNS}) "  # noqa: S608 - constants only
        "SELECT organization_id, answered_on, '*', count(*), count(*), 0, 0, 0, 0, 0, 0 "
        "FROM responses GROUP BY 1, 2"
    )


def downgrade() -> None:
    for table, name in (
        ("responses", "indicator_daily_responses_sub"),
        ("responses", "indicator_daily_responses_add"),
        ("response_items", "indicator_daily_items_sub"),
        ("response_items", "indicator_daily_items_add"),
    ):
        op.execute(f"DROP TRIGGER {name} ON {table}")
        op.execute(f"DROP FUNCTION {name}()")
    op.drop_table("signals")
    op.drop_table("indicator_daily")
    op.drop_table("methodology_versions")
