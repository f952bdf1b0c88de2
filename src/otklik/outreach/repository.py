"""Every outreach query: claiming work with SKIP LOCKED, invitations, deliveries, the funnel."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    Select,
    cast,
    func,
    literal_column,
    select,
    text,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.intake.models import ServiceRecord
from otklik.kit.clock import now_utc
from otklik.kit.scope import Scope, ScopeColumns, apply_scope
from otklik.outreach.models import (
    Delivery,
    Invitation,
    OutboxMessage,
    OutreachOutcome,
    OutreachTask,
    key_time,
)
from otklik.registry.models import Organization, OrganizationType, Region, Service

# The queue: outreach owns ``outreach_tasks`` and fills it itself. A statement-level trigger on
# ``service_records`` (migration ``2026-12-07-0010_outreach_task_queue``, which keeps its own
# frozen copy; a test compares it with this one) gives every record the statement inserted a
# pending task due when the record was received, in the inserting statement: an intake
# submission stays one statement and writes no outreach table. Back-filled history (channel
# ``history``: the demo's past months, whose invitations were made then) gets no task.
ENQUEUE_FUNCTION = "outreach_enqueue_tasks"
# The task carries what the planner needs of its record (organization, minor flag, service:
# never changed after intake), so planning reads no service record (migration 0340).
ENQUEUE_BODY = """
BEGIN
  INSERT INTO outreach_tasks (service_record_id, run_after, person_part, organization_id,
    is_minor, service_code)
  SELECT id, received_at, get_byte(person_key, 0) >> 4, organization_id, is_minor,
    service_code
  FROM new_records
  WHERE channel <> 'history';
  RETURN NULL;
END """

# A partitioned row read by id through its key row ``rk`` (id and partition key): in a LATERAL
# subquery that the planner does not flatten (OFFSET 0), so the partition key is known before
# the partitions are probed and each row reaches one partition. Joined flat on ``r.id =
# rk.id``, the planner may probe every month by id from another table holding the same id
# (EXPLAIN on 52 partitions: docs/deployment.md, "Partitions and retention").
RECORD_OF_KEY = (
    "SELECT * FROM service_records r WHERE r.id = rk.id AND r.received_at = rk.received_at OFFSET 0"
)

# A queued message is never older than this: it is queued while its invitation lives
# (``OTKLIK_INVITATION_DAYS``, at most 90; a retry past the invitation's expiry fails instead),
# and a day more. The statements on queued messages read only the months since (``since``), so
# PostgreSQL plans them over two to four monthly partitions, not every month retention keeps.
QUEUE_AGE = timedelta(days=91)


def since(now: datetime) -> datetime:
    """The oldest ``created_at`` a queued message can have at ``now``."""
    return now - QUEUE_AGE


DELIVERY_ROWS = """
    SELECT d.id, d.created_at, d.invitation_id, d.kind, d.channel, d.idempotency_key, d.attempts,
      d.attempts > 0 AND d.next_attempt_at > d.created_at AS in_backoff,
      i.public_id, i.expires_at, c.person_key, c.sealed, c.portal_account_confirmed,
      c.has_email, c.has_phone, o.short_name, ot.sector, s.name, r.served_at, rg.timezone,
      r.is_minor
    FROM deliveries d
    JOIN invitation_keys ik ON ik.id = d.invitation_id
    JOIN invitations i ON i.id = ik.id AND i.created_at = ik.created_at
    LEFT JOIN contacts c ON c.id = i.contact_id
    JOIN service_record_keys rk ON rk.id = ik.service_record_id
    CROSS JOIN LATERAL ({RECORD_OF_KEY}) r
    CROSS JOIN LATERAL ({ORGANIZATION_OF_RECORD}) o
    JOIN organization_types ot ON ot.code = o.type_code
    JOIN services s ON s.code = r.service_code
    JOIN regions rg ON rg.code = o.region_code
"""
# Each message's organization by its primary key, also in a LATERAL subquery that is not
# flattened. Joined flat, on statistics that underestimate the record subquery (1 row per
# partition) or the organizations (a freshly imported register), PostgreSQL chose a hash join
# *inside* the loop over the messages: a sequential scan of every organization and a hash
# built per message — 400 of a 460 ms claim of 1 000 messages at 500 organizations, and it
# grows with the register (EXPLAIN ANALYZE, docs/performance.md, helper deliv20).
ORGANIZATION_OF_RECORD = (
    "SELECT o.short_name, o.type_code, o.region_code FROM organizations o"
    " WHERE o.id = r.organization_id OFFSET 0"
)
DELIVERY_ROWS = DELIVERY_ROWS.replace("{RECORD_OF_KEY}", RECORD_OF_KEY).replace(
    "{ORGANIZATION_OF_RECORD}", ORGANIZATION_OF_RECORD
)
# Due messages in the partial index's order (next_attempt_at, id): LIMIT stops the scan early.
# The locked rows carry every column of ``deliveries`` the batch needs, so the claimed ids are
# not joined back to the table (a hash join over every delivery when the table is small, over
# every partition when it is partitioned), and each row its ``(id, created_at)``: every later
# statement on it names both, so it reaches one partition (docs/deployment.md, "Partitions
# and retention").
CLAIM_DELIVERIES = text(
    "WITH d AS (SELECT id, invitation_id, kind, channel, idempotency_key, attempts,"  # noqa: S608 - fixed fragments, no user input
    " next_attempt_at, created_at FROM deliveries"
    " WHERE status = 'queued' AND next_attempt_at <= :now AND created_at >= :since"
    " ORDER BY next_attempt_at, id LIMIT :limit FOR UPDATE SKIP LOCKED)"
    + DELIVERY_ROWS.replace("FROM deliveries d", "FROM d")
    + " ORDER BY d.next_attempt_at, d.id"
)
DELIVERY_BY_ID = text(
    DELIVERY_ROWS + " WHERE d.id = :id AND d.created_at = :created_at FOR UPDATE OF d"
)

# The local hour in the region decides whether a message waits for the morning
# (the same rule as ``service.quiet_hold``; start == end means no quiet hours).
_HOUR = "extract(hour FROM :now AT TIME ZONE rg.timezone)"
QUIET_HOLD = f"""
    CASE WHEN (:quiet_start > :quiet_end AND ({_HOUR} >= :quiet_start OR {_HOUR} < :quiet_end))
           OR (:quiet_start < :quiet_end AND {_HOUR} >= :quiet_start AND {_HOUR} < :quiet_end)
      THEN (((:now AT TIME ZONE rg.timezone)::date
             + CASE WHEN :quiet_start > :quiet_end AND {_HOUR} >= :quiet_start
                    THEN 1 ELSE 0 END)
            + make_time(CAST(:quiet_end AS int), 0, 0)) AT TIME ZONE rg.timezone
      ELSE :now END
