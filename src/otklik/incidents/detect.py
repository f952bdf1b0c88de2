"""The set-based SQL of the incident job: candidate signals from every source, grouped.

Each source yields rows ``(kind, ref, cause_key, subject, title, organization_id,
region_code, founder_id, severity, rule, payload, observed_at, signal_id)``. ``ref`` is stable
for the same signal, so the job is idempotent: a drop signal is read once by the id cursor, any
other signal already in ``incident_evidence`` (by ``(kind, ref)``) is never staged again.
"""

from __future__ import annotations

from otklik.incidents.rules import (
    DELIVERY_MIN,
    DELIVERY_SEVERE_SHARE,
    DELIVERY_SHARE,
    DROP_SEVERE,
    OPEN,
    REOPEN_DAYS,
    SILENT_DAYS,
    STORM_ORGS,
    sla_case,
)

OPEN_SQL = "(" + ", ".join(f"'{s}'" for s in OPEN) + ")"

STAGE_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS incident_staged (
  kind text, ref text, cause_key text, subject text, title text, organization_id bigint,
  region_code text, founder_id int, severity int, rule text, payload jsonb,
  observed_at timestamptz, signal_id bigint, n int, first_seen timestamptz, samples jsonb
) ON COMMIT DELETE ROWS
"""

COLUMNS = (
    "kind, ref, cause_key, subject, title, organization_id, region_code, founder_id,"
    " severity, rule, payload, observed_at, signal_id, n, first_seen, samples"
)
SAMPLES = 5

# Drop signals are staged already aggregated: one row per organization, item and Moscow day of
# the batch (the evidence item ``signals:org:<id>:<item>:<day>``), with the number of signals,
# first and last time, the worst severity, the latest signal's payload and the latest few
# references. Everything after the staging works on these few rows, not on each signal.
DROPS = f"""
SELECT 'indicator_drop',
  'signals:org:' || o.id || ':' || d.item || ':' || d.day,
  'org:' || o.id || ':indicator:' || d.item, 'indicator:' || d.item,
  'Падение оценки: ' || o.short_name, o.id, o.region_code, o.founder_id, d.severity,
  CASE WHEN d.severity = 2 THEN 'падение на {DROP_SEVERE} балла и больше'
       ELSE 'падение ниже границы EWMA' END,
  d.payload || jsonb_build_object('organization_id', o.id), d.last_seen, d.last_id, d.n,
  d.first_seen, d.samples
FROM (
  SELECT s.unit, coalesce(s.payload->>'item', 'overall') AS item,
    (s.created_at AT TIME ZONE 'Europe/Moscow')::date AS day,
    min(CASE WHEN (s.payload->>'baseline')::numeric - (s.payload->>'ewma')::numeric
                  >= {DROP_SEVERE} THEN 2 ELSE 3 END) AS severity,
    (array_agg(s.payload || jsonb_build_object('period', s.period) ORDER BY s.id DESC))[1]
      AS payload,
    max(s.created_at) AS last_seen, min(s.created_at) AS first_seen, max(s.id) AS last_id,
    count(*) AS n,
    to_jsonb((array_agg('signals:' || s.id ORDER BY s.id DESC))[1:{SAMPLES}]) AS samples
  FROM (SELECT * FROM signals WHERE kind = 'indicator_drop' AND id > :cursor
        ORDER BY id LIMIT :batch) s
  GROUP BY 1, 2, 3
) d
JOIN organizations o ON d.unit = 'organization:' || o.ogrn
"""  # noqa: S608 - constants only

BURSTS = """
SELECT 'topic_burst', 'rising:' || g.organization_id || ':' || g.period || ':'
    || (g.payload->>'topic'),
  'org:' || o.id || ':topic:' || (g.payload->>'topic'), 'topic:' || (g.payload->>'topic'),
  'Всплеск темы «' || coalesce(g.payload->>'name', g.payload->>'topic') || '»: ' || o.short_name,
  o.id, o.region_code, o.founder_id, 3, 'всплеск проблемной темы',
  jsonb_build_object('topic', g.payload->>'topic', 'name', g.payload->>'name', 'period', g.period,
                     'share', g.payload->'share', 'previous_share', g.payload->'previous_share',
                     'organization_id', o.id),
  g.created_at, NULL::bigint, 1, g.created_at,
  jsonb_build_array('rising:' || g.organization_id || ':' || g.period || ':'
                    || (g.payload->>'topic'))
