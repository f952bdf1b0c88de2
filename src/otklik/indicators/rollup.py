# ruff: noqa: S608 - SQL text built from constants only
"""The rollup's arithmetic, readable in one place.

``indicator_rollup(grain, day, organization_id, code, n, total, n0..n5, isum, isumsq)`` holds,
per grain (``m`` month, ``y`` year), period start, organization and item: the number of answers
``n``, their sum ``total`` and the count of each value ``n0..n5``; code ``*`` counts
questionnaires (``total`` = ``n``); code ``*integral`` holds respondent-level integral moments:
``n`` questionnaires with at least one integral item, ``isum`` / ``isumsq`` the sum and sum of
squares of each questionnaire's own integral (weighted mean of its integral items, weights of
the default methodology version). Every formula of the engine reads these sufficient
statistics: a mean is total / n, a sum of squares is Σ v²·n_v, a share satisfied is
Σ_{v ≥ 4} n_v / n, the variance of respondents' integrals is (isumsq − isum²/n) / (n − 1).

Two writers keep it, and both are spelled here:

* ``FOLD``, the worker's job ``indicators.fold_queue`` (every second; a backlog drains in one
  run of the job): the statement-level triggers on ``responses`` / ``response_items``
  (migration ``2026-12-11-0270_rollup_queue``; ``QUEUE_BODIES`` are their bodies, and a test
  compares them with the database's) only append each inserted or deleted row, signed, to
  ``indicator_queue``; a fold takes a batch of queued questionnaires and adds it to the rollup
  in one upsert per row, in the statement that deletes the batch from the queue (exactly once;
  a fold that fails leaves the queue as it was). The figures are those of the last fold: a
  second or two behind the answers. A statement may add or remove only some of a
  questionnaire's items, so the ``*integral`` rows take each touched questionnaire's integral
  after the batch (its items now) and before it (now minus the batch's signed rows) and add
  the difference;
* ``rebuild_months`` and the statements after it, the set-based rebuild behind
  ``otklik indicators compute``, which also drops the queued rows of the days it rebuilds (it
  counts their answers itself).
"""

from __future__ import annotations

from datetime import date

from otklik.surveys.repository import INTEGRAL_WEIGHTS_SQL, set_integrals

COUNT_COLUMNS = ("n", "total", "n0", "n1", "n2", "n3", "n4", "n5")
COLUMNS = "grain, day, organization_id, code, " + ", ".join(COUNT_COLUMNS)
# count of each value 0..5 (yes/no items: n1 = yes, n0 = no)
VALUE_COUNTS = ", ".join(f"count(*) FILTER (WHERE value = {v})" for v in range(6))
# every answer counts in its month and its year (other ranges read the answers themselves)
GRAINS = "CROSS JOIN (VALUES ('m'), ('y')) g(grain)"
BUCKET = (
    "CASE g.grain WHEN 'm' THEN date_trunc('month', answered_on)::date "
    "ELSE date_trunc('year', answered_on)::date END"
)
KEY = "(grain, day, organization_id, code)"

# The queue (migration ``2026-12-11-0270_rollup_queue``): the triggers on ``responses`` and
# ``response_items`` append each statement's rows, signed (+1 inserted, -1 deleted); code ``*``
# is the questionnaire itself (no value).
_INTO = "INSERT INTO indicator_queue (response_id, answered_on, organization_id, code, value, sign)"
# A questionnaire is queued twice: code ``*`` on the day it was answered and code ``*served``
# on the day of the service it is about (the queue's ``answered_on`` is the row's day), so the
# rollup counts the questionnaires by service month too (coverage's numerator).
SERVED = "*served"
_RESPONSE_ROWS = (
    "SELECT id, answered_on, organization_id, '*', NULL::smallint, {sign} FROM {rows} UNION ALL "
    f"SELECT id, served_on, organization_id, '{SERVED}', NULL, {{sign}} FROM {{rows}}"
)
_ITEM_ROWS = "SELECT response_id, answered_on, organization_id, code, value, {sign} FROM {rows}"
QUEUE_BODIES = {
    f"indicator_queue_{table}_{op}": f"""
BEGIN
  {_INTO}
  {select.format(sign=sign, rows=rows)};
  RETURN NULL;
END """
    for table, select in (("responses", _RESPONSE_ROWS), ("items", _ITEM_ROWS))
    for op, sign, rows in (("add", "1", "new_rows"), ("sub", "-1", "old_rows"))
}

