"""Problems: the topics that most lower an organization's overall score, and rising topics.

For an organization and month, each topic's effect is mean(overall | a comment mentions it) -
mean(overall | it does not), with a 95 % Welch interval; a topic is a problem when the whole
interval is below zero. A topic is rising when its share of responses grew against the
previous month with z >= 1.96. The same figures per life situation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.insights import repository
from otklik.insights.stats import Group, Welch, complement, rise_z, welch
from otklik.insights.taxonomy import load
from otklik.kit.scope import Scope

Z_RISE = 1.96


@dataclass(frozen=True)
class TopicEffect:
    topic: str
    name: str
    situation: str
    n_with: int
    n_without: int
    mean_with: float
    mean_without: float
    diff: float
    low: float
    high: float
    share: float
    previous_share: float | None
    z: float | None

    @property
    def problem(self) -> bool:
        return self.high < 0

    @property
    def rising(self) -> bool:
        return self.z is not None and self.z >= Z_RISE


def month_bounds(period: str) -> tuple[date, date]:
    """First day of ``YYYY-MM`` and of the month after (ValueError on a bad period)."""
    year, month = (int(x) for x in period.split("-"))
    start = date(year, month, 1)
    end = date(year + month // 12, month % 12 + 1, 1)
    return start, end


def previous_period(period: str) -> str:
    start, _ = month_bounds(period)
    return f"{start.year - (start.month == 1)}-{(start.month - 2) % 12 + 1:02d}"


def _effects(
    topics: Sequence[Any], totals: Sequence[Any], period: str, names: dict[str, str]
) -> dict[int, list[TopicEffect]]:
    total = {(r.organization_id, r.period, r.situation): r for r in totals}
    counts = {(r.organization_id, r.period, r.situation, r.topic): r.n for r in topics}
    before = previous_period(period)
    out: dict[int, list[TopicEffect]] = defaultdict(list)
    for r in topics:
        if r.period != period or r.topic not in names:
            continue
        t = total[(r.organization_id, r.period, r.situation)]
        all_ = Group(int(t.n), float(t.mean), float(t.var))
        part = Group(int(r.n), float(r.mean), float(r.var))
        rest = complement(all_, part)
        w: Welch | None = welch(part, rest) if rest else None
        if rest is None or w is None:
            continue
        prev_total = total.get((r.organization_id, before, r.situation))
        prev_k = counts.get((r.organization_id, before, r.situation, r.topic), 0)
        prev_share = prev_k / prev_total.n if prev_total else None
        z = rise_z(part.n, all_.n, prev_k, int(prev_total.n)) if prev_total else None
        out[r.organization_id].append(
            TopicEffect(
                r.topic, names[r.topic], r.situation or "", part.n, rest.n, part.mean,
                rest.mean, w.diff, w.low, w.high, part.n / all_.n, prev_share, z,
            )
        )  # fmt: skip
    for effects in out.values():
        effects.sort(key=lambda e: e.diff)
    return out


async def effects(
    session: AsyncSession,
    scope: Scope,
    org_ids: Sequence[int],
    period: str,
    by: str = "topic",
) -> dict[int, list[TopicEffect]]:
    """Topic effects per organization for ``period`` (with the previous month for rises)."""
    _start, end = month_bounds(period)
    prev_start, _ = month_bounds(previous_period(period))
    topics = await repository.topic_stats(session, scope, org_ids, prev_start, end, by)
    totals = await repository.score_totals(session, scope, org_ids, prev_start, end, by)
    return _effects(topics, totals, period, load().names)


async def refresh_signals(session: AsyncSession, pairs: set[tuple[int, str]]) -> int:
    """Recompute the problem and rising signals of the given (organization, month) pairs."""
    rows: list[dict[str, Any]] = []
    by_period: dict[str, list[int]] = defaultdict(list)
    for org, period in pairs:
        by_period[period].append(org)
    for period, orgs in by_period.items():
        for org, found in (await effects(session, Scope.country(), orgs, period)).items():
            for e in found:
                payload = {**asdict(e), "taxonomy_version": load().version}
                if e.problem:
                    rows.append(_signal("problem", org, period, payload))
                if e.rising:
                    rows.append(_signal("rising", org, period, payload))
    await repository.replace_signals(session, sorted(pairs), rows)
    return len(rows)


def _signal(kind: str, org: int, period: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "organization_id": org, "period": period, "payload": payload}
