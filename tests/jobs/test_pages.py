"""``/admin/jobs``: every job with its Russian label, the history filtered, admins only."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.roles import Role
from otklik.jobs import repository
from otklik.jobs.pages import duration, period
from otklik.jobs.service import Run
from otklik.kit import fmt
from otklik.kit.clock import now_utc
from otklik.schedule import SCHEDULE
from tests.factories import create_user, login
from tests.textscan import raw_codes


async def test_the_page_shows_each_job_and_the_filtered_history(
    session: AsyncSession, client: AsyncClient
) -> None:
    admin = await create_user(session, Role.admin)
    job = SCHEDULE[0].name
    worker = f"host-{uuid.uuid4().hex[:6]}:7"
    await repository.claim(session, job, SCHEDULE[0].interval, worker)
    at = now_utc()
    for i, error in enumerate((None, "psycopg.errors.UniqueViolation")):
        await repository.record(
            session,
            Run(
                job=job,
                worker=worker,
                # the first run began 2.5 s after its period (the second: recorded before 0290)
                scheduled_at=None if i else at - timedelta(milliseconds=2500),
                started_at=at + timedelta(seconds=i),
                finished_at=at + timedelta(seconds=i + 1),
                duration_ms=1500,
                done=1234,
                error=error,
                error_detail="SQLSTATE 23505" if error else None,
            ),
        )
    assert await login(client, admin.email) == 303
    page = await client.get("/admin/jobs")
    assert page.status_code == 200
    html = page.text
    for entry in SCHEDULE:
        assert entry.label in html
    assert "выполнено: 1\u00a0234" in html
    assert "1,5\u00a0с" in html
    assert "Опоздание" in html
    assert "2,5\u00a0с" in html  # the first run's late start
    for moment in (at, at + timedelta(seconds=1), at + timedelta(seconds=2)):  # starts and ends
        assert fmt.moment(moment, seconds=True) in html
    assert "<code>psycopg.errors.UniqueViolation</code>" in html
    assert html.count(worker) == 2
    # the text outside <code> (and outside tags) names no job by its code
    body = html.split("<main", 1)[1]
    words = re.sub(r"<[^>]+>", " ", re.sub(r"<code>.*?</code>", " ", body, flags=re.S))
    assert raw_codes(words) == []

    failed = await client.get("/admin/jobs", params={"job": job, "failed": "true"})
    assert failed.text.count(worker) == 1
    assert "Найдено: 1." in failed.text
    other = await client.get("/admin/jobs", params={"job": SCHEDULE[1].name})
    assert worker not in other.text
    # an unknown job in the filter: the whole history, not an error
    assert (await client.get("/admin/jobs", params={"job": "<x>"})).status_code == 200


async def test_the_page_is_for_administrators_only(
    session: AsyncSession, client: AsyncClient
) -> None:
    assert (await client.get("/admin/jobs")).status_code == 303  # to the sign-in
    user = await create_user(session, Role.coordinator)
    await login(client, user.email)
    assert (await client.get("/admin/jobs")).status_code == 403


def test_periods_and_durations_read_in_russian() -> None:
    assert [period(s) for s in (1, 30, 60, 600, 3600, 86400)] == [
        "1\u00a0с",
        "30\u00a0с",
        "1\u00a0мин",
        "10\u00a0мин",
        "1\u00a0ч",
        "1\u00a0сут.",
    ]
    assert duration(250) == "250\u00a0мс"
    assert duration(1500) == "1,5\u00a0с"
    assert duration(95_000) == "1\u00a0мин 35\u00a0с"
    assert duration(None) == "—"