# The integral weights of the default methodology version (one spelling, shared with the
# submission, which writes each questionnaire's integral with them: ``responses.integral``).
WEIGHTS = INTEGRAL_WEIGHTS_SQL
# Set per (grain, day, organization, code): the rollup row plus the batch's sums.
_SET_ADD_ALL = ", ".join(
    f"{c} = indicator_rollup.{c} + EXCLUDED.{c}" for c in (*COUNT_COLUMNS, "isum", "isumsq")
)
_SIGNED_COUNTS = ", ".join(f"coalesce(sum(sign) FILTER (WHERE value = {v}), 0)" for v in range(6))
# Only one fold at a time (``pg_try_advisory_xact_lock``; the rebuild waits for it): a
# questionnaire's integral is its items' weighted mean, not a sum, so its change is taken from
# the questionnaire's items as they are now and as they were before the batch's rows.
FOLD_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('indicators.fold_queue'))"
FOLD_WAIT = "SELECT pg_advisory_xact_lock(hashtext('indicators.fold_queue'))"
# One statement, so one snapshot: the batch is every queued row of up to ``:limit`` rows'
# questionnaires, so the items read now (``response_items``) are those rows' result: rows of a
# transaction that commits later are neither seen nor dequeued, and wait for the next fold.
# ``*integral``: per touched questionnaire, the weighted sums of its integral items now and
# before the batch (now minus the batch's signed rows), a +1 row for the integral now and a -1
# row for the integral before, as the rebuild counts them. ``integral``: the questionnaire's
# integral now written to ``responses.integral`` where it differs (the submission writes it
# with the questionnaire; rows loaded otherwise, or items added or deleted later, are set
# right here), so a questionnaire with no queued row has the integral of its items there,
# which the rebuild reads.
_NOW = "SELECT response_id, answered_on, CASE WHEN an > 1e-9 THEN aw / an END AS v FROM state"
FOLD = f"""
WITH batch AS (
  DELETE FROM indicator_queue
  WHERE response_id IN (SELECT response_id FROM indicator_queue LIMIT :limit)
  RETURNING response_id, answered_on, organization_id, code, value, sign
), changed AS (
  SELECT b.response_id, min(b.organization_id) AS organization_id,
         min(b.answered_on) AS answered_on, sum(b.sign * w.w * b.value) AS cw,
         sum(b.sign * w.w) AS cn
  FROM batch b JOIN ({WEIGHTS}) w USING (code) WHERE w.w > 0 GROUP BY b.response_id
), state AS (
  SELECT c.response_id, c.organization_id, c.answered_on, a.aw, a.an, a.aw - c.cw AS bw,
         a.an - c.cn AS bn
  FROM changed c CROSS JOIN LATERAL (
    SELECT coalesce(sum(w.w * i.value), 0) AS aw, coalesce(sum(w.w), 0) AS an
    FROM response_items i JOIN ({WEIGHTS}) w USING (code)
    WHERE i.response_id = c.response_id AND i.answered_on = c.answered_on AND w.w > 0) a
), integral AS (
  {set_integrals(_NOW)}
), delta AS (
  SELECT organization_id, answered_on, aw / an AS v, 1 AS s FROM state WHERE an > 1e-9
  UNION ALL
  SELECT organization_id, answered_on, bw / bn, -1 FROM state WHERE bn > 1e-9
)
INSERT INTO indicator_rollup ({COLUMNS}, isum, isumsq)
SELECT g.grain, {BUCKET}, organization_id, code, sum(sign), sum(sign * coalesce(value, 1)),
       {_SIGNED_COUNTS}, 0, 0
FROM batch {GRAINS} GROUP BY 1, 2, 3, 4
UNION ALL
SELECT g.grain, {BUCKET}, organization_id, '*integral', sum(s), 0, 0, 0, 0, 0, 0, 0,
       sum(s * v), sum(s * v * v)
FROM delta {GRAINS} GROUP BY 1, 2, 3
ORDER BY 1, 2, 3, 4
ON CONFLICT {KEY} DO UPDATE SET {_SET_ADD_ALL}
"""
# questionnaires per batch: a batch is one transaction of a few hundred milliseconds at most
FOLD_LIMIT = 20_000
QUEUED = "SELECT count(*) FROM indicator_queue"

