"""``/admin/jobs``: each periodic job's schedule and last run, and the history of runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.jobs import repository
from otklik.jobs.models import JobRun
from otklik.jobs.repository import JobState
from otklik.jobs.service import FREQUENT_SECONDS, KEEP_DAYS
from otklik.kit.fmt import NBSP, integer, num
from otklik.kit.pagination import PageNo, PageParams
from otklik.kit.web import DB, render
from otklik.schedule import SCHEDULE

router = APIRouter(include_in_schema=False)
AdminUser = Annotated[User, Depends(require_roles(Role.admin))]
PER_PAGE = 50


@dataclass(frozen=True)
class Row:
    name: str
    label: str
    period: str
    state: JobState | None


def period(seconds: int) -> str:
    """``1`` → "1 с", ``600`` → "10 мин", ``3600`` → "1 ч" (the schedule's intervals are round)."""
    for size, unit in ((86400, "сут."), (3600, "ч"), (60, "мин")):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{NBSP}{unit}"
    return f"{seconds}{NBSP}с"


def duration(ms: int | None) -> str:
    """``250`` → "250 мс", ``1500`` → "1,5 с", ``95000`` → "1 мин 35 с"."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{integer(ms)}{NBSP}мс"
    if ms < 60_000:
        return f"{num(ms / 1000, 1)}{NBSP}с"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{integer(minutes)}{NBSP}мин {seconds}{NBSP}с"


def late(run: JobRun) -> str:
    """How long after its period began a run started ("—" for runs recorded before it was kept)."""
    if run.scheduled_at is None:
        return "—"
    return duration(max(0, round((run.started_at - run.scheduled_at).total_seconds() * 1000)))


@router.get("/admin/jobs", response_class=HTMLResponse)
async def jobs_page(
    request: Request,
    session: DB,
    user: AdminUser,
    page: PageNo = 1,
    job: Annotated[str, Query(max_length=100)] = "",
    failed: bool = False,
) -> Response:
    states = await repository.states(session)
    rows = [Row(e.name, e.label, period(e.interval), states.get(e.name)) for e in SCHEDULE]
    labels = {e.name: e.label for e in SCHEDULE}
    job = job if job in labels else ""
    history = await repository.history(
        session, PageParams.parse(page, PER_PAGE, "", ""), job=job, failed_only=failed
    )
    return render(
        request,
        "jobs/index.html",
        rows=rows,
        labels=labels,
        history=history,
        job=job,
        failed=failed,
        duration=duration,
        late=late,
        frequent=period(FREQUENT_SECONDS),
        keep_days=KEEP_DAYS,
    )
