"""Evidence of a change request: a source resolved to a snapshot of its figures when linked.

References: ``insight_problem`` / ``rising_topic`` — ``<organization id>:<YYYY-MM>:<topic>``;
``drop_signal`` — the id of an ``indicator_drop`` signal; ``urgent_flag`` —
``<response uuid>:<comment code>``; other kinds (incident, lab_finding, control_check,
proposal) — free text up to 200 characters (the owning domain validates its own ids).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import ValidationFailed
from otklik.improvement.workflow import EVIDENCE_LABELS
from otklik.indicators.models import Signal
from otklik.insights import repository as insights_repository
from otklik.insights.models import CommentAnalysis, InsightSignal
from otklik.insights.problems import month_bounds
from otklik.kit.scope import Scope
from otklik.registry.models import Organization

EXAMPLES = 3
SMALL_N = 10


def _missing(kind: str, ref: str) -> ValidationFailed:
    return ValidationFailed(
        f"{EVIDENCE_LABELS[kind]} «{ref[:60]}» не найден(а) или вне вашей области доступа.",
        code="unknown_evidence",
    )


async def _insight(session: AsyncSession, scope: Scope, kind: str, ref: str) -> dict[str, Any]:
    org_s, _, rest = ref.partition(":")
    period, _, topic = rest.partition(":")
    try:
        org_id = int(org_s)
        start, end = month_bounds(period)
    except ValueError as exc:
        raise _missing(kind, ref) from exc
    org = await insights_repository.visible_organization(session, scope, org_id)
    signal_kind = "problem" if kind == "insight_problem" else "rising"
    s = InsightSignal
    payload = await session.scalar(
        select(s.payload).where(
            s.kind == signal_kind,
            s.organization_id == org_id,
            s.period == period,
            s.payload["topic"].astext == topic,
        )
    )
    if org is None or payload is None:
        raise _missing(kind, ref)
    examples: list[str] = []
    if int(str(payload.get("n_with") or 0)) >= SMALL_N:  # no texts from a handful of answers
        examples = [
            r.text
            for r in await insights_repository.examples(
                session, scope, org_id, start, end, EXAMPLES
            )
            if r.topic == topic
        ]
    return {
        "organization": org.short_name,
        "organization_id": org_id,
        "period": period,
        "topic": topic,
        "name": payload.get("name", topic),
        "n": payload.get("n_with"),
        "n_without": payload.get("n_without"),
        "diff": payload.get("diff"),
        "low": payload.get("low"),
        "high": payload.get("high"),
        "share": payload.get("share"),
        "z": payload.get("z"),
        "examples": examples,  # already masked at intake
    }


async def _drop(session: AsyncSession, scope: Scope, ref: str) -> dict[str, Any]:
    if not ref.isdigit():
        raise _missing("drop_signal", ref)
    sig = await session.get(Signal, int(ref))
    if sig is None or sig.kind != "indicator_drop" or not sig.unit.startswith("organization:"):
        raise _missing("drop_signal", ref)
    org_id = await session.scalar(
        select(Organization.id).where(Organization.ogrn == sig.unit.split(":", 1)[1])
    )
    org = (
        await insights_repository.visible_organization(session, scope, int(org_id))
        if org_id is not None
        else None
    )
    if org is None:
        raise _missing("drop_signal", ref)
    return {
        "organization": org.short_name,
        "organization_id": org.id,
        "period": sig.period,
        **sig.payload,
    }


async def _urgent(session: AsyncSession, scope: Scope, ref: str) -> dict[str, Any]:
    rid, _, code = ref.partition(":")
    try:
        response_id = uuid.UUID(rid)
    except ValueError as exc:
        raise _missing("urgent_flag", ref) from exc
    a = await session.get(CommentAnalysis, (response_id, code))
    org = (
        await insights_repository.visible_organization(session, scope, a.organization_id)
        if a is not None and a.urgent
        else None
    )
    if a is None or org is None:
        raise _missing("urgent_flag", ref)
    # the text stays in insights (read there by roles allowed to); only the fact is copied
    return {
        "organization": org.short_name,
        "organization_id": org.id,
        "day": a.answered_on.isoformat(),
        "urgent_kind": a.urgent_kind,
    }


async def resolve_evidence(
    session: AsyncSession, scope: Scope, kind: str, ref: str
) -> dict[str, Any]:
    """``{"kind", "ref", "snapshot"}`` for one source; unknown or out-of-scope is a 422."""
    if kind not in EVIDENCE_LABELS:
        raise ValidationFailed(
            f"Неизвестный вид доказательства «{kind[:40]}».", code="unknown_evidence_kind"
        )
    ref = ref.strip()
    if not ref or len(ref) > 200:
        raise ValidationFailed("Ссылка на доказательство пуста или слишком длинная.")
    if kind in ("insight_problem", "rising_topic"):
        snapshot = await _insight(session, scope, kind, ref)
    elif kind == "drop_signal":
        snapshot = await _drop(session, scope, ref)
    elif kind == "urgent_flag":
        snapshot = await _urgent(session, scope, ref)
    else:
        snapshot = {}
    return {"kind": kind, "ref": ref, "snapshot": snapshot}