# ``::timestamp``: truncating a date as a ``timestamptz`` converts it to and from the session's
# time zone for every answer (a quarter of the aggregation's time); the day is the same
_MONTH = "date_trunc('month', answered_on::timestamp)::date"
VALUE_COUNTS_INT = ", ".join(f"count(*) FILTER (WHERE value = {v})::int AS n{v}" for v in range(6))
_ZEROS = "0, 0, 0, 0, 0, 0"
_ROW = "grain, day, organization_id, code, n, total, n0, n1, n2, n3, n4, n5, isum, isumsq"
# the questionnaires with a queued row: their ``responses.integral`` may not be written yet
_QUEUED = "SELECT DISTINCT response_id FROM indicator_queue"
# The rebuild (``otklik indicators compute``, ``repository.rebuild_rollup``), statements of one
# transaction (a failure anywhere leaves the old figures), under the folds' lock:
#
# 1. ``rebuild_months`` aggregates the answers of the days into the month rows of a temporary
#    table: a ``CREATE TABLE … AS SELECT``, which PostgreSQL may run with parallel workers
#    (an ``INSERT … SELECT`` always runs in one process), and plain month groups rather than
#    grouping sets (which rule out parallel aggregation). The items are aggregated one month
#    (one partition) at a time in parallel (``_ITEMS_MONTH``), beside the count of the
#    questionnaires by the month of their service (code ``*served``, from
#    ``responses.served_on``: the days of these rows are service days, as their queued rows'
#    are). Code ``*`` and the ``*integral`` moments come from one pass over ``responses``:
#    each questionnaire's own integral is its column ``integral`` (the fold keeps it equal to
#    its items' weighted mean, see ``FOLD``), except for questionnaires with a queued row
#    (not folded yet: the column may lag their items), whose integral is computed from their
#    items here, one questionnaire at a time by its key. The column holds the integral under
#    the default methodology version's weights, as the rollup does. The same
#    statement, so the same snapshot, notes the queued rows of the days (``queued``: their row
#    ids, one array in the first row): their answers are counted here, and rows of a
#    transaction that commits after it stay queued, with answers this statement does not see
#    (no fold removes queued rows meanwhile: the rebuild holds the folds' lock).
# 2. ``REBUILD_ANALYZE``, then ``REBUILD_YEARS``: the year rows summed from the month rows
#    (160 000 groups instead of a second pass over the answers).
# 3. ``REBUILD_DEQUEUE``: the noted queue rows deleted, their questionnaires' column set.
# 4. ``REBUILD_APPLY``: the rollup's rows of the days made equal to the table's, writing only
#    the rows that differ (inserted, updated, deleted). A recompute of figures the folds kept
#    right writes (almost) nothing; every row written is the rebuild's own value.
# 5. ``SUMMARY_REBUILD``: the summary of the days pivoted from the same rows and applied the
#    same way.
# 6. ``COUNTRY_REBUILD``: the country's rows of the days summed from the same rows.
_REBUILD_MONTHS = f"""
CREATE TEMP TABLE indicator_rebuild ON COMMIT DROP AS
SELECT NULL::varchar(1) AS grain, NULL::date AS day, NULL::bigint AS organization_id,
       NULL::varchar(40) AS code, NULL::int AS n, NULL::int AS total, NULL::int AS n0,
       NULL::int AS n1, NULL::int AS n2, NULL::int AS n3, NULL::int AS n4, NULL::int AS n5,
       NULL::float8 AS isum, NULL::float8 AS isumsq, coalesce(array_agg(ctid), '{{}}') AS queued
FROM indicator_queue WHERE answered_on BETWEEN :start AND :end
UNION ALL
/* items */
UNION ALL
SELECT 'm', month, organization_id, c.code, c.n::int, c.total::int, {_ZEROS}, c.s, c.ss, NULL
FROM (SELECT {_MONTH} AS month, organization_id, count(*) FILTER (WHERE r) AS n,
             count(v) AS ni, sum(v) AS s, sum(v * v) AS ss
      FROM (SELECT organization_id, answered_on, true AS r,
                   CASE WHEN q.response_id IS NULL THEN integral END AS v
            FROM responses LEFT JOIN ({_QUEUED}) q ON q.response_id = id
            WHERE answered_on BETWEEN :start AND :end
            UNION ALL
            SELECT i.organization_id, i.answered_on, false, i.v FROM ({_QUEUED}) q
            CROSS JOIN LATERAL (
              SELECT min(organization_id) AS organization_id, answered_on,
                     sum(w.w * value) / sum(w.w) AS v
              FROM response_items JOIN ({WEIGHTS}) w USING (code)
              WHERE response_id = q.response_id AND answered_on BETWEEN :start AND :end
                AND w.w > 0
              GROUP BY answered_on) i) a
      GROUP BY 1, 2) t
CROSS JOIN LATERAL (VALUES ('*', t.n, t.n, 0::float8, 0::float8), ('*integral', t.ni, 0, t.s, t.ss))
  c(code, n, total, s, ss)
WHERE c.n > 0
"""
# Questionnaires by service month (code ``*served``), planned with the items' months: one more
# branch of their ``Parallel Append``, run by one process beside the months.
_SERVED = f"""
SELECT 'm', date_trunc('month', served_on::timestamp)::date, organization_id, '{SERVED}',
       count(*)::int, count(*)::int, {_ZEROS}, 0::float8, 0::float8, NULL::tid[]
FROM responses WHERE served_on BETWEEN :start AND :end
GROUP BY 2, 3
"""
# One month of items: a month is one partition of ``response_items`` (the partition job gives
# every month with answers its own), so the items' month rows are aggregated one partition at
# a time, each by one process: PostgreSQL runs the months under a ``Parallel Append``, each
# month's groups complete in one hash, with no partial aggregates to gather and finalize in
# the leader (≈ 6 s of ≈ 25 at 1 M answers, serial, when the whole year was one parallel
# aggregation). A month still in the DEFAULT partition is found there all the same (the
# DEFAULT partition is then read once per such month).
_ITEMS_MONTH = """
SELECT 'm', DATE '{lo}', organization_id, code, count(*)::int, sum(value)::int,
       VALUE_COUNTS, 0::float8, 0::float8, NULL::tid[]
FROM response_items WHERE answered_on >= DATE '{lo}' AND answered_on < DATE '{hi}'
GROUP BY organization_id, code
"""