"""

QUEUE_REMINDERS = text(
    f"""
    WITH due AS (
      SELECT i.id, i.created_at, last.channel, rg.timezone
      FROM invitations i
      JOIN LATERAL (  -- an invitation's messages are not older than it: its months only
        SELECT channel FROM deliveries
        WHERE invitation_id = i.id AND created_at >= i.created_at
          AND status IN ('sent', 'delivered')
        ORDER BY id DESC LIMIT 1
      ) last ON true
      JOIN organizations o ON o.id = i.organization_id
      JOIN regions rg ON rg.code = o.region_code
      WHERE i.reminder_at <= :now AND i.reminded_at IS NULL AND i.completed_at IS NULL
        AND i.status IN ('sent', 'delivered') AND i.expires_at > :now
      ORDER BY i.id
      LIMIT :limit
      FOR UPDATE OF i SKIP LOCKED
    ), queued AS (
      INSERT INTO deliveries (invitation_id, kind, channel, next_attempt_at)
      SELECT due.id, 'reminder', due.channel, {QUIET_HOLD.replace("rg.", "due.")}
      FROM due
    )
    UPDATE invitations SET reminded_at = :now FROM due
    WHERE invitations.id = due.id AND invitations.created_at = due.created_at
    """  # noqa: S608 - a fixed SQL fragment, no user input
)


# Planners are partitioned by person key: the budget of person k is read and spent only by
# the planner holding the advisory lock (PLANNER_LOCK, partition of k). Partition = the high
# four bits of the key's first byte (keys are HMACs: uniform); the queue's trigger stores it.
PLANNER_LOCK = 882_0301
PLANNER_PARTS = 16


def partition(person_key: bytes) -> int:
    return person_key[0] >> 4


# A batch's claim, one statement: random partitions with due tasks whose locks are free,
# taken (until the transaction ends) one after another until their due tasks (each counted up
# to ``:limit``) fill a batch, so a batch holds only the partitions it needs and the others
# stay free for other planners (the recursive walk tries one lock at a time and stops when the
# batch is full); then their due tasks in the partial index's order, SKIP LOCKED. One row: the
# partitions held and the tasks' ids.
#
# The budgets are read by the next statement, not this one: a statement sees what was committed
# before it began, and the planner that held a partition until a moment ago may have spent
# budgets in it. Read in the statement that takes the lock (a materialized CTE), a lock freed
# after the statement's snapshot would let it read budgets without the invitations just made.
# The claim itself is safe here: a task decided by that planner is gone, and a deleted row is
# not locked. The ids go back as an array constant, whose length PostgreSQL knows: the
# planning statement's estimates follow it (claimed inside that statement from a table whose
# statistics are stale, the estimate was one row, and CTE-to-CTE nested loops took 40 s for a
# batch of 5 000).
CLAIM_TASKS = text(
    """
    WITH RECURSIVE busy AS MATERIALIZED (
      SELECT p, row_number() OVER () AS n FROM (
        SELECT p FROM generate_series(0, :parts - 1) p
        WHERE EXISTS (SELECT 1 FROM outreach_tasks
                      WHERE status = 'pending' AND person_part = p AND run_after <= :now)
        ORDER BY random() OFFSET 0
      ) x
    ), walk (n, p, got, total) AS (
      SELECT CAST(0 AS bigint), CAST(NULL AS int), false, CAST(0 AS bigint)
      UNION ALL
      SELECT b.n, b.p, l.got, w.total + CASE WHEN l.got THEN (
          SELECT count(*) FROM (SELECT FROM outreach_tasks
            WHERE status = 'pending' AND person_part = b.p AND run_after <= :now
            LIMIT :limit) due) ELSE 0 END
      FROM walk w JOIN busy b ON b.n = w.n + 1
      CROSS JOIN LATERAL (SELECT pg_try_advisory_xact_lock(:lock, b.p) AS got) l
      WHERE w.total < :limit
    ), held AS MATERIALIZED (
      SELECT coalesce(array_agg(p), '{}') AS parts FROM walk WHERE got
    ), claimed AS MATERIALIZED (
      SELECT t.id, t.service_record_id FROM outreach_tasks t
      WHERE t.status = 'pending' AND t.person_part = ANY(CAST((SELECT parts FROM held) AS int[]))
        AND t.run_after <= :now
      ORDER BY t.run_after, t.id
      LIMIT :limit
      FOR UPDATE SKIP LOCKED
    )
    SELECT (SELECT parts FROM held), ARRAY(SELECT id FROM claimed),
      ARRAY(SELECT service_record_id FROM claimed)
    """
)


@dataclass
class Claim:
    """Partitions this transaction holds, and the due tasks it claimed (ids, their records)."""

    held: list[int]
    ids: list[int]
    records: list[int]


async def claim_tasks(session: AsyncSession, now: datetime, limit: int) -> Claim:
    """Free partitions with due tasks, locked for this transaction, enough for ``limit``, and
    up to ``limit`` of their due tasks, locked."""
    params = {"parts": PLANNER_PARTS, "now": now, "lock": PLANNER_LOCK, "limit": limit}
    parts, ids, records = (await session.execute(CLAIM_TASKS, params)).one()
    return Claim([int(p) for p in parts], [int(i) for i in ids], [int(r) for r in records])


async def take_partitions(session: AsyncSession, parts: Sequence[int]) -> set[int]:
    """Those of ``parts`` whose locks this transaction now holds (never waits)."""
    if not parts:
        return set()
    rows = await session.scalars(
        text(
            "SELECT p FROM unnest(CAST(:parts AS int[])) p"
            " WHERE pg_try_advisory_xact_lock(:lock, p)"
        ),
        {"parts": list(parts), "lock": PLANNER_LOCK},
    )
    return {int(p) for p in rows}


async def opt_out(session: AsyncSession, public_id: uuid.UUID) -> bool:
    """The person of this invitation gets no more invitations; their queued messages are
    cancelled and no reminder follows. False when no such invitation exists."""
    key = await session.scalar(
        text(
            "SELECT i.person_key FROM invitation_keys k JOIN invitations i"
            " ON i.id = k.id AND i.created_at = k.created_at WHERE k.public_id = :p"
        ),
        {"p": public_id},
    )
    if key is None:
        return False
    await session.execute(
        text("INSERT INTO outreach_optouts (person_key) VALUES (:k) ON CONFLICT DO NOTHING"),
        {"k": key},
    )
    await session.execute(
        text(
            "UPDATE deliveries d SET status = 'failed', error = 'отказ от приглашений'"
            " FROM invitations i WHERE i.person_key = :k AND d.invitation_id = i.id"
            " AND d.created_at >= i.created_at AND d.status = 'queued'"
            " AND d.created_at >= :since"
        ),
        {"k": key, "since": since(now_utc())},
    )
    await session.execute(
        text(
            "UPDATE invitations SET reminded_at = coalesce(reminded_at, now())"
            " WHERE person_key = :k"
        ),
        {"k": key},
    )
    return True


# One planning batch in one statement: the decisions, the invitations with their tokens and
# first messages, and the tasks' outcomes (their queue rows deleted); no row goes through
# Python. The rules are those of docs/outreach.md ("Who is invited"), in this order per task:
# someone to invite (an adult, or a child's representatives, with a confirmed portal account),
# the sample, then per person in the order the records arrived: opted out, the organization's
# budget, the week's budget, a channel. Budgets count the invitations already made and, within
# the batch, only those this batch makes (a contact turned away does not spend one); the
# windows below give exactly what deciding one contact after another would (``ranked`` then
# ``invited``: a contact is invited when it is within its organization's budget and fewer than
# the week's budget of this person's earlier contacts in the batch were, see
# tests/outreach/test_planning.py). The link token is ``link_token`` computed by PostgreSQL
# (HMAC-SHA256 from the pads of ``links.hmac_pads``, the first 24 bytes in URL-safe base64);
# only its SHA-256 is stored.
#
# ``:ids`` are tasks this transaction claimed (CLAIM_TASKS). A task one of whose people is in
# a partition not in ``:held`` (a child's representative: any partition) is not decided: it
# comes back as ``blocked`` with those partitions, stays pending, and its people's budgets are
# not read. The caller holds the advisory locks of ``:held``, taken by earlier statements, so
# the budgets read here cannot be spent by another planner before this transaction commits.
#
# What a decided task costs in writes: its queue row deleted (no index touched; migration
# 0320), one narrow outcome row; per invitation a key row, an invitation row and its first
# message. The contacts invited are locked ``FOR KEY SHARE`` here, once for the batch, which is
# what the foreign key from ``invitations.contact_id`` checked row by row before (a contact
# deleted concurrently waits for this transaction, then its trigger clears ``contact_id``).
_WINDOW = "ORDER BY {0}task_id, {0}position, {0}contact"
_BEFORE = " ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
# The decisions of a person with one contact in the batch need no window: nothing earlier in
# the batch spends their budgets, so the windows below reduce to their first row (a person
# with several contacts — a child's representative of two records, two services the same day —
# goes through the windows). Most people have one: the four sorts are skipped for them.
_SINGLE = """
      SELECT c.*, c.able AND c.org_left >= 1 AND c.week_left >= 1 AS invite,
        CASE WHEN c.able AND c.org_left >= 1 AND c.week_left >= 1 THEN NULL
          WHEN c.opted_out THEN 'opted_out'
          WHEN c.org_left <= 0 THEN 'fatigue_organization'
          WHEN c.week_left <= 0 THEN 'fatigue_week'
          ELSE 'no_channel' END AS reason
      FROM candidate c WHERE c.person_key NOT IN (SELECT person_key FROM multi)
