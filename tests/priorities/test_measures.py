"""Information measures: coverage of chosen organizations and the effect on the answer rate.

The golden case is computed by hand (see the docstring of the test): 10 covered and 10 comparable
organizations, so the effects package's cluster-robust interval (Welch, 18 degrees of freedom)
applies and every figure can be written down.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.roles import Role
from otklik.mszu.statistics import today_moscow
from otklik.priorities import measures
from otklik.priorities.models import InformationMeasure
from otklik.registry.models import Organization
from tests.effects.factories import answers
from tests.factories import create_organization, create_user, csrf_from, login

INVITATIONS = text(
    """
    WITH rows AS (
        SELECT nextval('service_records_id_seq') AS id,
               'measure-' || :org || '-' || :day || '-' || g AS record_id,
               sha256(convert_to('c' || :org || :day || g, 'UTF8')) AS content_hash,
               CAST(:day AS date) + time '12:00' AS served_at,
               sha256(convert_to('p' || :org || :day || g, 'UTF8')) AS person_key
        FROM generate_series(1, :n) g
    ), keys AS (
        INSERT INTO service_record_keys (id, source_id, record_id, received_at)
        SELECT id, 0, record_id, now() FROM rows
    ), recs AS (
        INSERT INTO service_records (id, source_id, record_id, content_hash, organization_id,
            service_code, served_at, person_key, age_band, is_minor, channel)
        SELECT id, 0, record_id, content_hash, :org, 'health.outpatient_visit', served_at,
               person_key, '30-39', false, 'portal'
        FROM rows
    ), links AS (
        SELECT nextval('invitations_id_seq') AS id, gen_random_uuid() AS public_id,
               r.id AS record_id, r.served_at, r.person_key,
               sha256(convert_to('measure-link/' || r.id, 'UTF8')) AS token_hash
        FROM rows r
    ), link_keys AS (
        INSERT INTO invitation_keys (id, token_hash, public_id, service_record_id, created_at)
        SELECT id, token_hash, public_id, record_id, now() FROM links
    )
    INSERT INTO invitations (id, public_id, service_record_id, person_key, organization_id,
        token_hash, status, expires_at, sent_at, delivered_at)
    SELECT id, public_id, record_id, person_key, :org, token_hash, 'delivered',
           served_at + interval '30 days', served_at, served_at
    FROM links
    """
)


async def invite(
    session: AsyncSession, org: Organization, day: date, n: int, answered: int
) -> None:
    """``n`` invitations delivered to ``org`` on ``day`` (Moscow noon), ``answered`` answers."""
    await session.execute(INVITATIONS, {"org": org.id, "day": day.isoformat(), "n": n})
    if answered:
        await answers(session, org, day, [5] * answered)


def dates() -> tuple[date, date]:
    start = today_moscow() - timedelta(days=90)
    return start, start + timedelta(days=14)


async def test_the_effect_of_a_measure_is_a_difference_in_differences_computed_by_hand(
    client: AsyncClient, session: AsyncSession
) -> None:
    """Every organization gets 5 + 5 invitations in the two halves of the 30 days before the
    start (1 + 1 answers: rate 0.2) and 10 in the 30 days after the end.

    Covered (region 16, type med_outpatient): 4 or 6 answers after, rate change 0.2 or 0.4
    (five of each): mean 0.3, sample variance (10 × 0.1²) / 9 = 0.011111.
    Comparison (region 50, same type): 2 or 4 answers after, change 0 or 0.2: mean 0.1, the same
    variance. DiD = 0.3 − 0.1 = 0.2; se = √(0.011111/10 + 0.011111/10) = 0.0471405;
    Welch df = 18; t(0.975; 18) = 2.100922; interval 0.2 ± 0.0990386 = [0.1010; 0.2990].
    Placebo (late − early before): 0 for everyone, p = 1. Covered pooled: 20/100 → 50/100.
    """
    start, end = dates()
    covered = [await create_organization(session, region="16") for _ in range(10)]
    comparison = [await create_organization(session, region="50") for _ in range(10)]
    for i, org in enumerate(covered + comparison):
        after = (4 if i % 2 == 0 else 6) if i < 10 else (2 if i % 2 == 0 else 4)
        await invite(session, org, start - timedelta(days=20), 5, 1)
        await invite(session, org, start - timedelta(days=5), 5, 1)
        await invite(session, org, end + timedelta(days=10), 10, after)
    # an organization of another type in the region is neither covered nor a comparison
    other = await create_organization(session, region="16", type_code="med_dental")
    await invite(session, other, end + timedelta(days=10), 10, 10)
    user = await create_user(session, Role.coordinator, scope="country")
    await session.commit()

    m = await measures.create(
        session,
        user,
        "16",
        "Плакаты с QR-кодом в поликлиниках",
        ["posters"],
        start,
        end,
        type_codes=["med_outpatient"],
    )
    e = await measures.effect_of(session, m, today_moscow())
    assert e.method == "did_cluster"
    assert (e.covered_units, e.control_units) == (10, 10)
    assert e.estimate == pytest.approx(0.2, abs=1e-4)
    assert e.low == pytest.approx(0.1010, abs=1e-4)
    assert e.high == pytest.approx(0.2990, abs=1e-4)
    assert e.pretrend_p == 1.0
    assert e.delivered == (200, 200)
    assert (e.before.answered, e.before.delivered) == (20, 100)
    assert (e.after.answered, e.after.delivered) == (50, 100)
    assert e.verdict == "confirmed"
    assert e.moved
    assert e.caveat == ""
    await session.commit()

    assert await login(client, user.email) == 303
    page = await client.get("/measures?region=16")
    assert page.status_code == 200
    html = page.text
    moved = html[html.index("Какие мероприятия сдвинули") : html.index("<table")]
    assert "Плакаты с QR-кодом в поликлиниках" in moved
    assert "+20,0 п. п. [+10,1; +29,9]" in moved
    assert "10 орг.; типы:" in html
    assert "20,0\u00a0% (100) → 50,0\u00a0% (100)" in html  # the formatter's no-break space


async def test_without_a_comparison_group_the_estimate_is_a_weaker_time_series(
    session: AsyncSession,
) -> None:
    """One covered organization of a type no other organization has: the interrupted time series
    of its weekly answer rate, 0.2 in the four weeks before and 0.5 in the four after: a level
    shift of exactly 0.3."""
    start, end = dates()
    org = await create_organization(session, region="16", type_code="med_dental")
    for week in range(4):
        await invite(session, org, start - timedelta(days=7 * week + 3), 10, 2)
        await invite(session, org, end + timedelta(days=7 * week + 3), 10, 5)
    user = await create_user(session, Role.regional_authority, scope="region:16")
    m = await measures.create(
        session, user, "16", "Разъяснения врачей", ["staff"], start, end, ogrns=[org.ogrn]
    )
    assert m.organization_ids == [org.id]
    e = await measures.effect_of(session, m, today_moscow())
    assert e.method == "its"
    assert e.estimate == pytest.approx(0.3, abs=1e-6)
    assert e.caveat == measures.ITS_CAVEAT
    assert e.verdict == "confirmed"


async def test_a_measure_whose_after_window_is_open_is_pending(session: AsyncSession) -> None:
    today = today_moscow()
    await create_organization(session, region="16")
    user = await create_user(session, Role.coordinator, scope="country")
    m = await measures.create(
        session, user, "16", "Баннер", ["portal"], today - timedelta(days=20), today
    )
    e = await measures.effect_of(session, m, today)
    assert e.verdict == "pending"
    assert e.label == "пока нельзя оценить"
    assert "окно после мероприятия закончится" in e.reason


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"ogrns": ["123"]}, "bad_ogrn"),
        ({"ogrns": ["1027700132195"]}, "unknown_ogrn"),
        ({"type_codes": ["spaceport"]}, "unknown_type"),
        ({"founder_code": "nobody"}, "unknown_founder"),
        ({"founder_code": "r50-health"}, "founder_outside_region"),
        ({"type_codes": ["med_dental"]}, "no_organizations"),
    ],
)
async def test_coverage_is_validated(
    session: AsyncSession, changes: dict[str, object], code: str
) -> None:
    from otklik.errors import ValidationFailed

    await create_organization(session, region="16")
    user = await create_user(session, Role.coordinator, scope="country")
    day = today_moscow() - timedelta(days=10)
    before = await session.scalar(text("SELECT count(*) FROM information_measures"))
    with pytest.raises(ValidationFailed) as err:
        await measures.create(
            session,
            user,
            "16",
            "Плакаты",
            ["posters"],
            day,
            day,
            **changes,  # type: ignore[arg-type]
        )
    assert err.value.code == code
    await session.rollback()
    assert await session.scalar(text("SELECT count(*) FROM information_measures")) == before


async def test_an_organization_of_another_region_cannot_be_covered(
    client: AsyncClient, session: AsyncSession
) -> None:
    away = await create_organization(session, region="50")
    user = await create_user(session, Role.regional_authority, scope="region:16")
    await session.commit()
    assert await login(client, user.email) == 303
    page = await client.get("/measures")
    day = (today_moscow() - timedelta(days=10)).isoformat()
    form = {
        "csrf_token": csrf_from(page.text),
        "title": "Плакаты",
        "channels": ["posters"],
        "started_on": day,
        "ended_on": day,
        "organizations": away.ogrn,
    }
    resp = await client.post("/measures", data=form)
    assert resp.status_code == 422
    assert "из другого субъекта РФ" in resp.text
    assert not list(
        await session.scalars(
            InformationMeasure.__table__.select().where(InformationMeasure.title == "Плакаты")
        )
    )