def rebuild_months(start: date, end: date) -> str:
    """The rebuild's first statement (step 1 above) for the months from ``start`` to ``end``
    (the first and the last day of the rebuild's whole years)."""
    months, m = [], date(start.year, start.month, 1)
    while m <= end:
        nxt = date(m.year + m.month // 12, m.month % 12 + 1, 1)
        months.append(
            _ITEMS_MONTH.format(lo=m.isoformat(), hi=nxt.isoformat()).replace(
                "VALUE_COUNTS", VALUE_COUNTS_INT
            )
        )
        m = nxt
    # a subquery of its own (``OFFSET 0``: not merged into the statement's other branches),
    # so it is planned as one ``Gather`` over a ``Parallel Append`` of the months
    items = f"(SELECT * FROM ({'UNION ALL'.join((*months, _SERVED))}) i OFFSET 0)"
    return _REBUILD_MONTHS.replace("/* items */", items)


# the rebuild's rows have statistics for the statements below (a temporary table has none)
REBUILD_ANALYZE = "ANALYZE indicator_rebuild"
REBUILD_YEARS = f"""
INSERT INTO indicator_rebuild ({_ROW})
SELECT 'y', date_trunc('year', day::timestamp)::date, organization_id, code, sum(n), sum(total),
       sum(n0), sum(n1), sum(n2), sum(n3), sum(n4), sum(n5), sum(isum), sum(isumsq)
FROM indicator_rebuild WHERE grain = 'm'
GROUP BY 2, 3, 4
"""
# the queued rows the first statement counted (one row, written first); no fold will see
# them, so their questionnaires' ``responses.integral`` is set here from their items, as the
# fold would (an item committed since stays queued, and its fold sets the column again)
_OWN = f"""
SELECT r.id AS response_id, r.answered_on, CASE WHEN a.an > 1e-9 THEN a.aw / a.an END AS v
FROM responses r CROSS JOIN LATERAL (
  SELECT coalesce(sum(w.w * i.value), 0) AS aw, coalesce(sum(w.w), 0) AS an
  FROM response_items i JOIN ({WEIGHTS}) w USING (code)
  WHERE i.response_id = r.id AND i.answered_on = r.answered_on AND w.w > 0) a
WHERE r.id IN (SELECT response_id FROM gone)
"""
REBUILD_DEQUEUE = f"""
WITH gone AS (
  DELETE FROM indicator_queue
  WHERE ctid = ANY(CAST((SELECT queued FROM indicator_rebuild
                         WHERE queued IS NOT NULL LIMIT 1) AS tid[]))
  RETURNING response_id
), own AS (
  {set_integrals(_OWN)}
)
SELECT count(*) FROM gone
"""


def _apply(table: str, key: tuple[str, ...], values: tuple[str, ...], new: str, old: str) -> str:
    """One statement making ``table``'s rows ``old`` equal to the rows ``new`` (same columns):
    rows only in ``new`` inserted, rows only in ``old`` deleted, rows whose values differ
    updated; equal rows are not written."""
    on = " AND ".join(f"r.{k} = c.{k}" for k in key)
    at = " AND ".join(f"t.{k} = d.c_{k}" for k in key)
    cols = ", ".join((*key, *values))
    # rows written in the primary key's order (the index fills in order); the codes compared
    # byte by byte: the same order as the database's for ASCII codes, and a cheaper sort
    order = ", ".join(f'{k} COLLATE "C"' if k in ("grain", "code") else k for k in key)
    differ = f"({', '.join(f'r.{v}' for v in values)}) IS DISTINCT FROM "
    differ += f"({', '.join(f'c.{v}' for v in values)})"
    return f"""
WITH d AS MATERIALIZED (
  SELECT {", ".join(f"r.{c}" for c in (*key, *values))}, {", ".join(f"c.{k} AS c_{k}" for k in key)}
  FROM ({new}) r({cols}) FULL JOIN ({old}) c ON {on}
  WHERE {differ}
), gone AS (
  DELETE FROM {table} t USING d WHERE d.{key[0]} IS NULL AND {at}
), changed AS (
  UPDATE {table} t SET {", ".join(f"{v} = d.{v}" for v in values)}
  FROM d WHERE d.{key[0]} IS NOT NULL AND {at}
)
INSERT INTO {table} ({cols})
SELECT {cols} FROM d WHERE d.c_{key[0]} IS NULL ORDER BY {order}
"""


_KEY_COLUMNS = ("grain", "day", "organization_id", "code")
_VALUE_COLUMNS = (*COUNT_COLUMNS, "isum", "isumsq")
REBUILD_APPLY = _apply(
    "indicator_rollup",
    _KEY_COLUMNS,
    _VALUE_COLUMNS,
    f"SELECT {_ROW} FROM indicator_rebuild WHERE queued IS NULL",
    f"SELECT {_ROW} FROM indicator_rollup WHERE day BETWEEN :start AND :end",
)
# The aggregation holds ~1.7 M groups at 20 000 organizations: in memory, not spilled to disk;
# no JIT compilation (seconds per statement here for expressions evaluated ~10 M times)
REBUILD_SETTINGS = ("SET LOCAL work_mem = '256MB'", "SET LOCAL jit = off")
# the apply's hash of the year's rows and the sort of the rows it writes, in memory
REBUILD_APPLY_WORK_MEM = "SET LOCAL work_mem = '512MB'"

# The summary: one row per grain, period start and organization with the rollup's rows of the
# codes below pivoted into columns (``resp`` = code ``*``; ``ri_n``, ``ri_s``, ``ri_ss`` = the
# ``*integral`` moments; per code q: ``n_q`` answers, ``s_q`` their sum, ``ss_q`` their sum of
# squares). Published tables read 20 000 of these rows for the country instead of pivoting
# 160 000 rollup rows per request. Statement-level triggers on ``indicator_rollup`` itself
# add the difference of every rollup statement (new rows minus old rows), so whatever keeps
# the rollup keeps the summary in the same transaction; the rebuild switches them off
# (``otklik.summary_off``) and applies the pivot of the rebuilt rows in one statement. A
# methodology version with an item outside ``SUMMARY_CODES`` is read from the rollup.
SUMMARY_CODES = (
    "overall",
    "organization",
    "comfort",
    "staff",
    "information",
    "accessibility",
    "recommend",
)
SUMMARY_COLUMNS = (
    "resp",
    "ri_n",
    "ri_s",
    "ri_ss",
    *(f"{p}_{c}" for c in SUMMARY_CODES for p in ("n", "s", "ss")),
)
_SQ = "n1 + 4 * n2 + 9 * n3 + 16 * n4 + 25 * n5"


def _pivot() -> str:
    """The summary's columns as aggregates of rollup-shaped rows d(code, n, total, sq, isum,
    isumsq), grouped by grain, day and organization."""
    cols = [
        "coalesce(sum(n) FILTER (WHERE code = '*'), 0)",
        "coalesce(sum(n) FILTER (WHERE code = '*integral'), 0)",
        "coalesce(sum(isum) FILTER (WHERE code = '*integral'), 0)",
        "coalesce(sum(isumsq) FILTER (WHERE code = '*integral'), 0)",
    ]
    for c in SUMMARY_CODES:
        cols += [f"coalesce(sum({x}) FILTER (WHERE code = '{c}'), 0)" for x in ("n", "total", "sq")]
    return ", ".join(cols)


_CODES_IN = "code IN ('*', '*integral', " + ", ".join(f"'{c}'" for c in SUMMARY_CODES) + ")"
_ROWS_NEW = (
    f"SELECT grain, day, organization_id, code, n, total, {_SQ} AS sq, isum, isumsq FROM new_rows"
)
_ROWS_OLD = (
    f"SELECT grain, day, organization_id, code, -n, -total, -({_SQ}), -isum, -isumsq FROM old_rows"
)
_SUMMARY_INTO = (
    f"INSERT INTO indicator_summary (grain, day, organization_id, {', '.join(SUMMARY_COLUMNS)})"
)
_SUMMARY_ADD = ", ".join(f"{c} = indicator_summary.{c} + EXCLUDED.{c}" for c in SUMMARY_COLUMNS)


# The country's rows: the rollup summed over every organization, per grain, period start and
# code (``indicator_country``, migration ``2026-12-12-0300_indicator_country``): the whole
# country's counts of a month, a quarter or a year are a few dozen rows, not a scan of every
# organization's rows. The same triggers keep them, with the difference of every statement.
COUNTRY_COLUMNS = (*COUNT_COLUMNS, "isum", "isumsq")
_COUNTRY_NEW = f"SELECT grain, day, code, {', '.join(COUNTRY_COLUMNS)} FROM new_rows"
_NEGATED = ", ".join(f"-{c}" for c in COUNTRY_COLUMNS)
_COUNTRY_OLD = f"SELECT grain, day, code, {_NEGATED} FROM old_rows"
_COUNTRY_INTO = f"INSERT INTO indicator_country (grain, day, code, {', '.join(COUNTRY_COLUMNS)})"
_COUNTRY_SUMS = ", ".join(f"sum({c})" for c in COUNTRY_COLUMNS)
_COUNTRY_ADD = ", ".join(f"{c} = indicator_country.{c} + EXCLUDED.{c}" for c in COUNTRY_COLUMNS)


# A country row exists while a rollup row of its grain, day and code does: a statement that
# deletes rollup rows (only the rebuild does, with the triggers off, or a clean-up by hand)
# takes away the country rows it left without any.
_COUNTRY_GONE = """
  DELETE FROM indicator_country c USING (SELECT DISTINCT grain, day, code FROM old_rows) o
  WHERE (c.grain, c.day, c.code) = (o.grain, o.day, o.code) AND NOT EXISTS (
    SELECT FROM indicator_rollup r WHERE (r.grain, r.day, r.code) = (o.grain, o.day, o.code));"""


def _summary_body(rows: str, country: str, gone: str = "") -> str:
    return f"""
BEGIN
  IF current_setting('otklik.summary_off', true) = 'on' THEN RETURN NULL; END IF;
  {_SUMMARY_INTO}
  SELECT grain, day, organization_id, {_pivot()}
  FROM ({rows}) d(grain, day, organization_id, code, n, total, sq, isum, isumsq)
  WHERE {_CODES_IN}
  GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (grain, day, organization_id) DO UPDATE SET {_SUMMARY_ADD};
  {_COUNTRY_INTO}
  SELECT grain, day, code, {_COUNTRY_SUMS}
  FROM ({country}) d(grain, day, code, {", ".join(COUNTRY_COLUMNS)})
  GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (grain, day, code) DO UPDATE SET {_COUNTRY_ADD};{gone}
  RETURN NULL;
END """


SUMMARY_BODIES = {
    "indicator_summary_ins": _summary_body(_ROWS_NEW, _COUNTRY_NEW),
    "indicator_summary_upd": _summary_body(
        f"{_ROWS_NEW} UNION ALL {_ROWS_OLD}", f"{_COUNTRY_NEW} UNION ALL {_COUNTRY_OLD}"
    ),
    "indicator_summary_del": _summary_body(_ROWS_OLD, _COUNTRY_OLD, _COUNTRY_GONE),
}
SUMMARY_TRIGGERS = {
    "indicator_summary_ins": "AFTER INSERT ON indicator_rollup REFERENCING NEW TABLE AS new_rows",
    "indicator_summary_upd": (
        "AFTER UPDATE ON indicator_rollup REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    ),
    "indicator_summary_del": "AFTER DELETE ON indicator_rollup REFERENCING OLD TABLE AS old_rows",
}
SUMMARY_OFF = "SELECT set_config('otklik.summary_off', :on, true)"
# the rebuild: the summary of the rebuilt days, pivoted from the rebuilt rows in one statement
SUMMARY_REBUILD = _apply(
    "indicator_summary",
    ("grain", "day", "organization_id"),
    SUMMARY_COLUMNS,
    f"""SELECT grain, day, organization_id, {_pivot()}
      FROM (SELECT grain, day, organization_id, code, n, total, {_SQ} AS sq, isum, isumsq
            FROM indicator_rebuild WHERE queued IS NULL AND {_CODES_IN}) d
      GROUP BY 1, 2, 3""",
    f"SELECT grain, day, organization_id, {', '.join(SUMMARY_COLUMNS)} FROM indicator_summary "
    "WHERE day BETWEEN :start AND :end",
)
# the rebuild: the country's rows of the rebuilt days, summed from the rebuilt rows (a few
# dozen rows a year: deleted and written again)
COUNTRY_REBUILD = f"""
{_COUNTRY_INTO}
SELECT grain, day, code, {_COUNTRY_SUMS}
FROM indicator_rebuild WHERE queued IS NULL
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""

# The summary row's own integral index ``x`` (a stored generated column, migration
# ``2026-12-10-0240_indicator_summary_integral``): ``table_queries.integral_expr`` over the row
# for these weights and ``min_n`` (the default methodology version 2025.1), in exact
# ``numeric``. The tables read it for a methodology with exactly these; others compute it.
SUMMARY_INTEGRAL_WEIGHTS = {
    "organization": 1.0,
    "comfort": 1.0,
    "staff": 1.0,
    "information": 1.0,
    "accessibility": 1.0,
}
SUMMARY_INTEGRAL_MIN_N = 10


def summary_integral_sql() -> str:
    """The generated column's expression (PostgreSQL reports it in its own spelling)."""
    num = den = "0"
    for q, w in SUMMARY_INTEGRAL_WEIGHTS.items():
        ok = f"(n_{q} >= {SUMMARY_INTEGRAL_MIN_N})"
        mean = f"(CAST(s_{q} AS NUMERIC) / CAST(n_{q} AS NUMERIC))"
        num += f" + CASE WHEN {ok} THEN {w} * {mean} ELSE 0 END"
        den += f" + CASE WHEN {ok} THEN {w} ELSE 0 END"
    return (
        f"CASE WHEN (resp >= {SUMMARY_INTEGRAL_MIN_N} AND {den} > 0) "
        f"THEN ({num}) / CAST(nullif({den}, 0) AS NUMERIC) ELSE NULL END"
    )