FROM insight_signals g JOIN organizations o ON o.id = g.organization_id
WHERE g.kind = 'rising' AND (g.payload->>'diff')::numeric < 0  -- a topic that lowers scores
"""

URGENT = """
SELECT 'urgent', 'urgent:' || a.response_id || ':' || a.code,
  'org:' || o.id || ':urgent:' || a.urgent_kind, 'urgent:' || a.urgent_kind,
  'Срочный сигнал в отзывах: ' || o.short_name, o.id, o.region_code, o.founder_id,
  CASE WHEN a.urgent_kind IN ('danger', 'violence') THEN 1 ELSE 2 END,
  CASE WHEN a.urgent_kind IN ('danger', 'violence')
       THEN 'угроза жизни, здоровью или насилие' ELSE 'коррупция или дискриминация' END,
  jsonb_build_object('urgent_kind', a.urgent_kind, 'answered_on', a.answered_on,
                     'organization_id', o.id),
  a.analysed_at, NULL::bigint, 1, a.analysed_at,
  jsonb_build_array('urgent:' || a.response_id || ':' || a.code)
FROM comment_analyses a JOIN organizations o ON o.id = a.organization_id
WHERE a.urgent AND a.analysed_at >= :now - interval '14 days'
"""

SILENT = f"""
SELECT 'silent_source', 'silent:' || b.source_id || ':' || (b.last AT TIME ZONE 'UTC')::date,
  'source:' || b.source_id || '\\:silent', 'intake:' || src.name,
  'Источник «' || src.name || '» не передаёт сведения {SILENT_DAYS} дня', NULL::bigint,
  NULL::text, NULL::int, 2, 'источник молчит {SILENT_DAYS} дня',
  jsonb_build_object('source', src.name, 'last_received_at', b.last), :now, NULL::bigint, 1, :now,
  jsonb_build_array('silent:' || b.source_id || ':' || (b.last AT TIME ZONE 'UTC')::date)
FROM (SELECT source_id, max(received_at) AS last FROM intake_batches GROUP BY source_id) b
JOIN sources src ON src.id = b.source_id
WHERE src.is_active AND b.last < :now - interval '{SILENT_DAYS} days'
"""  # noqa: S608 - constants only

DELIVERIES = f"""
SELECT 'delivery_failures', 'delivery:' || d.channel || ':' || d.day,
  'channel:' || d.channel || '\\:delivery', 'delivery:' || d.channel,
  'Сбои доставки приглашений: канал ' || d.channel, NULL::bigint, NULL::text, NULL::int,
  CASE WHEN d.failed >= {DELIVERY_SEVERE_SHARE} * d.total THEN 2 ELSE 3 END,
  'доля сбоев доставки за день',
  jsonb_build_object('channel', d.channel, 'day', d.day, 'total', d.total, 'failed', d.failed),
  :now, NULL::bigint, 1, :now, jsonb_build_array('delivery:' || d.channel || ':' || d.day)
FROM (SELECT channel, (created_at AT TIME ZONE 'Europe/Moscow')::date AS day,
             count(*) AS total, count(*) FILTER (WHERE status = 'failed') AS failed
      FROM deliveries WHERE created_at >= :now - interval '2 days'
      GROUP BY 1, 2) d
