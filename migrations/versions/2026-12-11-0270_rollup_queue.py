"""The indicator rollup fed from a queue in batches (issue 19, item 1).

The statement-level triggers that added every submission to ``indicator_rollup`` (and, through
the rollup's own triggers, to ``indicator_summary``) inside the submission's statement cost
about half of the database's CPU per submission and made concurrent submissions of one
organization wait on the same rows' locks. They are replaced by four cheap triggers that only
append the statement's rows to ``indicator_queue``: one row per answered item (its code and
value) and one per questionnaire (code ``*``, no value), each with ``sign`` +1 when inserted
and -1 when deleted. The worker's job ``indicators.fold_queue`` (``otklik.indicators.rollup``
spells ``FOLD``) folds a batch of queued questionnaires into one upsert per (grain, period,
organization, code) of the rollup, and so one per row of the summary, in the statement that
deletes the batch from the queue.

A row moved by ``ops.maintain_partitions`` out of a DEFAULT partition is moved by statements
on the partitions themselves: the parent's triggers (these) do not fire, so nothing is queued
twice, as before.

Rows already in the tables were counted by the old triggers: the queue starts empty.

Revision ID: 20261211_0270
Revises: 20261211_0260
"""

from __future__ import annotations

from alembic import op

revision: str = "20261211_0270"
down_revision: str | None = "20261211_0260"
branch_labels = None
depends_on = None

QUEUE = """
CREATE TABLE indicator_queue (
  response_id uuid NOT NULL,
  answered_on date NOT NULL,
  organization_id bigint NOT NULL,
  code varchar(40) NOT NULL,
  value smallint,
  sign smallint NOT NULL
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
CREATE INDEX ix_indicator_queue_response_id ON indicator_queue (response_id);
"""

_INTO = "INSERT INTO indicator_queue (response_id, answered_on, organization_id, code, value, sign)"
# name: (table, event, transition table, the rows it appends)
NEW = {
    "indicator_queue_responses_add": (
        "responses",
        "INSERT",
        "NEW TABLE AS new_rows",
        "SELECT id, answered_on, organization_id, '*', NULL, 1 FROM new_rows",
    ),
    "indicator_queue_responses_sub": (
        "responses",
        "DELETE",
        "OLD TABLE AS old_rows",
        "SELECT id, answered_on, organization_id, '*', NULL, -1 FROM old_rows",
    ),
    "indicator_queue_items_add": (
        "response_items",
        "INSERT",
        "NEW TABLE AS new_rows",
        "SELECT response_id, answered_on, organization_id, code, value, 1 FROM new_rows",
    ),
    "indicator_queue_items_sub": (
        "response_items",
        "DELETE",
        "OLD TABLE AS old_rows",
        "SELECT response_id, answered_on, organization_id, code, value, -1 FROM old_rows",
    ),
}

# The triggers this revision drops: (name, table, event, transition table).
OLD_TRIGGERS = (
    ("indicator_rollup_responses_add", "responses", "INSERT", "NEW TABLE AS new_rows"),
    ("indicator_rollup_responses_sub", "responses", "DELETE", "OLD TABLE AS old_rows"),
    ("indicator_rollup_integral_add", "response_items", "INSERT", "NEW TABLE AS new_rows"),
    ("indicator_rollup_integral_sub", "response_items", "DELETE", "OLD TABLE AS old_rows"),
    ("indicator_rollup_items_add", "response_items", "INSERT", "NEW TABLE AS new_rows"),
    ("indicator_rollup_items_sub", "response_items", "DELETE", "OLD TABLE AS old_rows"),
)

