"""One questionnaire per service record: the first completed answer uses up every link."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.outreach.citizen import LinkGone, complete, open_link
from otklik.outreach.links import link_token
from otklik.outreach.models import Delivery, Invitation
from otklik.outreach.service import plan
from tests.factories import create_organization, service_record, snils
from tests.outreach.test_planning import send


async def test_the_first_answer_uses_up_the_other_parents_link(
    session: AsyncSession, settings: Settings
) -> None:
    org = await create_organization(session)
    parent = {"relation": "parent", "portal_account_confirmed": True}
    child = service_record(
        org.ogrn,
        recipient={"snils": snils(), "birth_date": "2016-01-01"},
        representatives=[{"snils": snils(), **parent}, {"snils": snils(), **parent}],
    )
    await send(session, [child])
    await plan(session, settings)
    mother, father = (await session.scalars(select(Invitation).order_by(Invitation.id))).all()
    assert await complete(session, mother.id)
    assert not await complete(session, father.id)  # one questionnaire per service record
    assert not await complete(session, mother.id)  # and only once
    await session.refresh(mother)
    await session.refresh(father)
    assert mother.completed_at is not None
    assert (father.status, father.completed_at) == ("used", None)
    # nothing more is sent about this record
    statuses = set(await session.scalars(select(Delivery.status)))
    assert statuses == {"cancelled"}
    for inv in (mother, father):
        with pytest.raises(LinkGone):
            await open_link(session, link_token(settings.secret_key, inv.public_id))