"""
PLAN_BATCH_SQL = f"""
    WITH queued AS MATERIALIZED (
      -- constants: their length is the estimate; each task is found by its key (the claim
      -- has just read it), and it carries its record's organization, minor flag and service
      -- (copied at intake, migration 0340), so no record is read
      SELECT t.* FROM unnest(CAST(:ids AS bigint[])) u(id)
      CROSS JOIN LATERAL (
        SELECT t.id, t.service_record_id AS record_id, t.organization_id AS org, t.is_minor,
          t.service_code
        FROM outreach_tasks t WHERE t.id = u.id OFFSET 0
      ) t
    ), org AS MATERIALIZED (  -- the batch's organizations, each looked up once by its key
      SELECT u.id, o.type_code, o.timezone
      FROM (SELECT DISTINCT org AS id FROM queued) u
      CROSS JOIN LATERAL (
        SELECT o.type_code, rg.timezone FROM organizations o
        JOIN regions rg ON rg.code = o.region_code WHERE o.id = u.id OFFSET 0
      ) o
    ), task AS (
      SELECT t.id, t.record_id, t.org, t.is_minor, o.timezone,
        CASE WHEN cardinality(CAST(:rate_keys AS text[])) = 0 THEN true
          ELSE coalesce(
            substring(sha256(convert_to('otklik/sample/' || t.record_id, 'UTF8')) FROM 1 FOR 8)
              < coalesce(
                (SELECT decode(x.below, 'hex') FROM unnest(CAST(:rate_keys AS text[]),
                   CAST(:rate_below AS text[])) x(k, below)
                 WHERE x.k = 'service:' || t.service_code),
                (SELECT decode(x.below, 'hex') FROM unnest(CAST(:rate_keys AS text[]),
                   CAST(:rate_below AS text[])) x(k, below)
                 WHERE x.k = 'type:' || o.type_code)),
            true) END AS sampled
      FROM queued t JOIN org o ON o.id = t.org
    ), people AS (
      SELECT task.id AS task_id, c.id AS contact, c.position, c.person_key,
        get_byte(c.person_key, 0) >> 4 AS part,
        (CAST(:channels AS text[]))[1 + 2 * c.has_email::int + c.has_phone::int] AS channel
      FROM task CROSS JOIN LATERAL (  -- by index per record, whatever the statistics say
        SELECT * FROM contacts c
        WHERE c.service_record_id = task.record_id AND (c.position = 0) <> task.is_minor
          AND c.portal_account_confirmed
        FOR KEY SHARE
      ) c
    ), blocked AS MATERIALIZED (
      SELECT task_id, array_agg(DISTINCT part) AS parts FROM people
      WHERE part <> ALL(CAST(:held AS int[]))
      GROUP BY task_id
    ), mine AS (
      SELECT * FROM task WHERE id NOT IN (SELECT task_id FROM blocked)
    ), target AS (
      SELECT task.id AS task_id, task.record_id, task.org, task.timezone, task.sampled,
        p.contact, p.position, p.person_key, p.channel
      FROM mine task JOIN people p ON p.task_id = task.id
    ), candidate AS MATERIALIZED (
      SELECT g.*, x.person_key IS NOT NULL AS opted_out,
        x.person_key IS NULL AND g.channel IS NOT NULL AS able,
        :org_max - spent.org AS org_left, :week_max - spent.week AS week_left
      FROM target g
      LEFT JOIN outreach_optouts x ON x.person_key = g.person_key
      CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE i.organization_id = g.org
                                  AND i.created_at >= :org_since) AS org,
          count(*) FILTER (WHERE i.created_at >= :week_since) AS week
        FROM invitations i
        WHERE i.person_key = g.person_key
          AND i.created_at >= least(CAST(:org_since AS timestamptz), :week_since)
          -- no month ahead is probed (partitions exist three months ahead, empty): nothing
          -- is created after its transaction's start, a history invitation a day after its
          -- service
          AND i.created_at < greatest(CAST(:now AS timestamptz), now()) + interval '2 days'
      ) spent
      WHERE g.sampled
    ), multi AS MATERIALIZED (  -- people with several contacts in the batch
      SELECT person_key FROM candidate GROUP BY person_key HAVING count(*) > 1
    ), ranked AS (
      SELECT c.*, c.able AND count(*) FILTER (WHERE c.able) OVER (
          PARTITION BY c.person_key, c.org {_WINDOW.format("c.")} ROWS UNBOUNDED PRECEDING
        ) <= c.org_left AS org_ok
      FROM candidate c WHERE c.person_key IN (SELECT person_key FROM multi)
    ), invited AS (
      SELECT r.*, r.org_ok AND count(*) FILTER (WHERE r.org_ok) OVER (
          PARTITION BY r.person_key {_WINDOW.format("r.")}{_BEFORE}
        ) < r.week_left AS invite
      FROM ranked r
    ), decided_multi AS (
      SELECT v.task_id, v.record_id, v.org, v.timezone, v.sampled, v.contact, v.position,
        v.person_key, v.channel, v.opted_out, v.able, v.org_left, v.week_left, v.invite,
        CASE WHEN v.invite THEN NULL
          WHEN v.opted_out THEN 'opted_out'
          WHEN count(*) FILTER (WHERE v.invite) OVER (
              PARTITION BY v.person_key, v.org {_WINDOW.format("v.")}{_BEFORE}
            ) >= v.org_left THEN 'fatigue_organization'
          WHEN count(*) FILTER (WHERE v.invite) OVER (
              PARTITION BY v.person_key {_WINDOW.format("v.")}{_BEFORE}
            ) >= v.week_left THEN 'fatigue_week'
          ELSE 'no_channel' END AS reason
      FROM invited v
    ), decided AS MATERIALIZED (
      SELECT * FROM ({_SINGLE}) s UNION ALL SELECT * FROM decided_multi
    ), version AS (
      SELECT version FROM questionnaire_versions WHERE status = 'published'
      ORDER BY published_at DESC NULLS LAST, version DESC LIMIT 1
    ), numbered AS MATERIALIZED (
      -- ids in the order the records arrived (nextval is evaluated after the sort); each
      -- invitation's rows are written from here, with no join back to the inserted rows
      SELECT nextval('invitations_id_seq') AS id, gen_random_uuid() AS public_id,
        d.record_id, d.contact, d.person_key, d.org, d.channel, d.timezone
      FROM decided d
      WHERE d.invite
      ORDER BY d.task_id, d.position, d.contact
    ), tokens AS MATERIALIZED (
      SELECT n.*, now() AS created_at,
        sha256(convert_to(translate(encode(substring(
          sha256(CAST(:k_out AS bytea) || sha256(CAST(:k_in AS bytea) || CAST(:link AS bytea)
                 || uuid_send(n.public_id)))
          FROM 1 FOR 24), 'base64'), '+/', '-_'), 'UTF8')) AS token_hash
      FROM numbered n
    ), inv_keys AS (
      INSERT INTO invitation_keys (id, public_id, token_hash, service_record_id, created_at)
      SELECT id, public_id, token_hash, record_id, created_at FROM tokens
    ), inv AS (
      INSERT INTO invitations (id, public_id, service_record_id, contact_id, person_key,
        organization_id, token_hash, created_at, expires_at, questionnaire_version)
      SELECT id, public_id, record_id, contact, person_key, org, token_hash, created_at,
        :expires, (SELECT version FROM version)
      FROM tokens
    ), first_message AS (
      INSERT INTO deliveries (invitation_id, kind, channel, next_attempt_at)
      SELECT d.id, 'invite', d.channel, {QUIET_HOLD.replace("rg.", "d.")}
      FROM tokens d
      ORDER BY d.id
    ), per_task AS (
      SELECT d.task_id, bool_or(d.invite) AS invited,
        (array_agg(d.reason ORDER BY d.position, d.contact)
           FILTER (WHERE NOT d.invite))[1] AS reason
      FROM decided d
      GROUP BY d.task_id
    ), dequeued AS (
      DELETE FROM outreach_tasks t  -- by the ids' index, not a join over the whole queue
      WHERE t.id = ANY(CAST(:ids AS bigint[])) AND t.id NOT IN (SELECT task_id FROM blocked)
    ), outcome AS (
      INSERT INTO outreach_outcomes (service_record_id, status, reason, planned_at)
      SELECT task.record_id, CASE WHEN p.invited THEN 'planned' ELSE 'skipped' END,
        CASE WHEN p.invited THEN NULL
          WHEN h.task_id IS NULL THEN 'no_confirmed_account'
          WHEN NOT task.sampled THEN 'sampled_out'
          ELSE p.reason END,
        :now
      FROM mine task
      LEFT JOIN (SELECT DISTINCT task_id FROM target) h ON h.task_id = task.id
      LEFT JOIN per_task p ON p.task_id = task.id
      RETURNING service_record_id, status
    )
    SELECT 'skipped' AS kind, service_record_id AS id, CAST(NULL AS int[]) AS parts
    FROM outcome WHERE status = 'skipped'
    UNION ALL SELECT 'blocked', task_id, parts FROM blocked
    UNION ALL SELECT 'decided', count(*), NULL FROM outcome
