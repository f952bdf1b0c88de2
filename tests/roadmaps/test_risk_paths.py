"""The roadmap's risk: measure weights (hand-computed), and the set-based critical path
(``ROADMAPS_SQL``) against the reference walk in Python on random roadmaps."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.roles import Role
from otklik.roadmaps import risk
from otklik.roadmaps.models import Measure, MeasureDependency, Roadmap
from tests.factories import create_user

from .factories import NOW, TODAY

SERVICE = "health.outpatient_visit"


async def _roadmap(
    session: AsyncSession, owner_id: int, specs: list[dict[str, Any]]
) -> tuple[Roadmap, list[Measure]]:
    """An active roadmap with measures written directly (risk and progress as given)."""
    roadmap = Roadmap(
        title="Проверка риска", subject_kind="service", subject_code=SERVICE,
        owner_user_id=owner_id, state="active", region_code="16",
    )  # fmt: skip
    session.add(roadmap)
    await session.flush()
    rows = [
        Measure(
            roadmap_id=roadmap.id,
            position=k + 1,
            title=f"Мероприятие {k + 1}",
            owner_user_id=owner_id,
            planned_start=TODAY - timedelta(days=30),
            planned_due=TODAY + timedelta(days=s["due"]),
            weight=s.get("weight", 1.0),
            progress=s.get("progress", 0),
            risk=s.get("risk"),
            forecast_due=TODAY + timedelta(days=s["forecast"]) if "forecast" in s else None,
        )
        for k, s in enumerate(specs)
    ]
    session.add_all(rows)
    await session.flush()
    session.add_all(
        MeasureDependency(measure_id=rows[k].id, depends_on_id=rows[d].id)
        for k, s in enumerate(specs)
        for d in s.get("deps", [])
    )
    await session.flush()
    return roadmap, rows


async def _roadmap_risk(session: AsyncSession, roadmap: Roadmap) -> Roadmap:
    await session.execute(text(risk.ROADMAPS_SQL), {"now": NOW})
    await session.refresh(roadmap)
    return roadmap


async def test_weights_enter_the_roadmap_risk_as_a_weighted_mean(session: AsyncSession) -> None:
    owner = await create_user(session, Role.participant, "region:16")
    # a → b is the critical path (b finishes last); c, heavy (weight 6), is off the path
    roadmap, (a, b, c) = await _roadmap(
        session,
        owner.id,
        [
            {"due": 10, "risk": 0.2, "progress": 50},
            {"due": 40, "risk": 0.3, "deps": [0]},
            {"due": 20, "risk": 0.9, "weight": 6.0},
        ],
    )
    r = await _roadmap_risk(session, roadmap)
    assert r.risk_factors is not None
    assert r.risk_factors["critical_path"] == [a.id, b.id]
    assert r.risk_factors["worst"] == b.id
    assert r.risk_factors["path_risk"] == 0.3
    # weighted mean of the unfinished: (1·0.2 + 1·0.3 + 6·0.9) / (1 + 1 + 6) = 5.9 / 8 = 0.7375
    assert r.risk_factors["weighted_risk"] == 0.738
    assert r.risk == 0.738  # max(0.3, 0.7375), rounded to 3 places
    reasons = risk.roadmap_reasons(r.risk_factors, {b.id: b.title}, {b.id: 0.3})
    assert reasons[-1].startswith("средневзвешенный риск невыполненных мероприятий")
    assert "0,74" in reasons[-1]

    # the same measure with weight 1: (0.2 + 0.3 + 0.9) / 3 = 0.4667
    c.weight = 1.0
    await session.flush()
    r = await _roadmap_risk(session, roadmap)
    assert r.risk == 0.467

    # the heavy measure done: only a and b remain, (0.2 + 0.3) / 2 = 0.25 < the path's 0.3
    c.weight, c.progress = 6.0, 100
    await session.flush()
    r = await _roadmap_risk(session, roadmap)
    assert r.risk_factors is not None
    assert r.risk_factors["weighted_risk"] == 0.25
    assert r.risk == 0.3
    assert len(risk.roadmap_reasons(r.risk_factors, {b.id: b.title}, {b.id: 0.3})) == 2


async def test_set_based_critical_path_equals_the_reference_walk(session: AsyncSession) -> None:
    """Old (Python walk over PATHS_SQL rows) vs new (one recursive statement): the same path,
    the same worst measure and path risk on 40 random roadmaps with ties, finished measures,
    missing risks and forecasts, and several dependencies per measure."""
    owner = await create_user(session, Role.participant, "region:16")
    rnd = random.Random(20261207)
    roadmaps: list[Roadmap] = []
    for _ in range(40):
        n = rnd.randint(1, 12)
        specs: list[dict[str, Any]] = []
        for k in range(n):
            spec: dict[str, Any] = {
                "due": rnd.randint(-20, 60) // 5 * 5,  # coarse: ties in the finishing date
                "progress": rnd.choice([0, 30, 100]),
                "risk": rnd.choice([None, 0.1, 0.5, 0.5, 0.9]),
                "weight": rnd.choice([0.5, 1.0, 3.0]),
                "deps": sorted(rnd.sample(range(k), rnd.randint(0, min(k, 3)))),
            }
            if rnd.random() < 0.3:
                spec["forecast"] = spec["due"] + rnd.randint(0, 30)
            specs.append(spec)
        roadmaps.append((await _roadmap(session, owner.id, specs))[0])
    reference = risk.critical_paths((await session.execute(text(risk.PATHS_SQL))).all())
    await session.execute(text(risk.ROADMAPS_SQL), {"now": NOW})
    ids = [r.id for r in roadmaps]
    rows = (
        await session.execute(
            select(Roadmap.id, Roadmap.risk, Roadmap.risk_factors)
            .where(Roadmap.id.in_(ids))
            .execution_options(populate_existing=True)
        )
    ).all()
    assert len(rows) == len(ids)
    for roadmap_id, roadmap_risk, factors in rows:
        path_risk, ref = reference[roadmap_id]
        assert factors["critical_path"] == ref["critical_path"], roadmap_id
        assert factors["worst"] == ref["worst"], roadmap_id
        assert factors["path_risk"] == path_risk, roadmap_id
        assert roadmap_risk == round(max(path_risk, factors["weighted_risk"]), 3)
