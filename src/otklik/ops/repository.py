"""Read-only figures for readiness and metrics: queues, deliveries, the schema version.

Raw SQL over several domains' tables on purpose: this package reads, never writes, and must keep
working (and say what is wrong) when a domain's models would not load against the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity import repository as identity_repository
from otklik.intake import repository as intake_repository
from otklik.migrate import alembic_config
from otklik.outreach import repository as outreach_repository


@dataclass(frozen=True)
class Queue:
    """Items waiting, and how long the oldest *due* one has waited (seconds; 0 if none)."""

    name: str
    depth: int
    age_seconds: float


# planning: records whose invitation is not decided; delivery: messages due to be sent (held
# messages in quiet hours are not due); analysis: comments (masked at answer time) awaiting text
# analysis (answers carry only a date: the age counts from that day's Moscow midnight);
# exchange: answers not yet packed for ИАС МКГУ plus batches not yet acknowledged (the age is
# the oldest due batch's; the packing runs every minute).
QUEUES_SQL = text(
    """
    SELECT
      (SELECT count(*) FROM outreach_tasks WHERE status = 'pending'),
      (SELECT extract(epoch FROM now() - min(run_after)) FROM outreach_tasks
        WHERE status = 'pending' AND run_after <= now()),
      (SELECT count(*) FROM deliveries WHERE status = 'queued'),
      (SELECT extract(epoch FROM now() - min(next_attempt_at)) FROM deliveries
        WHERE status = 'queued' AND next_attempt_at <= now()),
      (SELECT count(*) FROM response_comments c WHERE NOT EXISTS (
        SELECT 1 FROM comment_analyses a WHERE a.response_id = c.response_id AND a.code = c.code)),
      (SELECT extract(epoch FROM now() - (min(c.answered_on)::timestamp
        AT TIME ZONE 'Europe/Moscow')) FROM response_comments c WHERE NOT EXISTS (
        SELECT 1 FROM comment_analyses a WHERE a.response_id = c.response_id AND a.code = c.code)),
      (SELECT count(*) FROM exchange_queue),
      (SELECT count(*) FROM exchange_batches WHERE status IN ('pending', 'retrying')),
      (SELECT extract(epoch FROM now() - min(created_at)) FROM exchange_batches
        WHERE status IN ('pending', 'retrying') AND next_attempt_at <= now())
    """
)


async def ping(session: AsyncSession) -> None:
    await session.execute(text("SELECT 1"))


async def schema_version(session: AsyncSession) -> str | None:
    """The applied migration; None on a database never migrated."""
    if await session.scalar(text("SELECT to_regclass('alembic_version')")) is None:
        return None
    version = await session.scalar(text("SELECT version_num FROM alembic_version"))
    return str(version) if version else None


@cache
def head_version() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def queues(session: AsyncSession) -> list[Queue]:
    row = (await session.execute(QUEUES_SQL)).one()
    age = [float(x or 0) for x in row]
    return [
        Queue("planning", int(row[0]), age[1]),
        Queue("delivery", int(row[2]), age[3]),
        Queue("analysis", int(row[4]), age[5]),
        Queue("exchange", int(row[6]) + int(row[7]), age[8]),
    ]


async def deliveries_by_channel(session: AsyncSession) -> list[tuple[str, str, int]]:
    rows = await session.execute(
        text("SELECT channel, status, count(*) FROM deliveries GROUP BY channel, status")
    )
    return [(str(c), str(s), int(n)) for c, s, n in rows]


# --- PII key rotation (ops.keys) ---


async def contacts_after(
    session: AsyncSession, after: int, limit: int
) -> list[tuple[int, bytes, bytes]]:
    rows = await session.execute(
        text(
            "SELECT id, person_key, sealed FROM contacts WHERE id > :after ORDER BY id LIMIT :n"
            " FOR UPDATE"
        ),
        {"after": after, "n": limit},
    )
    return [(int(i), bytes(k), bytes(s)) for i, k, s in rows]


async def replace_person_keys(
    session: AsyncSession, mapping: dict[bytes, bytes]
) -> tuple[int, int, int]:
    """Old → new person key in service records, invitations and users; the rows changed."""
    if not mapping:
        return 0, 0, 0
    await session.execute(
        text("CREATE TEMP TABLE pii_rekey (old bytea PRIMARY KEY, new bytea) ON COMMIT DROP")
    )
    await session.execute(
        text(
            "INSERT INTO pii_rekey SELECT * FROM unnest(CAST(:old AS bytea[]),"
            " CAST(:new AS bytea[]))"
        ),
        {"old": list(mapping), "new": list(mapping.values())},
    )
    records = await intake_repository.rekey_service_records(session)
    invitations = await outreach_repository.rekey_invitations(session)
    users = await identity_repository.rekey_users(session)
    await session.execute(text("DROP TABLE pii_rekey"))
    return records, invitations, users