WHERE d.total >= {DELIVERY_MIN} AND d.failed >= {DELIVERY_SHARE} * d.total
"""  # noqa: S608 - constants only

STAGE = f"""
INSERT INTO incident_staged ({COLUMNS})
SELECT * FROM (
  {DROPS} UNION ALL {BURSTS} UNION ALL {URGENT} UNION ALL {SILENT} UNION ALL {DELIVERIES}
) c ({COLUMNS})
WHERE c.kind = 'indicator_drop'  -- read past the cursor only, which moves with the evidence
   OR NOT EXISTS (SELECT 1 FROM incident_evidence e WHERE e.kind = c.kind AND e.ref = c.ref)
"""  # noqa: S608 - constants only

# A storm: many organizations of one region with the same subject become one regional incident
# (and so does any later signal while that regional incident is open).
STORM = f"""
UPDATE incident_staged s
SET cause_key = 'region:' || s.region_code || ':' || s.subject, organization_id = NULL,
    founder_id = NULL, severity = greatest(s.severity - 1, 1),
    title = 'Массовый сигнал в регионе ' || s.region_code || ': ' || s.subject,
    rule = 'массовый сигнал: {STORM_ORGS} и более организаций региона'
WHERE s.organization_id IS NOT NULL AND (
  (s.region_code, s.subject) IN (
    SELECT region_code, subject FROM incident_staged WHERE organization_id IS NOT NULL
    GROUP BY 1, 2 HAVING count(DISTINCT organization_id) >= {STORM_ORGS})
  OR EXISTS (SELECT 1 FROM incidents i WHERE i.state IN {OPEN_SQL}
             AND i.cause_key = 'region:' || s.region_code || ':' || s.subject))
"""  # noqa: S608 - constants only

REOPEN = f"""
WITH last AS (
  SELECT DISTINCT ON (i.cause_key) i.id, i.state, i.resolved_at
  FROM incidents i WHERE i.cause_key IN (SELECT cause_key FROM incident_staged)
  ORDER BY i.cause_key, i.id DESC
)
UPDATE incidents i
SET state = 'in_progress', reopened = i.reopened + 1, resolved_at = NULL,
    resolve_due = :now + {sla_case("i.severity", 1)}, resolve_warned = false,
    resolve_breached = false
FROM last
WHERE i.id = last.id AND last.state = 'resolved'
  AND last.resolved_at >= :now - interval '{REOPEN_DAYS} days'
RETURNING i.id
"""  # noqa: S608 - constants only

OPEN_NEW = f"""
INSERT INTO incidents (title, source, cause_key, subject, organization_id, region_code,
  founder_id, severity, severity_rule, state, opened_at, ack_due, resolve_due)
SELECT title, 'signal', cause_key, subject, organization_id, region_code, founder_id, severity,
  rule, 'new', :now, :now + {sla_case("severity", 0)}, :now + {sla_case("severity", 1)}
FROM (SELECT DISTINCT ON (cause_key) * FROM incident_staged
      ORDER BY cause_key, severity, observed_at) s
WHERE NOT EXISTS (SELECT 1 FROM incidents i WHERE i.cause_key = s.cause_key
                  AND i.state IN {OPEN_SQL})
