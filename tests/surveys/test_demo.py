"""The demo's citizens answer through the service: a stable share, dated after the service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.demo.citizens import answer_invitations, quality
from otklik.outreach.models import Invitation
from otklik.registry.models import Region
from otklik.surveys.models import Response
from tests.factories import create_organization, service_record, snils
from tests.outreach.test_planning import adult
from tests.surveys.helpers import invite


async def test_citizens_answer_a_share_dated_after_the_service(
    session: AsyncSession, settings: Settings
) -> None:
    org = await create_organization(session)
    served = datetime.now(UTC) - timedelta(days=5)
    records = [
        service_record(org.ogrn, recipient=adult(snils()), served_at=served.isoformat())
        for _ in range(60)
    ]
    await invite(session, settings, records, org=org)
    await session.execute(
        update(Invitation).values(sent_at=datetime.now(UTC) - timedelta(minutes=5))
    )
    assert await answer_invitations(session, settings) == 0  # not in the demo: nothing
    demo = settings.model_copy(update={"env": "demo"})
    answered = await answer_invitations(session, demo)
    assert 15 <= answered <= 45, answered  # about 45 % of 60
    assert await answer_invitations(session, demo) == 0  # the others never answer
    total = await session.scalar(select(func.count()).select_from(Response))
    assert total == answered
    days = (await session.scalars(select(Response.answered_on))).all()
    # A service's day is the region's calendar day, not the UTC one (they differ 21:00-24:00 UTC)
    tz = await session.scalar(select(Region.timezone).where(Region.code == org.region_code))
    assert tz is not None
    served_on = served.astimezone(ZoneInfo(tz)).date()
    assert all(served_on <= d <= served_on + timedelta(days=3) for d in days), (served_on, days)
    assert len(set(days)) > 1
    assert 2.4 <= quality(1) <= 4.9
    assert quality(1) != quality(2)
