"""The analysis job, problems with hand-computed Welch figures, signals, corrections."""

from __future__ import annotations

import math
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import NotFound
from otklik.identity.audit import Actor
from otklik.identity.models import AuditEntry
from otklik.insights import default_model, service
from otklik.insights.models import CommentAnalysis, InsightCorrection, InsightSignal
from otklik.insights.problems import effects, previous_period
from otklik.insights.service import BadTopics, correct_topics
from otklik.insights.stats import Group, complement, rise_z, welch
from otklik.kit.scope import Scope, ScopeKind
from tests.factories import create_organization
from tests.insights.factories import add_response

WAIT = "Очень долго ждали в очереди"
GOOD = "Всё отлично, спасибо"


def test_welch_hand_computed() -> None:
    # with: 1, 2, 3 (mean 2, var 1); without: 4, 5, 5, 4 (mean 4.5, var 1/3).
    w = welch(Group(3, 2.0, 1.0), Group(4, 4.5, 1 / 3))
    assert w is not None
    assert w.diff == pytest.approx(-2.5)
    assert w.df == pytest.approx(3.0)  # (5/12)^2 / (1/18 + 1/432) = 3 exactly
    half = 3.182446305284263 * math.sqrt(5 / 12)  # t(0.975, 3) * se
    assert w.low == pytest.approx(-2.5 - half)
    assert w.high == pytest.approx(-2.5 + half)
    assert welch(Group(1, 2.0, 0.0), Group(4, 4.5, 1 / 3)) is None


def test_complement_and_rise() -> None:
    # all seven: 1,2,3,4,5,5,4 -> mean 24/7, var from the sum of squares.
    values = [1, 2, 3, 4, 5, 5, 4]
    mean = sum(values) / 7
    var = sum((v - mean) ** 2 for v in values) / 6
    rest = complement(Group(7, mean, var), Group(3, 2.0, 1.0))
    assert rest is not None
    assert rest.n == 4
    assert rest.mean == pytest.approx(4.5)
    assert rest.var == pytest.approx(1 / 3)
    # 6/10 now vs 1/10 before: pooled 0.35, se = sqrt(0.35*0.65*0.2) = 0.21331
    assert rise_z(6, 10, 1, 10) == pytest.approx(0.5 / math.sqrt(0.35 * 0.65 * 0.2))
    assert previous_period("2026-01") == "2025-12"


async def test_job_analyses_new_comments_and_stores_problem_signals(session: AsyncSession) -> None:
    org = await create_organization(session)
    for overall in (1, 2, 3):
        await add_response(session, org, overall, WAIT)
    await add_response(session, org, 4, GOOD)
    await add_response(session, org, 5, GOOD)
    await add_response(session, org, 5)
    await add_response(session, org, 4)
    await add_response(session, org, 4, "Санитарка ударила отца", day=date(2026, 11, 12))
    assert await service.analyse_pending(session) == 6
    assert await service.analyse_pending(session) == 0  # nothing new
    rows = (await session.execute(select(CommentAnalysis))).scalars().all()
    by_text = {r.urgent_kind: r for r in rows}
    assert by_text["violence"].urgent
    waits = [r for r in rows if "waiting" in r.topics]
    assert len(waits) == 3
    assert all(r.sentiment == "negative" for r in waits)
    found = (await effects(session, Scope.country(), [org.id], "2026-11"))[org.id]
    waiting = next(e for e in found if e.topic == "waiting")
    # without = 4, 5, 5, 4, 4: mean 4.4, var = (0.16+0.36+0.36+0.16+0.16)/4 = 0.3
    expected = welch(Group(3, 2.0, 1.0), Group(5, 4.4, 0.3))
    assert expected is not None
    assert (waiting.n_with, waiting.n_without) == (3, 5)
    assert waiting.diff == pytest.approx(-2.4)
    assert expected.high < 0
    assert waiting.low == pytest.approx(expected.low)
    assert waiting.high == pytest.approx(expected.high)
    signals = (await session.execute(select(InsightSignal))).scalars().all()
    kinds = {(s.kind, s.payload["topic"]) for s in signals if s.organization_id == org.id}
    assert ("problem", "waiting") in kinds
    assert ("problem", "gratitude") not in kinds


async def test_correction_is_stored_audited_and_used_by_training(session: AsyncSession) -> None:
    org = await create_organization(session)
    rid = await add_response(session, org, 2, "Ремонт в холле не закончен")
    await service.analyse_pending(session)
    actor = Actor(None, "test-editor")
    own = Scope(ScopeKind.organization, organization_id=org.id)
    new = await correct_topics(session, own, actor, rid, "comment", ["equipment", "safety"])
    assert new == ["equipment", "safety"]
    row = await session.get(CommentAnalysis, (rid, "comment"))
    assert row is not None
    assert row.topics == ["equipment", "safety"]
    assert row.model_version == "corrected"
    kept = (await session.execute(select(InsightCorrection))).scalars().all()
    assert [(k.topics, k.previous_topics) for k in kept][-1][0] == ["equipment", "safety"]
    audit = (
        (
            await session.execute(
                select(AuditEntry).where(AuditEntry.action == "insights.correct_topics")
            )
        )
        .scalars()
        .all()
    )
    assert audit[-1].after == {"topics": ["equipment", "safety"]}
    examples = await service.training_examples(session, None)
    assert any(
        e.text == "Ремонт в холле не закончен" and e.topics == {"equipment", "safety"}
        for e in examples
    )
    with pytest.raises(BadTopics):
        await correct_topics(session, own, actor, rid, "comment", ["nonsense"])
    other = Scope(ScopeKind.organization, organization_id=org.id + 999)
    with pytest.raises(NotFound):
        await correct_topics(session, other, actor, rid, "comment", ["safety"])


async def test_train_stores_an_active_model_the_job_then_uses(session: AsyncSession) -> None:
    from pathlib import Path

    labels = Path(__file__).parent / "data" / "labels.csv"
    version, report = await service.train_and_store(session, labels)
    # the packaged training data (1 800 corpus rows + the same 55 hand rows) and the file's 55
    assert report.n_test == 382
    org = await create_organization(session)
    await add_response(session, org, 2, "В раздевалке грязно и холодно")
    assert await service.analyse_pending(session) >= 1
    row = (
        await session.execute(
            select(CommentAnalysis).where(CommentAnalysis.organization_id == org.id)
        )
    ).scalar_one()
    assert row.model_version == version
    assert "cleanliness_comfort" in row.topics


async def test_stored_sentiment_is_the_texts_whatever_the_score(session: AsyncSession) -> None:
    org = await create_organization(session)
    await add_response(session, org, 5, "Врач нахамил, два часа ждали в очереди, ужасно")
    await add_response(session, org, 1, GOOD)
    await service.analyse_pending(session)
    rows = {r.sentiment for r in (await session.execute(select(CommentAnalysis))).scalars()}
    assert rows == {"negative", "positive"}  # the text's, not the score's
    versions = {r.model_version for r in (await session.execute(select(CommentAnalysis))).scalars()}
    assert versions == {default_model.model_version()}  # the trained default model
