"""Demo of the urgent triage queue: once the worker has queued the demo's urgent flags, a
few are reviewed through the real service (two confirmed, one "not urgent"), so the queue
shows every state. Does nothing outside the demo or once three reviews exist."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.identity.audit import Actor
from otklik.insights.models import UrgentReview
from otklik.insights.triage import review
from otklik.kit.clock import now_utc
from otklik.kit.scope import Scope

DECISIONS = ("confirmed", "not_urgent", "confirmed")


async def review_some(session: AsyncSession, settings: Settings) -> int:
    """Worker job (demo only): review the oldest queued flags until three are reviewed."""
    if settings.env != "demo":
        return 0
    done = await session.scalar(
        select(func.count()).select_from(UrgentReview).where(UrgentReview.state != "new")
    )
    todo = DECISIONS[int(done or 0) :]
    if not todo:
        return 0
    queued = (
        await session.execute(
            select(UrgentReview.response_id, UrgentReview.code)
            .where(UrgentReview.state == "new")
            .order_by(UrgentReview.flagged_at, UrgentReview.response_id)
            .limit(len(todo))
        )
    ).all()
    actor = Actor.system("demo")
    for (response_id, code), decision in zip(queued, todo, strict=False):
        await review(session, Scope.country(), actor, response_id, code, decision, None, now_utc())
    return 0  # no need to repeat at once
