# ruff: noqa: S608 - SQL text built from constants only
"""The country's rows beside the summary, and questionnaires counted by service month.

* ``indicator_country(grain, day, code, n, total, n0..n5, isum, isumsq)``: the rollup summed
  over every organization, per grain, period start and code. The rollup's statement-level
  triggers (the summary's, ``indicator_summary_ins/upd/del``) add every rollup statement's
  difference to it in the same transaction, as they do to the summary (the delete trigger also
  drops the country rows left without any rollup row of their grain, day and code); the
  rebuild sums it from the rebuilt rollup. The country's landing (the coordinator's ``/cabinet``) read every
  organization's month rows of the rollup for the value counts of a month and a quarter; it
  now reads a few dozen rows.
* Code ``*served`` in the rollup: questionnaires counted by the month (and year) of the
  service they are about, whenever they were answered (coverage's numerator). The queue's
  triggers on ``responses`` append a second row per questionnaire, code ``*served``, whose day
  (the queue's ``answered_on``) is ``served_on``; the fold adds it like any row; the rebuild
  counts ``responses`` by ``served_on``. A whole month's or year's count of a unit is then a
  rollup (or country) row instead of a count of every questionnaire of the period.

Existing data: the ``*served`` rows are counted once from ``responses`` (every questionnaire
present, queued or folded: the old triggers queued no ``*served`` rows, so none is counted
twice) and the country's rows summed once from the rollup, under the fold's lock. The
migration keeps its own frozen copy of the SQL; ``indicators/rollup.py`` spells the same and
tests compare the installed bodies with it.

Revision ID: 20261212_0300
Revises: 20261211_0290
"""

from __future__ import annotations

from alembic import op

revision: str = "20261212_0300"
down_revision: str | None = "20261211_0290"
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

C_COLUMNS = ("n", "total", "n0", "n1", "n2", "n3", "n4", "n5", "isum", "isumsq")
C_NEW = f"SELECT grain, day, code, {', '.join(C_COLUMNS)} FROM new_rows"
C_OLD = f"SELECT grain, day, code, {', '.join(f'-{c}' for c in C_COLUMNS)} FROM old_rows"
C_INTO = f"INSERT INTO indicator_country (grain, day, code, {', '.join(C_COLUMNS)})"
C_SUMS = ", ".join(f"sum({c})" for c in C_COLUMNS)
C_ADD = ", ".join(f"{c} = indicator_country.{c} + EXCLUDED.{c}" for c in C_COLUMNS)


# the delete trigger: a country row goes with the last rollup row of its grain, day and code
C_GONE = """
  DELETE FROM indicator_country c USING (SELECT DISTINCT grain, day, code FROM old_rows) o
  WHERE (c.grain, c.day, c.code) = (o.grain, o.day, o.code) AND NOT EXISTS (
    SELECT FROM indicator_rollup r WHERE (r.grain, r.day, r.code) = (o.grain, o.day, o.code));"""


def _summary_function(name: str, rows: str, country: str | None) -> str:
    more = ""
    if country is not None:
        more = f"""
  {C_INTO}
  SELECT grain, day, code, {C_SUMS}
  FROM ({country}) d(grain, day, code, {", ".join(C_COLUMNS)})
  GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (grain, day, code) DO UPDATE SET {C_ADD};"""
        if name == "indicator_summary_del":
            more += C_GONE
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
  IF current_setting('otklik.summary_off', true) = 'on' THEN RETURN NULL; END IF;
  {INTO}
  SELECT grain, day, organization_id, {PIVOT}
  FROM ({rows}) d(grain, day, organization_id, code, n, total, sq, isum, isumsq)
  WHERE {CODES_IN}
  GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (grain, day, organization_id) DO UPDATE SET {ADD};{more}
  RETURN NULL;