ORDER BY cause_key
ON CONFLICT (cause_key) WHERE state IN {OPEN_SQL} DO NOTHING
RETURNING id
"""  # noqa: S608 - constants only

# Evidence is aggregated: the staged drop rows are already one per organization, item and day;
# any other signal is an item of its own. One upsert adds counts to existing items.
ATTACH = f"""
WITH grouped AS (
  SELECT i.id AS incident_id, s.kind, s.ref, sum(s.n) AS n, min(s.first_seen) AS first_seen,
    max(s.observed_at) AS last_seen,
    (array_agg(s.payload ORDER BY s.observed_at DESC, s.signal_id DESC))[1] AS payload,
    (array_agg(s.samples ORDER BY s.observed_at DESC, s.signal_id DESC))[1] AS samples
  FROM incident_staged s JOIN incidents i ON i.cause_key = s.cause_key
   AND i.state IN {OPEN_SQL}
  GROUP BY i.id, s.kind, s.ref
), added AS (
  INSERT INTO incident_evidence (incident_id, kind, ref, count, payload, first_seen, observed_at,
                                 samples)
  SELECT incident_id, kind, ref, n, payload, first_seen, last_seen, samples FROM grouped
  ON CONFLICT (incident_id, kind, ref) DO UPDATE SET
    count = incident_evidence.count + excluded.count,
    first_seen = least(incident_evidence.first_seen, excluded.first_seen),
    observed_at = greatest(incident_evidence.observed_at, excluded.observed_at),
    payload = CASE WHEN excluded.observed_at >= incident_evidence.observed_at
                   THEN excluded.payload ELSE incident_evidence.payload END,
    samples = jsonb_path_query_array(excluded.samples || incident_evidence.samples,
                                     '$[0 to {SAMPLES - 1}]')
), per AS (  -- (a data-modifying CTE always runs to completion, read or not)
  SELECT incident_id, sum(n) AS n, max(last_seen) AS last, jsonb_object_agg(kind, 1) AS kinds
  FROM grouped GROUP BY incident_id
), sev AS (
  SELECT cause_key, min(severity) AS severity FROM incident_staged GROUP BY cause_key
), bumped AS (
  UPDATE incidents i SET signal_count = i.signal_count + per.n,
    last_signal_at = greatest(i.last_signal_at, per.last),
    severity = least(i.severity, sev.severity)
  FROM per, sev WHERE i.id = per.incident_id AND sev.cause_key = i.cause_key
  RETURNING i.id, per.n, per.kinds
)
INSERT INTO incident_events (incident_id, at, kind, actor, data)
SELECT id, :now, 'evidence', 'система', jsonb_build_object('signals', n, 'kinds', kinds)
FROM bumped
"""  # noqa: S608 - constants only

EVENTS = """
INSERT INTO incident_events (incident_id, at, kind, actor, to_state, data)
SELECT id, :now, :kind, 'система', :state, '{}'::jsonb FROM unnest(CAST(:ids AS bigint[])) AS id
"""

CURSOR = """
INSERT INTO incident_cursors (name, position)
SELECT 'signals', coalesce(max(signal_id), 0) FROM incident_staged
ON CONFLICT (name) DO UPDATE SET position = greatest(incident_cursors.position,
                                                     excluded.position)
"""

SLA_WARN = f"""
WITH w AS (
  UPDATE incidents SET
    ack_warned = ack_warned OR (acknowledged_at IS NULL
      AND :now >= ack_due - (ack_due - opened_at) * :share),
    resolve_warned = resolve_warned OR (paused_at IS NULL
      AND :now >= resolve_due - (resolve_due - opened_at) * :share)
  WHERE state IN {OPEN_SQL} AND (
    (NOT ack_warned AND acknowledged_at IS NULL
       AND :now >= ack_due - (ack_due - opened_at) * :share)
    OR (NOT resolve_warned AND paused_at IS NULL
       AND :now >= resolve_due - (resolve_due - opened_at) * :share))
  RETURNING id
)
INSERT INTO incident_events (incident_id, at, kind, actor, data)
SELECT id, :now, 'sla_warning', 'система', '{{}}'::jsonb FROM w
RETURNING incident_id
"""  # noqa: S608 - constants only

SLA_BREACH = f"""
WITH b AS (
  UPDATE incidents SET
    ack_breached = ack_breached OR (acknowledged_at IS NULL AND :now > ack_due),
    resolve_breached = resolve_breached OR (paused_at IS NULL AND :now > resolve_due)
  WHERE state IN {OPEN_SQL} AND (
    (NOT ack_breached AND acknowledged_at IS NULL AND :now > ack_due)
    OR (NOT resolve_breached AND paused_at IS NULL AND :now > resolve_due))
  RETURNING id
)
INSERT INTO incident_events (incident_id, at, kind, actor, data)
SELECT id, :now, 'sla_breach', 'система', '{{}}'::jsonb FROM b
RETURNING incident_id
"""  # noqa: S608 - constants only
