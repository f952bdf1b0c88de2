"""A year of answered questionnaires for the demo, so cabinets show figures at once.

The simulator's citizens answer live, but only for the last two weeks; indicators need
n >= 10, a monthly trend and last year's value. This writes, once, responses for each of the
previous ``MONTHS`` full months for the simulator's organizations: answers as
``citizens.answers`` gives them for the organization's quality, drifting slowly (some
organizations improve, some worsen), rows built by ``surveys.service.response_rows`` and
written set-based. Comments are synthetic (``demo_comment``) and carry no personal data, so
they are not run through the NER masking (about 3 ms each; see docs/performance.md).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.demo import repository
from otklik.demo.citizens import answers, quality
from otklik.demo.simulator import SOURCE
from otklik.indicators.tasks import drain
from otklik.intake.repository import get_source_by_name
from otklik.kit.clock import moscow_date
from otklik.surveys import repository as surveys_repository
from otklik.surveys import service
from otklik.surveys.answers import check
from otklik.surveys.definitions import DEFAULT_VERSION, Definition

MONTHS = 13
BUSY = 12  # the first organizations (the demo organization user's first) get more answers
CHUNK = 5000
CHANNELS = ("portal", "portal", "portal", "email", "sms")
ADULT = ("18-29", "30-44", "45-59", "60-74", "75+")
MINOR = ("0-6", "7-13", "14-17")
COMMENT_KEPT = 0.6  # demo_comment comments ~50 % of answers; the history keeps ~30 %
NEVER = datetime(2000, 1, 1, tzinfo=UTC)  # the history has no links


def month_starts(today: date, months: int = MONTHS) -> list[date]:
    """The first days of the ``months`` full months before ``today``'s month, oldest first."""
    out, day = [], today.replace(day=1)
    for _ in range(months):
        day = (day - timedelta(days=1)).replace(day=1)
        out.append(day)
    return out[::-1]


def drift(organization_id: int) -> float:
    """How much an organization's quality moved over the history (+: it improved)."""
    return random.Random(organization_id * 7919).uniform(-0.7, 0.7)


def _response(
    rng: random.Random, d: Definition, org: Any, month: date, base: float
) -> tuple[dict[str, Any], list[tuple[str, int]], list[tuple[str, str]]]:
    next_month = (month + timedelta(days=32)).replace(day=1)
    served = month + timedelta(days=rng.randrange((next_month - month).days))
    minor = rng.random() < 0.2
    ctx = SimpleNamespace(
        organization_id=org.organization_id,
        type_code=org.type_code,
        region_code=org.region_code,
        founder_id=org.founder_id,
        service_code=rng.choice(org.services),
        life_situation_code=None,
        served_on=served,
        channel=rng.choice(CHANNELS),
        respondent="representative" if minor and rng.random() < 0.8 else "recipient",
        age_band=rng.choice(MINOR if minor else ADULT),
    )
    questions = d.for_sector(org.sector)
    form = service.Form(0, "", NEVER, False, ctx, d, questions, [], {})
    fields = answers(rng, questions, base, org.sector)
    if rng.random() > COMMENT_KEPT:
        fields = [(code, value) for code, value in fields if code != "comment"]
    checked = check(questions, fields, complete=True)
    delay = timedelta(days=rng.choice((0, 0, 1, 1, 2, 3)))
    answered = min(served + delay, next_month - timedelta(days=1))
    return service.response_rows(form, checked.values, answered)


async def seed_answers(session: AsyncSession, ogrns: list[str], today: date) -> int:
    """Write the history for the organizations ``ogrns``, busiest first; once only (nothing
    when a response older than this month exists). Returns the number of responses."""
    months = month_starts(today)
    # the busiest get every month since January of last year (annual targets need it)
    long = month_starts(today, max(MONTHS, 11 + today.month))
    if not ogrns or await repository.has_answers_before(session, today.replace(day=1)):
        return 0
    d = await service.definition(session, DEFAULT_VERSION)
    orgs = {o.ogrn: o for o in await repository.organizations(session, ogrns)}
    batch: list[Any] = []
    total = 0
    for i, ogrn in enumerate(dict.fromkeys(ogrns)):
        org = orgs.get(ogrn)
        if org is None or not org.services:
            continue
        rng = random.Random(org.organization_id)
        now_quality, moved = quality(org.organization_id), drift(org.organization_id)
        span = long if i < BUSY else months
        for m, month in enumerate(span):
            base = now_quality - moved * (len(span) - 1 - m) / (len(span) - 1)
            n = rng.randint(30, 40) if i < BUSY else rng.randint(10, 13)
            batch += [_response(rng, d, org, month, base) for _ in range(n)]
        if len(batch) >= CHUNK:
            total += await _write(session, batch)
            batch = []
    return total + await _write(session, batch)


async def _write(session: AsyncSession, batch: list[Any]) -> int:
    responses = [r for r, _, _ in batch]
    items, comments = [], []
    for r, its, cms in batch:
        key = (r["rid"], r["organization_id"], r["answered_on"])
        items += [(key[0], code, value, key[1], key[2]) for code, value in its]
        comments += [(key[0], code, body, key[1], key[2]) for code, body in cms]
    if responses:
        await surveys_repository.insert_responses(session, responses, items, comments)
    return len(responses)


async def seed(session: AsyncSession, ogrns: list[str]) -> int:
    """The demo's history for the simulator's places ``ogrns`` (the demo organization user's
    first), up to the end of last month in Moscow, with the service records and delivered
    invitations behind it (so coverage and response rate stay plausible)."""
    today = moscow_date()
    written = await seed_answers(session, ogrns, today)
    source = await get_source_by_name(session, SOURCE)
    if written and source is not None:
        await repository.add_history_records(session, source.id, today.replace(day=1))
    await drain(session)  # the history counted in the indicators before the demo serves
    return written
