"""The funnel and the indicators agree: the same window (the day of the service in the
region's calendar) and population, so the funnel's completed questionnaires are the
indicators' questionnaires by service date (issue 16)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.identity.roles import Role
from otklik.outreach import funnel
from tests.factories import create_organization, create_user, login, service_record, snils
from tests.outreach.test_planning import adult
from tests.surveys.helpers import form, invite

NOVOSIBIRSK = ZoneInfo("Asia/Novosibirsk")  # region 54, Moscow + 4 hours


def _at(day: object, hour: int, minute: int = 0) -> str:
    local = datetime.combine(day, time(hour, minute), NOVOSIBIRSK)  # type: ignore[arg-type]
    return local.astimezone(UTC).isoformat()


async def test_funnel_completed_equals_questionnaires_by_service_date(
    session: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    org = await create_organization(session, region="54")
    other = await create_organization(session, region="54")
    day = datetime.now(NOVOSIBIRSK).date() - timedelta(days=2)  # a past local day, any hour
    served = [_at(day, 10, m) for m in range(11)]
    served.append(_at(day, 2))  # local day ``day``; in Moscow still the day before
    served.append(_at(day + timedelta(days=1), 1))  # Moscow's ``day``, the region's next day
    records = [
        service_record(org.ogrn, served_at=at, recipient=adult(snils(), email="p@example.ru"))
        for at in served
    ]
    tokens = await invite(session, settings, records, org)
    # another organization of the region, invited but unanswered: outside the scope below
    await invite(session, settings, [service_record(other.ogrn, served_at=_at(day, 11))], other)
    clinic = await create_user(session, Role.organization, f"organization:{org.ogrn}")
    await session.commit()
    assert len(tokens) == len(served)
    # every record answered but the next day's: a window by Moscow day would count that one
    # instead of the early-morning one (and miss the agreement by one)
    for token in tokens[:-1]:
        done = await client.post(f"/s/{token}", data=form())
        assert done.status_code in (200, 303), done.text[:300]
    # one more record served that day, invited but never answered
    await invite(session, settings, [service_record(org.ogrn, served_at=_at(day, 12))], org)
    await session.commit()

    await login(client, clinic.email)
    window = {"date_from": day.isoformat(), "date_to": day.isoformat()}
    funnel = await client.get("/api/v1/outreach/funnel", params={"group": "day", **window})
    assert funnel.status_code == 200, funnel.text
    total = funnel.json()["total"]
    figures = await client.get(
        "/api/v1/indicators",
        params={"unit": f"organization:{org.ogrn}", "period": f"{day}..{day}"},
    )
    assert figures.status_code == 200, figures.text
    by_service = figures.json()["counts"]["responses_by_service_date"]
    # 11 + the early-morning one; the unanswered ones are not
    assert by_service == 12
    assert total["completed"] == by_service
    assert total["reported"] == 13  # the records served that day: the unanswered one too
    assert [r["key"] for r in funnel.json()["rows"]] == [day.isoformat()]

    # the cabinet page shows both figures for the same period
    page = await client.get(
        f"/cabinet/indicators/organization/{org.ogrn}", params={"period": f"{day}..{day}"}
    )
    assert page.status_code == 200
    assert "Воронка приглашений" in page.text


def test_window_is_both_dates_or_the_last_days() -> None:
    assert funnel.window(30, None, None) == funnel.last_days(30)
    start, end = funnel.last_days(30, date(2026, 12, 7))
    assert (start, end) == (date(2026, 11, 8), date(2026, 12, 7))
    assert funnel.window(7, date(2026, 11, 1), date(2026, 11, 30)) == (
        date(2026, 11, 1),
        date(2026, 11, 30),
    )
    for bad in (
        (date(2026, 11, 1), None),
        (date(2026, 11, 30), date(2026, 11, 1)),
        (date(2025, 1, 1), date(2026, 1, 2)),  # 367 days
        (date(1, 1, 1), date(1, 1, 2)),
        (date(9999, 12, 30), date(9999, 12, 31)),
    ):
        with pytest.raises(funnel.BadWindow):
            funnel.window(30, *bad)
