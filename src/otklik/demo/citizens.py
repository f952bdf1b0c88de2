"""The demo's citizens answer about 45 % of their invitations, through the surveys service.

Each organization has a stable quality (some good, some weak) so cabinets differ; answers
about past services are dated a few days after the service, so history spreads over the demo's
two weeks. Runs as a worker job that does nothing outside the demo.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.demo.comments import demo_comment
from otklik.outreach.citizen import LinkGone
from otklik.outreach.links import link_token
from otklik.surveys import repository, service
from otklik.surveys.definitions import Question

SHARE = 0.45
BATCH = 100
DELAY = timedelta(seconds=90)  # people read the message first; visitors get time to try links


def quality(organization_id: int) -> float:
    """An organization's typical rating: most are good, some are weak."""
    return 2.4 + 2.5 * math.sqrt(random.Random(organization_id).random())


def _rating(rng: random.Random, base: float) -> int:
    return max(1, min(5, round(rng.gauss(base, 0.8))))


def answers(
    rng: random.Random, questions: tuple[Question, ...], base: float, sector: str
) -> list[tuple[str, str]]:
    """A plausible filled form for an organization of quality ``base``."""
    out: dict[str, str] = {}
    for q in questions:
        if q.show_if is not None and out.get(q.show_if.code) != q.show_if.equals:
            continue
        if q.type == "rating":
            out[q.code] = "na" if q.not_used and rng.random() < 0.15 else str(_rating(rng, base))
        elif q.type == "yesno":
            if q.code == "disability":
                out[q.code] = rng.choices(["yes", "no", "prefer_not"], [0.12, 0.8, 0.08])[0]
            else:
                out[q.code] = "yes" if rng.random() < (base - 1) / 4 else "no"
        elif q.type == "choice":
            out[q.code] = rng.choice(q.options).value
    overall = int(out.get("overall", "4"))
    comment = demo_comment(rng, sector, overall)
    if comment:
        out["comment"] = comment
    return list(out.items())


async def answer_invitations(session: AsyncSession, settings: Settings) -> int:
    """Worker job (demo only): answer a batch of delivered invitations as their people would."""
    if settings.env != "demo":
        return 0
    now = datetime.now(UTC)
    ids = await repository.demo_unanswered(session, round(256 * SHARE), now - DELAY, BATCH)
    done = 0
    for public_id in ids:
        token = link_token(settings.secret_key, public_id)
        rng = random.Random(public_id.int)
        try:
            form = await service.open_form(session, token)
        except LinkGone:
            continue  # another representative answered about this service
        if form is None:
            continue
        ctx = form.ctx
        fields = answers(rng, form.questions, quality(ctx.organization_id), ctx.sector)
        day: date = min(ctx.today, ctx.served_on + timedelta(days=rng.choice([0, 0, 1, 1, 2, 3])))
        checked = await service.submit(session, settings, form, fields, answered_on=day)
        done += not checked.errors
    return done
