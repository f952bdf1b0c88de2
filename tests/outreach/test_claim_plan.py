"""The claim reads each message's organization by its id, whatever the statistics say.

Right after a month's partition of ``service_records`` gets its first rows (or a bulk load),
its statistics say nothing; PostgreSQL then estimated the record subquery at one row per
partition and joined the organizations by hash *inside* the loop over the messages: every
organization read and hashed once per message (a claim of 1 000 messages at 500
organizations: 295–371 ms against 64–81 ms, docs/performance.md, helper deliv20)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.kit.clock import now_utc
from otklik.outreach import repository
from tests.factories import create_organization
from tests.outreach.test_delivery import configured, invite


def _scans(node: dict[str, Any], relation: str) -> list[dict[str, Any]]:
    found = [node] if node.get("Relation Name") == relation else []
    for child in node.get("Plans", []):
        found += _scans(child, relation)
    return found


async def test_the_claim_reads_each_messages_organization_by_its_id(
    session: AsyncSession, settings: Settings
) -> None:
    s = configured(settings, portal_notify_url="http://127.0.0.1:9/notify")
    for _ in range(30):  # a register of some size: a hash of it per message costs
        await create_organization(session)
    await invite(session, s, n=20)
    # the records' partitions as a bulk load or a new month leaves them: no statistics yet
    await session.execute(text("ANALYZE organizations"))
    await session.execute(
        text(
            "DELETE FROM pg_statistic WHERE starelid IN (SELECT c.oid FROM pg_class c"
            " JOIN pg_inherits h ON h.inhrelid = c.oid"
            " WHERE h.inhparent = 'service_records'::regclass)"
        )
    )
    await session.execute(
        text(
            "UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid IN"
            " (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'service_records'::regclass)"
        )
    )
    now = now_utc()
    plan = await session.scalar(
        text("EXPLAIN (FORMAT JSON) " + str(repository.CLAIM_DELIVERIES.text)),
        {"now": now, "since": repository.since(now), "limit": 1000},
    )
    [scan] = _scans(plan[0]["Plan"], "organizations")
    # a lookup by the message's organization (an index or a filtered scan per message), not a
    # scan of the whole register
    lookup = str(scan.get("Index Cond", "")) + str(scan.get("Filter", ""))
    assert "organization_id" in lookup, scan