END $$ LANGUAGE plpgsql;
"""


SUMMARY = {
    "indicator_summary_ins": (NEW, C_NEW),
    "indicator_summary_upd": (f"{NEW} UNION ALL {OLD}", f"{C_NEW} UNION ALL {C_OLD}"),
    "indicator_summary_del": (OLD, C_OLD),
}

_QINTO = (
    "INSERT INTO indicator_queue (response_id, answered_on, organization_id, code, value, sign)"
)


def _queue_function(name: str, select: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$\n"
        f"BEGIN\n  {_QINTO}\n  {select};\n  RETURN NULL;\nEND $$ LANGUAGE plpgsql"
    )


def _responses(sign: str, rows: str, served: bool) -> str:
    value = "NULL::smallint" if served else "NULL"
    select = f"SELECT id, answered_on, organization_id, '*', {value}, {sign} FROM {rows}"
    if served:
        select += (
            f" UNION ALL SELECT id, served_on, organization_id, '*served', NULL, {sign} FROM {rows}"
        )
    return select


QUEUE = {
    "indicator_queue_responses_add": ("1", "new_rows"),
    "indicator_queue_responses_sub": ("-1", "old_rows"),
}

TABLE = """
CREATE TABLE indicator_country (
  grain varchar(1) NOT NULL,
  day date NOT NULL,
  code varchar(40) NOT NULL,
  n bigint NOT NULL,
  total bigint NOT NULL,
  n0 bigint NOT NULL,
  n1 bigint NOT NULL,
  n2 bigint NOT NULL,
  n3 bigint NOT NULL,
  n4 bigint NOT NULL,
  n5 bigint NOT NULL,
  isum double precision NOT NULL,
  isumsq double precision NOT NULL,
  CONSTRAINT pk_indicator_country PRIMARY KEY (grain, day, code)
) WITH (fillfactor = 50)
"""
_GROUPS = "GROUP BY GROUPING SETS ((m, organization_id), (y, organization_id))"
SERVED_BACKFILL = f"""
INSERT INTO indicator_rollup (grain, day, organization_id, code, n, total,
                              n0, n1, n2, n3, n4, n5, isum, isumsq)
SELECT CASE WHEN grouping(m) = 0 THEN 'm' ELSE 'y' END, coalesce(m, y), organization_id,
       '*served', count(*), count(*), 0, 0, 0, 0, 0, 0, 0, 0
FROM (SELECT date_trunc('month', served_on)::date AS m, date_trunc('year', served_on)::date AS y,
             organization_id FROM responses) s
{_GROUPS}
ORDER BY 1, 2, 3
"""
COUNTRY_BACKFILL = f"""
{C_INTO}
SELECT grain, day, code, {C_SUMS} FROM indicator_rollup GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""


def upgrade() -> None:
    # no fold adds to the rollup meanwhile (the job's lock, ``rollup.FOLD_WAIT``)
    op.execute("SELECT pg_advisory_xact_lock(hashtext('indicators.fold_queue'))")
    op.execute(TABLE)
    op.execute("SELECT set_config('otklik.summary_off', 'on', true)")
    op.execute("SET LOCAL work_mem = '256MB'")
    op.execute(SERVED_BACKFILL)
    op.execute(COUNTRY_BACKFILL)
    op.execute("SELECT set_config('otklik.summary_off', 'off', true)")
    for name, (rows, country) in SUMMARY.items():
        op.execute(_summary_function(name, rows, country))
    for name, (sign, rows) in QUEUE.items():
        op.execute(_queue_function(name, _responses(sign, rows, served=True)))


def downgrade() -> None:
    op.execute("SELECT pg_advisory_xact_lock(hashtext('indicators.fold_queue'))")
    for name, (sign, rows) in QUEUE.items():
        op.execute(_queue_function(name, _responses(sign, rows, served=False)))
    for name, (rows, _country) in SUMMARY.items():
        op.execute(_summary_function(name, rows, None))
    op.execute("DELETE FROM indicator_queue WHERE code = '*served'")
    op.execute("DELETE FROM indicator_rollup WHERE code = '*served'")
    op.execute("DROP TABLE indicator_country")
