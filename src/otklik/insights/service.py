"""Insights services: the analysis job, topic corrections and model training."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import NotFound, ValidationFailed
from otklik.identity.audit import Actor, record_audit
from otklik.insights import labels, repository
from otklik.insights.default_model import (
    analyse_batch,
    default_model,
    model_version,
)
from otklik.insights.default_model import (
    training_examples as packaged_examples,
)
from otklik.insights.evaluate import Report, evaluate
from otklik.insights.model import Example, StaleModelError, TopicModel, train
from otklik.insights.problems import refresh_signals
from otklik.insights.taxonomy import load, translate
from otklik.kit.scope import Scope

log = logging.getLogger(__name__)

BATCH = 500
MIN_EXAMPLES = 20


@dataclass
class _Cache:
    version: str | None = None
    model: TopicModel | None = None


_cache = _Cache()


async def current_model(session: AsyncSession) -> tuple[str, TopicModel]:
    """The active model stored by ``otklik insights train`` (cached by version), or else the
    default model trained from the package's data (also when the stored one was pickled in an
    older format: it is not misread, and a warning asks for ``otklik insights train``)."""
    version = await repository.active_model_version(session)
    if version is not None and _cache.version != version:
        found = await repository.active_model(session)
        if found is not None:
            try:
                _cache.version, _cache.model = found[0], TopicModel.loads(found[1])
            except StaleModelError as e:
                log.warning("stored insights model %s ignored (%s); retrain it", found[0], e)
                _cache.version, _cache.model = found[0], None  # not fetched again
    if version is not None and _cache.version == version and _cache.model is not None:
        return version, _cache.model
    # trained from the package's data on a process's first call: 90 s at a load average of 12
    return model_version(), await asyncio.to_thread(default_model)


async def analyse_pending(session: AsyncSession, limit: int = BATCH) -> int:
    """Analyse up to ``limit`` new comments set-based and refresh their months' signals."""
    rows = await repository.pending_comments(session, limit)
    if not rows:
        return 0
    version, model = await current_model(session)
    # CPU-bound: in a thread, so that the worker's event loop goes on starting other jobs
    items = [(r.text, r.value) for r in rows]
    analysed = await asyncio.to_thread(analyse_batch, items, model, version)
    values = []
    for r, a in zip(rows, analysed, strict=True):
        values.append(
            {
                "response_id": r.response_id,
                "code": r.code,
                "organization_id": r.organization_id,
                "answered_on": r.answered_on,
                "topics": a.topics,
                "sentiment": a.sentiment,
                "urgent": a.urgent,
                "urgent_kind": a.urgent_kind,
                "taxonomy_version": a.taxonomy_version,
                "model_version": a.model_version,
            }
        )
    await repository.insert_analyses(session, values)
    await refresh_signals(
        session, {(v["organization_id"], f"{v['answered_on']:%Y-%m}") for v in values}
    )
    return len(values)


class BadTopics(ValidationFailed):
    code = "bad_topics"
    message = "Выберите темы из списка."


async def correct_topics(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    response_id: uuid.UUID,
    code: str,
    topics: Sequence[str],
) -> list[str]:
    """Store a person's correction of a comment's topics, audited; returns the new topics."""
    tax = load()
    unknown = sorted(set(topics) - set(tax.codes))
    if unknown:
        raise BadTopics(f"Неизвестные темы: {', '.join(unknown)}.")
    row = await repository.analysis(session, response_id, code)
    if (
        row is None
        or await repository.visible_organization(session, scope, row.organization_id) is None
    ):
        raise NotFound("Комментарий не найден.")
    new = [c for c in tax.codes if c in set(topics)]
    before = list(row.topics)
    await repository.correct(session, row, new, tax.version, actor.user_id)
    await record_audit(
        session,
        actor,
        "insights.correct_topics",
        "comment_analysis",
        f"{response_id}/{code}",
        {"topics": before},
        {"topics": new},
    )
    await session.flush()
    return new


async def training_examples(session: AsyncSession, path: Path | None) -> list[Example]:
    """The default model's training rows, a labelled file's examples (if any) and the stored
    corrections. Text only: the score is not a feature, so the sentiment stays the text's."""
    tax = load()
    out: list[Example] = packaged_examples()[0]
    if path is not None:
        found, _topics, lang = labels.load(path, tax.codes)
        if lang != "ru":
            raise labels.LabelsError(
                "Для обучения модели платформы нужна русская разметка с темами таксономии / "
                "training needs Russian labels with taxonomy topics; use evaluate for NHS."
            )
        out.extend(Example(e.text, e.topics, e.sentiment) for e in found)
    for r in await repository.corrected_examples(session):
        topics = frozenset(translate(r.topics, r.taxonomy_version, tax.version))
        out.append(Example(r.text, topics))
    return out


async def train_and_store(session: AsyncSession, path: Path | None) -> tuple[str, Report]:
    """Train on the file plus corrections; hold out 20 % for the figures; store and activate."""
    examples = await training_examples(session, path)
    if len(examples) < MIN_EXAMPLES:
        raise labels.LabelsError(
            f"Для обучения нужно не меньше {MIN_EXAMPLES} размеченных комментариев, есть "
            f"{len(examples)} / at least {MIN_EXAMPLES} labelled comments are needed."
        )
    tax = load()
    report = evaluate(examples, tax.codes, "ru")  # figures from the held-out 20 %
    model = train(examples, tax.codes)
    version = f"{tax.version}-{datetime.now(UTC):%Y%m%d%H%M%S}"
    await repository.store_model(
        session,
        {
            "version": version,
            "taxonomy_version": tax.version,
            "lang": "ru",
            "n_examples": len(examples),
            "metrics": {"micro_f1": report.micro_f1, "macro_f1": report.macro_f1},
            "blob": model.dumps(),
        },
    )
    return version, report