"""  # noqa: S608 - fixed SQL fragments, no user input
PLAN_BATCH = text(PLAN_BATCH_SQL)


@dataclass
class Planned:
    """What a planning statement did: tasks decided, records skipped (their contacts go), and
    tasks left pending for want of partition locks ({task id: partitions it needs})."""

    decided: int
    skipped: list[int]
    blocked: dict[int, list[int]]


async def plan_batch(session: AsyncSession, params: dict[str, Any]) -> Planned:
    """Decide the tasks ``params["ids"]``, claimed by this transaction (PLAN_BATCH)."""
    # The CTEs' row estimates are far too high (a join of CTE scans is guessed at millions of
    # rows): the JIT compiler would then take half the statement's time (EXPLAIN ANALYZE,
    # docs/performance.md). Off for the rest of this transaction.
    await session.execute(text("SET LOCAL jit = off"))
    planned = Planned(decided=0, skipped=[], blocked={})
    for kind, key, parts in (await session.execute(PLAN_BATCH, params)).all():
        if kind == "skipped":
            planned.skipped.append(int(key))
        elif kind == "blocked":
            planned.blocked[int(key)] = [int(p) for p in parts]
        else:
            planned.decided = int(key)
    return planned


async def claim_deliveries(session: AsyncSession, now: datetime, limit: int) -> list[Any]:
    params = {"now": now, "limit": limit, "since": since(now)}
    return list((await session.execute(CLAIM_DELIVERIES, params)).all())


async def commit_without_waiting_for_the_disk(session: AsyncSession) -> None:
    """This transaction's commit does not wait for its WAL to reach the disk.

    For a delivery batch only: a database crash within the WAL writer's delay (200 ms by
    default) can lose the batch's record as a whole (never a part of it), exactly like a worker
    dying before its commit: the rows are due again and resent with the same idempotency keys
    (docs/outreach.md). It saves a disk flush per batch.
    """
    await session.execute(text("SET LOCAL synchronous_commit = off"))


async def delivery_row(session: AsyncSession, delivery_id: int, created_at: datetime) -> Any:
    params = {"id": delivery_id, "created_at": created_at}
    return (await session.execute(DELIVERY_BY_ID, params)).first()


# A batch's outcomes in one statement: the deliveries (sent, delivered on sending, queued
# again after a backoff, failed), the invitations of those sent, the invitations with no
# channel left, the next channel's messages and the log channel's outbox.
RECORD_OUTCOMES = text(
    """
    WITH u AS (
      SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:created AS timestamptz[]),
        CAST(:statuses AS text[]), CAST(:next_at AS timestamptz[]), CAST(:errors AS text[]))
        AS u(id, created_at, status, next_at, error)
    ), d AS (
      UPDATE deliveries d SET status = u.status, attempts = d.attempts + 1, error = u.error,
        next_attempt_at = coalesce(u.next_at, d.next_attempt_at),
        sent_at = CASE WHEN u.status IN ('sent', 'delivered') THEN :now ELSE d.sent_at END,
        delivered_at = CASE WHEN u.status = 'delivered' THEN :now ELSE d.delivered_at END
      FROM u WHERE d.id = u.id AND d.created_at = u.created_at
        AND d.created_at BETWEEN :first AND :last  -- the batch's months only (planned so)
      RETURNING d.invitation_id, d.kind, u.status
    ), inv AS (
      UPDATE invitations i SET sent_at = coalesce(i.sent_at, :now),
        delivered_at = CASE WHEN x.delivered THEN coalesce(i.delivered_at, :now)
                            ELSE i.delivered_at END,
        status = CASE WHEN x.delivered AND i.status IN ('queued', 'sent', 'failed')
                        THEN 'delivered'
                      WHEN i.status IN ('queued', 'failed') THEN 'sent'
                      ELSE i.status END,
        reminder_at = CASE WHEN x.invite THEN :reminder_at ELSE i.reminder_at END
      FROM (SELECT invitation_id, bool_or(kind = 'invite') AS invite,
              bool_or(status = 'delivered') AS delivered
            FROM d WHERE status IN ('sent', 'delivered') GROUP BY invitation_id) x
      JOIN invitation_keys k ON k.id = x.invitation_id
      WHERE i.id = k.id AND i.created_at = k.created_at
    ), dead AS (
      -- the status test in SET, not WHERE: a rare status would make the planner read every
      -- partition for it instead of each id's one partition through its key row
      UPDATE invitations i
      SET status = CASE WHEN i.status = 'queued' THEN 'failed' ELSE i.status END
      FROM invitation_keys k
      WHERE k.id = ANY(CAST(:dead AS bigint[])) AND i.id = k.id AND i.created_at = k.created_at
    ), fallback AS (
      INSERT INTO deliveries (invitation_id, kind, channel, next_attempt_at)
      SELECT f.*, :now FROM unnest(CAST(:f_invitations AS bigint[]), CAST(:f_kinds AS text[]),
        CAST(:f_channels AS text[])) AS f(invitation_id, kind, channel)
    ), outbox AS (
      INSERT INTO outbox_messages (idempotency_key, recipient, subject, body, link)
      SELECT * FROM unnest(CAST(:o_keys AS uuid[]), CAST(:o_recipients AS text[]),
        CAST(:o_subjects AS text[]), CAST(:o_bodies AS text[]), CAST(:o_links AS text[]))
    )
    SELECT count(*) FROM d
    """
)


@dataclass
class Outcomes:
    """A batch's outcomes, column by column (``record_outcomes``)."""

    ids: list[int]
    created: list[datetime]  # the rows' created_at: with the id, the row's partition
    statuses: list[str]  # sent, delivered (on sending), queued (retry), failed
    next_at: list[datetime | None]  # retries: when
    errors: list[str | None]
    sent_invitations: set[int]
    dead_invitations: list[int]  # invitations with no channel left
    fallbacks: dict[str, list[Any]]  # the next channel's messages
    outboxes: dict[str, list[Any]]  # the log channel's outbox

    @classmethod
    def empty(cls) -> Outcomes:
        return cls([], [], [], [], [], set(), [], defaultdict(list), defaultdict(list))

    def add(
        self,
        delivery: tuple[int, datetime],
        status: str,
        at: datetime | None,
        error: str | None,
    ) -> None:
        self.ids.append(delivery[0])
        self.created.append(delivery[1])
        self.statuses.append(status)
        self.next_at.append(at)
        self.errors.append(error)

    def fallback(self, invitation_id: int, kind: str, channel: str) -> None:
        for name, value in zip(
            ("f_invitations", "f_kinds", "f_channels"),
            (invitation_id, kind, channel),
            strict=True,
        ):
            self.fallbacks[name].append(value)

    def outbox(self, key: uuid.UUID, recipient: str, subject: str, body: str, link: str) -> None:
        for name, value in zip(
            ("o_keys", "o_recipients", "o_subjects", "o_bodies", "o_links"),
            (key, recipient, subject, body, link),
            strict=True,
        ):
            self.outboxes[name].append(value)