# The trigger functions this revision drops, as they were (frozen; the downgrade puts them back).
OLD_BODIES = {
    "indicator_rollup_items_add": """
BEGIN
  INSERT INTO indicator_rollup (grain, day, organization_id, code, n, total, n0, n1, n2, n3, n4, n5)
  SELECT g.grain, CASE g.grain WHEN 'm' THEN date_trunc('month', answered_on)::date ELSE date_trunc('year', answered_on)::date END, organization_id, code, count(*), sum(value), count(*) FILTER (WHERE value = 0), count(*) FILTER (WHERE value = 1), count(*) FILTER (WHERE value = 2), count(*) FILTER (WHERE value = 3), count(*) FILTER (WHERE value = 4), count(*) FILTER (WHERE value = 5)
  FROM new_rows CROSS JOIN (VALUES ('m'), ('y')) g(grain) GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (grain, day, organization_id, code) DO UPDATE SET n = indicator_rollup.n + EXCLUDED.n, total = indicator_rollup.total + EXCLUDED.total, n0 = indicator_rollup.n0 + EXCLUDED.n0, n1 = indicator_rollup.n1 + EXCLUDED.n1, n2 = indicator_rollup.n2 + EXCLUDED.n2, n3 = indicator_rollup.n3 + EXCLUDED.n3, n4 = indicator_rollup.n4 + EXCLUDED.n4, n5 = indicator_rollup.n5 + EXCLUDED.n5;
  RETURN NULL;
END
""",
    "indicator_rollup_items_sub": """
BEGIN
  UPDATE indicator_rollup d SET n = d.n - o.n, total = d.total - o.total, n0 = d.n0 - o.n0, n1 = d.n1 - o.n1, n2 = d.n2 - o.n2, n3 = d.n3 - o.n3, n4 = d.n4 - o.n4, n5 = d.n5 - o.n5
  FROM (SELECT g.grain, CASE g.grain WHEN 'm' THEN date_trunc('month', answered_on)::date ELSE date_trunc('year', answered_on)::date END AS day, organization_id, code, count(*) AS n,
               sum(value) AS total,
               count(*) FILTER (WHERE value = 0) AS n0, count(*) FILTER (WHERE value = 1) AS n1, count(*) FILTER (WHERE value = 2) AS n2, count(*) FILTER (WHERE value = 3) AS n3, count(*) FILTER (WHERE value = 4) AS n4, count(*) FILTER (WHERE value = 5) AS n5
        FROM old_rows CROSS JOIN (VALUES ('m'), ('y')) g(grain) GROUP BY 1, 2, 3, 4) o
  WHERE (d.grain, d.day, d.organization_id, d.code) = (o.grain, o.day, o.organization_id, o.code);
  RETURN NULL;
END
""",
    "indicator_rollup_responses_add": """
BEGIN
  INSERT INTO indicator_rollup (grain, day, organization_id, code, n, total, n0, n1, n2, n3, n4, n5)
  SELECT g.grain, CASE g.grain WHEN 'm' THEN date_trunc('month', answered_on)::date ELSE date_trunc('year', answered_on)::date END, organization_id, '*', count(*), count(*), 0, 0, 0, 0, 0, 0
  FROM new_rows CROSS JOIN (VALUES ('m'), ('y')) g(grain) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (grain, day, organization_id, code) DO UPDATE SET n = indicator_rollup.n + EXCLUDED.n, total = indicator_rollup.total + EXCLUDED.total, n0 = indicator_rollup.n0 + EXCLUDED.n0, n1 = indicator_rollup.n1 + EXCLUDED.n1, n2 = indicator_rollup.n2 + EXCLUDED.n2, n3 = indicator_rollup.n3 + EXCLUDED.n3, n4 = indicator_rollup.n4 + EXCLUDED.n4, n5 = indicator_rollup.n5 + EXCLUDED.n5;
  RETURN NULL;
END
""",
    "indicator_rollup_responses_sub": """
BEGIN
  UPDATE indicator_rollup d SET n = d.n - o.n, total = d.total - o.n
  FROM (SELECT g.grain, CASE g.grain WHEN 'm' THEN date_trunc('month', answered_on)::date ELSE date_trunc('year', answered_on)::date END AS day, organization_id, count(*) AS n
        FROM old_rows CROSS JOIN (VALUES ('m'), ('y')) g(grain) GROUP BY 1, 2, 3) o
  WHERE (d.grain, d.day, d.organization_id, d.code) = (o.grain, o.day, o.organization_id, '*');
  RETURN NULL;
END
""",
    "indicator_rollup_integral_add": """
BEGIN
  WITH changed AS (
    SELECT r.response_id, min(r.organization_id) AS organization_id,
           min(r.answered_on) AS answered_on, sum(w.w * r.value) AS cw, sum(w.w) AS cn
    FROM new_rows r JOIN (SELECT key AS code, value::float8 AS w FROM methodology_versions, jsonb_each_text(definition -> 'integral_weights') WHERE is_default) w USING (code) WHERE w.w > 0 GROUP BY r.response_id
  ), state AS (
    SELECT c.organization_id, c.answered_on, a.aw, a.an,
           a.aw - c.cw AS bw, a.an - c.cn AS bn
    FROM changed c CROSS JOIN LATERAL (
      SELECT coalesce(sum(w.w * i.value), 0) AS aw, coalesce(sum(w.w), 0) AS an
      FROM response_items i JOIN (SELECT key AS code, value::float8 AS w FROM methodology_versions, jsonb_each_text(definition -> 'integral_weights') WHERE is_default) w USING (code)
      WHERE i.response_id = c.response_id AND i.answered_on = c.answered_on AND w.w > 0) a
  ), delta AS (
    SELECT organization_id, answered_on, aw / an AS v, 1 AS s FROM state WHERE an > 1e-9
    UNION ALL
    SELECT organization_id, answered_on, bw / bn, -1 FROM state WHERE bn > 1e-9
  )

  INSERT INTO indicator_rollup (grain, day, organization_id, code, n, total,
                                n0, n1, n2, n3, n4, n5, isum, isumsq)
  SELECT g.grain, CASE g.grain WHEN 'm' THEN date_trunc('month', answered_on)::date ELSE date_trunc('year', answered_on)::date END, organization_id, '*integral', sum(s), 0, 0, 0, 0, 0, 0, 0,
         sum(s * v), sum(s * v * v)
  FROM delta CROSS JOIN (VALUES ('m'), ('y')) g(grain) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (grain, day, organization_id, code) DO UPDATE SET
    n = indicator_rollup.n + EXCLUDED.n, isum = indicator_rollup.isum + EXCLUDED.isum,
    isumsq = indicator_rollup.isumsq + EXCLUDED.isumsq;

  RETURN NULL;
END
""",
    "indicator_rollup_integral_sub": """
BEGIN
  WITH changed AS (
    SELECT r.response_id, min(r.organization_id) AS organization_id,
           min(r.answered_on) AS answered_on, sum(w.w * r.value) AS cw, sum(w.w) AS cn
    FROM old_rows r JOIN (SELECT key AS code, value::float8 AS w FROM methodology_versions, jsonb_each_text(definition -> 'integral_weights') WHERE is_default) w USING (code) WHERE w.w > 0 GROUP BY r.response_id
  ), state AS (
    SELECT c.organization_id, c.answered_on, a.aw, a.an,
           a.aw + c.cw AS bw, a.an + c.cn AS bn
    FROM changed c CROSS JOIN LATERAL (
      SELECT coalesce(sum(w.w * i.value), 0) AS aw, coalesce(sum(w.w), 0) AS an
      FROM response_items i JOIN (SELECT key AS code, value::float8 AS w FROM methodology_versions, jsonb_each_text(definition -> 'integral_weights') WHERE is_default) w USING (code)
      WHERE i.response_id = c.response_id AND i.answered_on = c.answered_on AND w.w > 0) a
  ), delta AS (
    SELECT organization_id, answered_on, aw / an AS v, 1 AS s FROM state WHERE an > 1e-9
    UNION ALL
    SELECT organization_id, answered_on, bw / bn, -1 FROM state WHERE bn > 1e-9
  )

  INSERT INTO indicator_rollup (grain, day, organization_id, code, n, total,
                                n0, n1, n2, n3, n4, n5, isum, isumsq)
  SELECT g.grain, CASE g.grain WHEN 'm' THEN date_trunc('month', answered_on)::date ELSE date_trunc('year', answered_on)::date END, organization_id, '*integral', sum(s), 0, 0, 0, 0, 0, 0, 0,
         sum(s * v), sum(s * v * v)
  FROM delta CROSS JOIN (VALUES ('m'), ('y')) g(grain) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (grain, day, organization_id, code) DO UPDATE SET
    n = indicator_rollup.n + EXCLUDED.n, isum = indicator_rollup.isum + EXCLUDED.isum,
    isumsq = indicator_rollup.isumsq + EXCLUDED.isumsq;

  RETURN NULL;
END
""",
}


def upgrade() -> None:
    for name, table, _event, _rows in OLD_TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON {table}")
        op.execute(f"DROP FUNCTION {name}()")
    op.execute(QUEUE)
    for name, (table, event, rows, select) in NEW.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger AS $$\n"
            f"BEGIN\n  {_INTO}\n  {select};\n  RETURN NULL;\nEND $$ LANGUAGE plpgsql"
        )
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {rows} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )


def downgrade() -> None:
    # what is queued would be lost: the worker (or ``otklik indicators fold``) drains it first
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT FROM indicator_queue) THEN RAISE EXCEPTION "
        "'indicator_queue is not empty: fold it first (otklik indicators fold)'; END IF; END $$"
    )
    for name, (table, _event, _rows, _select) in NEW.items():
        op.execute(f"DROP TRIGGER {name} ON {table}")
        op.execute(f"DROP FUNCTION {name}()")
    op.execute("DROP TABLE indicator_queue")
    for name, table, event, rows in OLD_TRIGGERS:
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger AS $$\n{OLD_BODIES[name]}$$ LANGUAGE plpgsql"
        )
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {rows} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
