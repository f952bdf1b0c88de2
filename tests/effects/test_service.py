"""Effect assessment on real answers: DiD with its golden value, ITS fallback, bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.effects import service
from otklik.errors import ValidationFailed
from otklik.identity.audit import Actor
from tests.effects.factories import answers
from tests.factories import create_organization

RELEASE = date(2026, 10, 1)
NOW = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
TODAY = date(2026, 12, 31)
ACTOR = Actor.system("test")
PRE = [3, 4, 5, 4, 4]  # mean 4.0 in each half of the pre window


async def _history(session: AsyncSession, org: object, post: list[int]) -> None:
    for offset in (-20, -6):  # early and late halves of a 28-day pre window
        await answers(session, org, RELEASE + timedelta(days=offset), PRE)  # type: ignore[arg-type]
    await answers(session, org, RELEASE + timedelta(days=10), post)  # type: ignore[arg-type]


async def test_did_confirms_a_known_rise(session: AsyncSession) -> None:
    treated = [await create_organization(session, region="16") for _ in range(6)]
    controls = [await create_organization(session, region="77") for _ in range(6)]
    other = await create_organization(
        session, type_code="edu_general", founder="r77-education"
    )  # not comparable
    await _history(session, other, [1, 1, 1, 1, 1])
    t_post = [[5, 5, 4, 5, 4 + k % 2] for k in range(6)]
    c_post = [[4, 4, 4, 4, 3 + k % 3] for k in range(6)]
    for org, post in zip(treated, t_post, strict=True):
        await _history(session, org, post)
    for org, post in zip(controls, c_post, strict=True):
        await _history(session, org, post)
    a = await service.create(
        session,
        ACTOR,
        title="Электронная очередь",
        indicator="overall",
        direction=1,
        released_on=RELEASE,
        organization_ids=[o.id for o in treated],
        window_days=28,
    )
    await service.compute(session, a, TODAY, NOW)
    # by hand: each unit's post mean minus its pre mean 4.0, averaged per group
    t_mean = sum(sum(p) / 5 - 4.0 for p in t_post) / 6
    c_mean = sum(sum(p) / 5 - 4.0 for p in c_post) / 6
    assert a.estimate == pytest.approx(t_mean - c_mean, abs=1e-4)
    assert a.method == "did_permutation"  # 12 units in all
    assert (a.n_treated, a.n_control) == (6, 6)
    assert a.answers_treated == 6 * 15
    assert a.pretrend_estimate == pytest.approx(0.0)
    assert a.verdict == "confirmed"
    assert a.ci_low is not None
    assert a.ci_low > 0
    assert a.region_code == "16"
    assert a.data_date == RELEASE + timedelta(days=27)


async def test_its_when_there_is_no_comparison_group(session: AsyncSession) -> None:
    org = await create_organization(session, type_code="edu_preschool", founder="r77-education")
    for week in range(-4, 4):
        values = [4, 4, 5, 3, 4] if week < 0 else [5, 5, 4, 5, 5]
        await answers(session, org, RELEASE + timedelta(days=7 * week + 2), values)
    a = await service.create(
        session,
        ACTOR,
        title="Новое расписание",
        indicator="overall",
        direction=1,
        released_on=RELEASE,
        organization_ids=[org.id],
        window_days=28,
    )
    await service.compute(session, a, TODAY, NOW)
    assert a.method == "its"
    assert a.caveat.startswith("Группы сравнения нет")
    assert a.n_control == 0
    assert a.estimate is not None


async def test_bad_input_is_refused_precisely(session: AsyncSession) -> None:
    org = await create_organization(session)
    base = {"title": "x", "direction": 1, "organization_ids": [org.id]}
    with pytest.raises(ValidationFailed) as no_hypothesis:
        await service.create(session, ACTOR, indicator=None, released_on=RELEASE, **base)  # type: ignore[arg-type]
    assert no_hypothesis.value.code == "no_hypothesis"
    with pytest.raises(ValidationFailed) as no_release:
        await service.create(session, ACTOR, indicator="overall", released_on=None, **base)  # type: ignore[arg-type]
    assert no_release.value.code == "no_release_date"
    assert "дата выпуска" in no_release.value.message
    a = await service.create(
        session,
        ACTOR,
        indicator="overall",
        released_on=TODAY - timedelta(days=3),
        **base,  # type: ignore[arg-type]
    )
    with pytest.raises(service.EffectNotReady) as not_ready:
        await service.compute(session, a, TODAY, NOW)
    assert not_ready.value.code == "window_open"