async def record_outcomes(
    session: AsyncSession, out: Outcomes, now: datetime, reminder_at: datetime
) -> None:
    """One statement per batch, whatever its size and mix of outcomes."""
    if not out.ids:
        return
    params: dict[str, Any] = {
        "ids": out.ids,
        "created": out.created,
        "first": min(out.created),
        "last": max(out.created),
        "statuses": out.statuses,
        "next_at": out.next_at,
        "errors": out.errors,
        "now": now,
        "reminder_at": reminder_at,
        # an invitation one message of the batch reached is not failed by another's failure
        "dead": [i for i in out.dead_invitations if i not in out.sent_invitations],
    }
    for name in ("f_invitations", "f_kinds", "f_channels"):
        params[name] = out.fallbacks.get(name, [])
    for name in ("o_keys", "o_recipients", "o_subjects", "o_bodies", "o_links"):
        params[name] = out.outboxes.get(name, [])
    await session.execute(RECORD_OUTCOMES, params)


async def mark_delivered(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """rows: id, created_at, invitation_id, now (the log channel, or a channel's
    confirmation)."""
    if not rows:
        return
    params = {
        "ids": [r["id"] for r in rows],
        "created": [r["created_at"] for r in rows],
        "first": min(r["created_at"] for r in rows),
        "last": max(r["created_at"] for r in rows),
        "invitations": [r["invitation_id"] for r in rows],
        "now": rows[0]["now"],
    }
    await session.execute(
        text(
            "UPDATE deliveries d SET status = 'delivered', delivered_at = :now"
            " FROM unnest(CAST(:ids AS bigint[]), CAST(:created AS timestamptz[])) u(id, at)"
            " WHERE d.id = u.id AND d.created_at = u.at"
            " AND d.created_at BETWEEN :first AND :last"
        ),
        params,
    )
    await session.execute(
        text(
            "UPDATE invitations i SET delivered_at = coalesce(i.delivered_at, :now),"
            " status = CASE WHEN i.status IN ('queued', 'sent') THEN 'delivered'"
            " ELSE i.status END FROM invitation_keys k"
            " WHERE k.id = ANY(CAST(:invitations AS bigint[]))"
            " AND i.id = k.id AND i.created_at = k.created_at"
        ),
        params,
    )


async def undeliver(
    session: AsyncSession, delivery: tuple[int, datetime], invitation_id: int
) -> None:
    """A message reported delivered bounced after all: the delivery (id, created_at) loses its
    delivered time, and the invitation keeps one only if another of its messages was
    delivered (its messages are not older than it: its months only)."""
    await session.execute(
        text("UPDATE deliveries SET delivered_at = NULL WHERE id = :id AND created_at = :at"),
        {"id": delivery[0], "at": delivery[1]},
    )
    await session.execute(
        text(
            "UPDATE invitations i SET delivered_at = other.at,"
            " status = CASE WHEN i.status = 'delivered' AND other.at IS NULL THEN 'sent'"
            " ELSE i.status END"
            " FROM (SELECT min(d.delivered_at) AS at FROM deliveries d"
            "       WHERE d.invitation_id = :invitation_id AND d.delivered_at IS NOT NULL"
            "         AND d.created_at >= (SELECT created_at FROM invitation_keys"
            "                              WHERE id = :invitation_id)) other"
            " WHERE i.id = :invitation_id AND i.created_at ="
            " (SELECT created_at FROM invitation_keys WHERE id = :invitation_id)"
        ),
        {"invitation_id": invitation_id},
    )


# A channel answers again: its messages waiting out a backoff are due at once, in the order
# they were first queued (their creation time), still never in the region's quiet hours.
# Rows another worker holds are skipped (it is sending them already).
RECOVER_CHANNELS = text(
    f"""
    UPDATE deliveries d
    SET next_attempt_at = CASE WHEN hold.at > :now THEN hold.at ELSE d.created_at END
    FROM invitation_keys k
    JOIN invitations i ON i.id = k.id AND i.created_at = k.created_at
    JOIN organizations o ON o.id = i.organization_id
    JOIN regions rg ON rg.code = o.region_code
    CROSS JOIN LATERAL (SELECT {QUIET_HOLD} AS at) hold
    WHERE k.id = d.invitation_id AND d.created_at >= :since AND (d.id, d.created_at) IN (
      SELECT id, created_at FROM deliveries
      WHERE status = 'queued' AND attempts > 0 AND next_attempt_at > created_at
        AND channel = ANY(:channels) AND created_at >= :since
      FOR UPDATE SKIP LOCKED
    )
    """  # noqa: S608 - a fixed SQL fragment, no user input
)


# Messages held for the morning (never tried, due later: quiet hours at planning or when the
# reminder was queued) get their send time again from the current quiet hours, counted from
# ``now``: shortened or switched-off quiet hours release them, longer ones hold them longer.
REPLAN_HELD = text(
    f"""
    WITH held AS (
      SELECT d.id, d.created_at, rg.timezone, d.next_attempt_at AS was
      FROM deliveries d
      JOIN invitation_keys k ON k.id = d.invitation_id
      JOIN invitations i ON i.id = k.id AND i.created_at = k.created_at
      JOIN organizations o ON o.id = i.organization_id
      JOIN regions rg ON rg.code = o.region_code
      WHERE d.status = 'queued' AND d.attempts = 0 AND d.next_attempt_at > :now
        AND d.created_at >= :since
      FOR UPDATE OF d SKIP LOCKED
    ), moved AS (
      SELECT held.id, held.created_at, {QUIET_HOLD.replace("rg.", "held.")} AS at, held.was
      FROM held
    )
    UPDATE deliveries d SET next_attempt_at = moved.at
    FROM moved WHERE d.id = moved.id AND d.created_at = moved.created_at
      AND d.created_at >= :since AND moved.at IS DISTINCT FROM moved.was
    RETURNING moved.at <= :now AS released
    """  # noqa: S608 - a fixed SQL fragment, no user input
)


async def replan_held(
    session: AsyncSession, now: datetime, quiet: tuple[int, int], *, apply: bool
) -> tuple[int, int, int]:
    """(held, moved, released now) of the messages waiting out quiet hours; ``apply`` False:
    counted inside a savepoint that is rolled back (a dry run)."""
    params = {"now": now, "quiet_start": quiet[0], "quiet_end": quiet[1], "since": since(now)}
    held = int(
        await session.scalar(
            text(
                "SELECT count(*) FROM deliveries WHERE status = 'queued' AND attempts = 0"
                " AND next_attempt_at > :now AND created_at >= :since"
            ),
            {"now": now, "since": params["since"]},
        )
        or 0
    )
    nested = await session.begin_nested()
    rows = (await session.execute(REPLAN_HELD, params)).scalars().all()
    if apply:
        await nested.commit()
    else:
        await nested.rollback()
    return held, len(rows), sum(1 for r in rows if r)


async def recover_channels(
    session: AsyncSession, channels: list[str], now: datetime, quiet: tuple[int, int]
) -> None:
    if channels:
        params = {
            "channels": channels,
            "now": now,
            "quiet_start": quiet[0],
            "quiet_end": quiet[1],
            "since": since(now),
        }
        await session.execute(RECOVER_CHANNELS, params)


async def queue_reminders(
    session: AsyncSession, now: datetime, limit: int, quiet_start: int, quiet_end: int
) -> int:
    result = await session.execute(
        QUEUE_REMINDERS,
        {"now": now, "limit": limit, "quiet_start": quiet_start, "quiet_end": quiet_end},
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def delivery_by_key(session: AsyncSession, key: uuid.UUID) -> Delivery | None:
    """The delivery of an idempotency key: the key encodes the row's ``created_at``, so one
    partition is read (a key made before the partitioning is looked up in every one)."""
    stmt = select(Delivery).where(Delivery.idempotency_key == key)
    at = key_time(key)
    if at is not None:
        stmt = stmt.where(Delivery.created_at == at)
    return await session.scalar(stmt.with_for_update())


async def outbox(session: AsyncSession, limit: int) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    return list((await session.scalars(stmt)).all())


async def invitations_of_person(session: AsyncSession, person_key: bytes) -> list[Any]:
    stmt = (
        select(
            Invitation,
            # the name with its address: ten organizations may share a name
            func.concat_ws(", ", Organization.short_name, func.nullif(Organization.address, "")),
            Service.name,
            ServiceRecord.served_at,
        )
        .join(ServiceRecord, ServiceRecord.id == Invitation.service_record_id)
        .join(Organization, Organization.id == Invitation.organization_id)
        .join(Service, Service.code == ServiceRecord.service_code)
        .where(Invitation.person_key == person_key, Invitation.sent_at.is_not(None))
        .order_by(Invitation.sent_at.desc())
        .limit(100)
    )
    return list((await session.execute(stmt)).all())


# --- the funnel: one row per group, every stage counted per service record ---

# The funnel's window is the day of the service in its region's calendar: the day a
# questionnaire records as ``served_on``. So the funnel's records are those the indicators'
# coverage divides by, and its completed ones the questionnaires about them (docs/outreach.md).
SERVICE_DAY = cast(func.timezone(Region.timezone, ServiceRecord.served_at), Date)

FUNNEL_GROUPS: dict[str, tuple[Any, Any]] = {
    "all": (literal_column("'all'"), literal_column("'Всего'")),
    "organization": (Organization.ogrn, Organization.short_name),
    "type": (OrganizationType.code, OrganizationType.name),
    "region": (Region.code, Region.name),
    "day": (
        func.to_char(SERVICE_DAY, "YYYY-MM-DD"),
        func.to_char(SERVICE_DAY, "DD.MM.YYYY"),
    ),
}
SKIP_REASONS = (
    "no_confirmed_account",
    "fatigue_organization",
    "fatigue_week",
    "sampled_out",
    "no_channel",
    "opted_out",
)
ORG_SCOPE = ScopeColumns(Organization.id, Organization.region_code, Organization.founder_id)


def funnel_query(scope: Scope, group: str, start: date, end: date) -> Select[Any]:
    """Every stage per service record served ``start``..``end`` (days, inclusive) by
    ``SERVICE_DAY``; records without an outreach task (back-filled history) are reported too.

    Each record's invitations are read through a LATERAL subquery (the index on
    ``service_record_id``), so the cost follows the window's records. A grouped subquery over
    every invitation cannot be joined by index: it aggregated the whole country's invitations
    for one organization's page, and on stale statistics it was re-aggregated per record (50 s
    for the first organization page of a freshly seeded demo)."""
    per_record = (
        select(
            func.bool_or(Invitation.sent_at.is_not(None)).label("invited"),
            func.bool_or(Invitation.delivered_at.is_not(None)).label("delivered"),
            func.bool_or(Invitation.opened_at.is_not(None)).label("opened"),
            func.bool_or(Invitation.started_at.is_not(None)).label("started"),
            func.bool_or(Invitation.completed_at.is_not(None)).label("completed"),
            func.bool_and(Invitation.status == "failed").label("failed"),
        )
        .where(Invitation.service_record_id == ServiceRecord.id)
        .lateral("per_record")
    )
    key, label = FUNNEL_GROUPS[group]

    def count_if(cond: Any) -> Any:
        return func.count().filter(cond)

    stmt = (
        select(
            key.label("key"),
            label.label("label"),
            func.count().label("reported"),
            count_if(OutreachTask.id.is_not(None)).label("pending"),
            count_if(OutreachOutcome.status == "planned").label("eligible"),
            *(count_if(OutreachOutcome.reason == r).label(r) for r in SKIP_REASONS),
            count_if(per_record.c.invited).label("invited"),
            count_if(per_record.c.failed).label("failed"),
            count_if(per_record.c.delivered).label("delivered"),
            count_if(per_record.c.opened).label("opened"),
            count_if(per_record.c.started).label("started"),
            count_if(per_record.c.completed).label("completed"),
        )
        .select_from(ServiceRecord)
        .outerjoin(OutreachTask, OutreachTask.service_record_id == ServiceRecord.id)
        .outerjoin(OutreachOutcome, OutreachOutcome.service_record_id == ServiceRecord.id)
        .join(Organization, Organization.id == ServiceRecord.organization_id)
        .join(OrganizationType, OrganizationType.code == Organization.type_code)
        .join(Region, Region.code == Organization.region_code)
        .outerjoin(per_record, true())
        .where(
            # a day in any Russian time zone lies within a day either side in UTC (the index)
            ServiceRecord.served_at >= datetime.combine(start - timedelta(days=1), time(), UTC),
            ServiceRecord.served_at < datetime.combine(end + timedelta(days=2), time(), UTC),
            SERVICE_DAY.between(start, end),
        )
    )
    stmt = apply_scope(stmt, scope, ORG_SCOPE)
    if group == "all":
        return stmt
    stmt = stmt.group_by(key, label)
    if group == "day":
        return stmt.order_by(key.desc())
    return stmt.order_by(func.count().desc(), key)


async def funnel(
    session: AsyncSession, scope: Scope, group: str, start: date, end: date, limit: int
) -> list[Any]:
    stmt = funnel_query(scope, group, start, end).limit(limit)
    return list((await session.execute(stmt)).all())


# --- statements on invitations and deliveries that other domains compose into their own ---
# (outreach owns both tables: surveys and the demo put these fragments in their statements, so a
# submission stays one statement.)

# The first opening of a usable link (``:h`` token hash, ``:now``).
OPEN_LINK = """
  UPDATE invitations i SET opened_at = CAST(:now AS timestamptz)
  FROM invitation_keys k
  WHERE k.token_hash = :h AND i.id = k.id AND i.created_at = k.created_at
    AND i.opened_at IS NULL AND i.completed_at IS NULL
    AND i.status <> 'used' AND i.expires_at > CAST(:now AS timestamptz)
"""
# The answering link (``:id``) completed and the record's other links (``:ids``) used up
# (found by (id, created_at) through the key table: one partition each).
COMPLETE_LINKS = """
  UPDATE invitations i SET
    status = CASE WHEN i.id = :id THEN 'completed' ELSE 'used' END,
    completed_at = CASE WHEN i.id = :id THEN CAST(:now AS timestamptz) END,
    started_at = CASE WHEN i.id = :id THEN coalesce(i.started_at, :now) ELSE i.started_at END
  FROM invitation_keys k
  WHERE k.id = ANY(:ids) AND i.id = k.id AND i.created_at = k.created_at
"""
# Their queued messages cancelled (``:since``: ``since(now)``, queued messages' months only).
CANCEL_QUEUED = """
  UPDATE deliveries d SET status = 'cancelled'
  FROM (SELECT id, created_at FROM invitation_keys WHERE id = ANY(:ids)) l
  WHERE d.status = 'queued' AND d.invitation_id = l.id AND d.created_at >= l.created_at
    AND d.created_at >= CAST(:since AS timestamptz)
"""
# Delivered invitations for the rows of a CTE ``recs`` (id, record_id, organization_id,
# served_at, person_key) passing ``filter``: the demo's history (no usable link). Those passing
# ``completed`` were answered (one per history answer), so the funnel, counted per record, ends
# in as many completed questionnaires as the answers about those services.
HISTORY_INVITATIONS = """
, history_invitations AS (
  SELECT nextval('invitations_id_seq') AS id, gen_random_uuid() AS public_id,
    id AS service_record_id,
    person_key, organization_id, sha256(convert_to('link/' || id, 'UTF8')) AS token_hash,
    CASE WHEN {completed} THEN 'completed' ELSE 'delivered' END AS status,
    served_at + interval '1 day' AS created_at, done.at
  FROM recs
  CROSS JOIN LATERAL (
    SELECT CASE WHEN {completed} THEN served_at + interval '1 day 2 hours' END AS at
  ) done
  WHERE ({filter}) OR ({completed})
), history_invitation_keys AS (
  INSERT INTO invitation_keys (id, token_hash, public_id, service_record_id, created_at)
  SELECT id, token_hash, public_id, service_record_id, created_at FROM history_invitations
)
INSERT INTO invitations (id, public_id, service_record_id, person_key, organization_id,
    token_hash, status, created_at, expires_at, sent_at, delivered_at, opened_at, started_at,
    completed_at, questionnaire_version)
SELECT id, public_id, service_record_id, person_key, organization_id, token_hash, status,
       created_at,
       created_at + interval '30 days', created_at, created_at, at, at, at,
       :questionnaire_version
FROM history_invitations
"""


async def mark_started(session: AsyncSession, invitation_id: int, now: datetime) -> None:
    await session.execute(
        text(
            "UPDATE invitations SET started_at = :now WHERE id = :id"
            " AND created_at = (SELECT created_at FROM invitation_keys WHERE id = :id)"
            " AND started_at IS NULL"
        ),
        {"id": invitation_id, "now": now},
    )


async def rekey_invitations(session: AsyncSession) -> int:
    """Old → new person key from the temporary table ``pii_rekey`` (``otklik keys rotate-pii``);
    the rows changed."""
    result = await session.execute(
        text(
            "UPDATE invitations t SET person_key = m.new FROM pii_rekey m"
            " WHERE t.person_key = m.old"
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
