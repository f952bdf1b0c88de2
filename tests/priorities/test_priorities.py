"""Priority criteria: validation, versions, ranking with contributions and stability."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import ValidationFailed
from otklik.identity.models import AuditEntry
from otklik.identity.roles import Role
from otklik.priorities import service
from otklik.priorities.service import DEFAULT_WEIGHTS, Ranked, check_weights, rank
from tests.factories import create_source, create_user, csrf_from, login


def _with(**changes: Any) -> dict[str, Any]:
    w: dict[str, Any] = dict(DEFAULT_WEIGHTS)
    w.update(changes)
    return w


@pytest.mark.parametrize(
    ("weights", "code", "text"),
    [
        (_with(volume=0.3), "weights_sum", "Сумма весов должна быть равна 1, сейчас 1,100"),
        (_with(volume=-0.1, days=0.36), "negative_weight", "не может быть отрицательным"),
        (_with(volume="много"), "invalid_weight", "должен быть числом"),
        ({**DEFAULT_WEIGHTS, "beauty": 0}, "unknown_criterion", "beauty"),
        ({k: v for k, v in DEFAULT_WEIGHTS.items() if k != "days"}, "missing_weight", "Срок"),
    ],
)
def test_bad_weights_get_precise_errors(weights: dict[str, Any], code: str, text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_weights(weights)
    assert caught.value.code == code
    assert text in caught.value.message


def _subject(code: str, **raw: float | None) -> Ranked:
    values: dict[str, float | None] = dict.fromkeys(service.CRITERIA)
    values.update(raw)
    return Ranked("service", code, code, values)


def test_ranking_contributions_sum_to_the_score_and_ranges_hold_the_rank() -> None:
    subs = [
        _subject("a", volume=1000, satisfaction_gap=1.0, not_electronic=0.8),
        _subject("b", volume=10, satisfaction_gap=0.1, not_electronic=0.1),
        _subject("c", volume=500, satisfaction_gap=0.5, not_electronic=None),
        _subject("d", volume=499, satisfaction_gap=0.5, not_electronic=None),
    ]
    out = rank(subs, DEFAULT_WEIGHTS, seed=1)
    assert [r.code for r in out][:1] == ["a"]
    assert out[-1].code == "b"
    for r in out:
        assert abs(sum(r.contributions.values()) - r.score) < 1e-3
        assert r.rank_range[0] <= r.rank <= r.rank_range[1]
    # c and d are nearly tied: their ranks may swap, a and b may not
    assert out[0].rank_range == (1, 1)
    assert "not_electronic" in next(r for r in out if r.code == "c").missing
    again = rank([_subject(s.code, **s.raw) for s in subs], DEFAULT_WEIGHTS, seed=1)
    assert [(r.code, r.rank_range) for r in again] == [(r.code, r.rank_range) for r in out]


async def test_versions_through_the_api_and_old_rankings_stay(
    client: AsyncClient, session: AsyncSession
) -> None:
    analyst = await create_user(session, Role.analyst)
    await session.commit()
    assert await login(client, analyst.email) == 303
    page = await client.get("/priorities")
    assert "Критерии отбора ещё не заданы" in page.text
    csrf = csrf_from(page.text)
    form = {f"w-{k}": str(v) for k, v in DEFAULT_WEIGHTS.items()}
    resp = await client.post("/priorities/criteria", data={"csrf_token": csrf, **form})
    assert resp.status_code == 303
    bad = await client.post(
        "/priorities/criteria", data={"csrf_token": csrf, **form, "w-volume": "0,5"}
    )
    assert bad.status_code == 422
    assert "Сумма весов" in bad.text
    second = {**form, "w-volume": "0.4", "w-satisfaction_gap": "0"}
    assert (
        await client.post("/priorities/criteria", data={"csrf_token": csrf, **second})
    ).status_code == 303
    # statistics make one service clearly less electronic than the rest
    _, key = await create_source(session)
    await session.commit()
    rows = [
        {
            "service_code": "health.checkup",
            "region_code": "16",
            "month": "2025-06",
            "channel": "in_person",
            "applications": 900,
        },
        {
            "service_code": "health.appointment_online",
            "region_code": "16",
            "month": "2025-06",
            "channel": "portal",
            "applications": 900,
        },
    ]
    resp = await client.post(
        "/api/v1/service-statistics", json=rows, headers={"Authorization": f"Bearer {key}"}
    )
    assert resp.json()["accepted"] == 2
    v1 = (await client.get("/api/v1/priorities?version=1")).json()
    v2 = (await client.get("/api/v1/priorities")).json()
    assert (v1["version"], v2["version"]) == (1, 2)
    assert v1["weights"]["satisfaction_gap"] == 0.2
    item = v1["items"][0]
    assert set(item) >= {"subject", "rank", "score", "contributions", "rank_range"}
    assert set(item["contributions"]) == set(service.CRITERIA)
    assert (await client.get("/api/v1/priorities?version=99")).status_code == 404
    page = await client.get("/priorities?version=1")
    assert "Диапазон мест" in page.text
    audit = await session.scalars(
        select(AuditEntry.entity_id).where(AuditEntry.entity == "priority_criteria")
    )
    assert sorted(audit) == ["1", "2"]
