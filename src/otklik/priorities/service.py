"""Priority criteria (versioned weights) and the ranking of services and life situations.

Normalisation: each criterion's raw value is scaled min–max to 0..1 over the subjects that have
a value (volume first through log1p, since volumes span orders of magnitude); a subject without
a value for a criterion gets 0 there and the gap is shown. Score = Σ weight × normalised value;
a criterion's contribution is its term. Stability: 1 000 draws (seeded by the version) multiply
every weight by a uniform factor in [0.8, 1.2] and renormalise to a sum of 1; a subject's rank
range is the lowest and highest rank it takes over the draws and the version's own weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import NotFound, ValidationFailed
from otklik.identity.audit import Actor, record_audit
from otklik.kit.clock import MOSCOW
from otklik.priorities import repository, repository_kpis
from otklik.priorities.models import CriteriaVersion

CRITERIA: dict[str, str] = {
    "volume": "Объём (заявлений или получателей за год)",
    "satisfaction_gap": "Отставание удовлетворённости от 4,5",
    "negative_share": "Доля негативных комментариев",
    "open_incidents": "Открытые инциденты",
    "not_electronic": "Доля заявлений не в электронном виде",
    "actions": "Действия заявителя (паспорт)",
    "documents": "Документы заявителя (паспорт)",
    "days": "Срок в днях (паспорт)",
}
DEFAULT_WEIGHTS = {
    "volume": 0.2,
    "satisfaction_gap": 0.2,
    "negative_share": 0.15,
    "open_incidents": 0.1,
    "not_electronic": 0.15,
    "actions": 0.07,
    "documents": 0.07,
    "days": 0.06,
}
DRAWS, SPREAD = 1000, 0.2


def check_weights(raw: dict[str, Any]) -> dict[str, float]:
    """Every criterion once, non-negative numbers summing to 1 (±0.001); Russian errors."""
    unknown = sorted(k for k in raw if k not in CRITERIA)
    if unknown:
        raise ValidationFailed(
            "Неизвестный критерий: " + ", ".join(unknown) + ".", code="unknown_criterion"
        )
    missing = [CRITERIA[k] for k in CRITERIA if k not in raw]
    if missing:
        raise ValidationFailed("Не указан вес: " + "; ".join(missing) + ".", code="missing_weight")
    weights: dict[str, float] = {}
    for k in CRITERIA:
        v = raw[k]
        try:
            w = float(str(v).replace(",", ".")) if not isinstance(v, bool) else math.nan
        except ValueError:
            w = math.nan
        if not math.isfinite(w):
            raise ValidationFailed(
                f"Вес «{CRITERIA[k]}» должен быть числом.", code="invalid_weight"
            )
        if w < 0:
            raise ValidationFailed(
                f"Вес «{CRITERIA[k]}» не может быть отрицательным.", code="negative_weight"
            )
        weights[k] = w
    total = sum(weights.values())
    if abs(total - 1) > 0.001:
        raise ValidationFailed(
            f"Сумма весов должна быть равна 1, сейчас {total:.3f}".replace(".", ",") + ".",
            code="weights_sum",
        )
    return weights


async def save_version(
    session: AsyncSession, actor: Actor, raw: dict[str, Any], note: str = ""
) -> CriteriaVersion:
    """A new version; the old ones stay as they were, so their rankings can be recomputed."""
    weights = check_weights(raw)
    number = await repository.next_version(session)
    previous = await repository.version(session, None)
    v = CriteriaVersion(version=number, weights=weights, note=note[:2000], created_by=actor.label)
    session.add(v)
    await session.flush()
    await record_audit(
        session,
        actor,
        "create",
        "priority_criteria",
        str(number),
        {"weights": previous.weights} if previous else None,
        {"weights": weights},
    )
    return v


async def current(session: AsyncSession, number: int | None = None) -> CriteriaVersion:
    v = await repository.version(session, number)
    if v is None:
        if number is not None:
            raise NotFound(f"Версии критериев № {number} нет.")
        raise NotFound("Критерии отбора ещё не заданы: аналитик сохраняет первую версию весов.")
    return v


@dataclass
class Ranked:
    kind: str  # service, life_situation
    code: str
    name: str
    raw: dict[str, float | None]
    contributions: dict[str, float] = field(default_factory=dict)
    score: float = 0.0
    rank: int = 0
    rank_range: tuple[int, int] = (0, 0)

    @property
    def missing(self) -> list[str]:
        return [k for k, v in self.raw.items() if v is None]


def rank(subjects: list[Ranked], weights: dict[str, float], seed: int) -> list[Ranked]:
    """Scores, contributions, ranks and rank ranges (vectorised; no loop over draws)."""
    if not subjects:
        return []
    keys = list(CRITERIA)
    x = np.array(
        [[np.nan if s.raw[k] is None else float(s.raw[k] or 0) for k in keys] for s in subjects]
    )
    vi = keys.index("volume")
    x[:, vi] = np.log1p(np.clip(x[:, vi], 0, None))
    lo, hi = (
        np.nanmin(np.where(np.isnan(x), np.inf, x), axis=0),
        np.nanmax(np.where(np.isnan(x), -np.inf, x), axis=0),
    )
    span = np.where(hi > lo, hi - lo, 1.0)
    norm = np.where(np.isnan(x), 0.0, (x - np.where(np.isfinite(lo), lo, 0)) / span)
    norm = np.clip(norm, 0, 1)
    w = np.array([weights[k] for k in keys])
    contrib = norm * w
    scores = contrib.sum(axis=1)
    rng = np.random.default_rng(seed)
    draws = w * rng.uniform(1 - SPREAD, 1 + SPREAD, size=(DRAWS, len(keys)))
    draws /= draws.sum(axis=1, keepdims=True)
    # row 0 is the version's own weights: the rank shown is ranked exactly like the draws
    draws = np.vstack([w, draws])
    # draws × subjects, contiguous rows: sorting each row is ~3× faster than sorting columns
    sims = (draws @ norm.T).astype(np.float32)
    idx = np.argsort(-sims, axis=1)
    sim_ranks = np.empty_like(idx, dtype=np.int32)
    np.put_along_axis(
        sim_ranks, idx, np.arange(1, len(subjects) + 1, dtype=np.int32)[None, :], axis=1
    )
    ranks, lo_r, hi_r = sim_ranks[0], sim_ranks.min(axis=0), sim_ranks.max(axis=0)
    for i, s in enumerate(subjects):
        s.contributions = {k: round(float(contrib[i, j]), 4) for j, k in enumerate(keys)}
        s.score = round(float(scores[i]), 4)
        s.rank = int(ranks[i])
        s.rank_range = (int(lo_r[i]), int(hi_r[i]))
    return sorted(subjects, key=lambda s: s.rank)


def window(today: date | None = None) -> tuple[date, date]:
    """The last twelve whole months in Moscow."""
    day = today or datetime.now(MOSCOW).date()
    end = day.replace(day=1) - timedelta(days=1)
    return end.replace(year=end.year - 1) + timedelta(days=1), end


async def subjects(session: AsyncSession, start: date, end: date) -> list[Ranked]:
    """Services and life situations with their raw criterion values (set-based queries)."""
    rows = await repository.service_values(session, start, end)
    by_code = {r["code"]: r for r in rows}
    out = [
        Ranked(
            "service",
            r["code"],
            r["name"],
            {
                "volume": _f(r["volume"]),
                "satisfaction_gap": None if r["mean"] is None else max(0.0, 4.5 - float(r["mean"])),
                "negative_share": _f(r["share"]),
                "open_incidents": None,
                "not_electronic": _f(r["not_electronic"]),
                "actions": None,
                "documents": None,
                "days": None,
            },
        )
        for r in rows
    ]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for code, name, service_code in await repository.life_situation_services(session):
        groups.setdefault((code, name), []).append(by_code[service_code])
    for (code, name), members in groups.items():
        out.append(Ranked("life_situation", code, name, _combine(members)))
    await _from_other_domains(session, out)
    return out


async def _from_other_domains(session: AsyncSession, subjects_: list[Ranked]) -> None:
    """Open incidents and the passport's burden, where those tables exist (else "нет данных")."""
    if await repository.table_exists(session, "incidents"):
        counts = await repository_kpis.open_incidents(session)
        for s in subjects_:
            s.raw["open_incidents"] = float(counts.get((s.kind, s.code), 0))
    if await repository.table_exists(session, "passports"):
        burden = await repository_kpis.burden(session)
        for s in subjects_:
            s.raw.update(burden.get((s.kind, s.code), {}))


def _f(v: Any) -> float | None:
    return None if v is None else float(v)


def _combine(members: list[dict[str, Any]]) -> dict[str, float | None]:
    """A life situation: volumes add up, the other criteria are the worst of its services."""

    def worst(key: str) -> float | None:
        values = [float(m[key]) for m in members if m[key] is not None]
        return max(values) if values else None

    volumes = [float(m["volume"]) for m in members if m["volume"] is not None]
    gaps = [max(0.0, 4.5 - float(m["mean"])) for m in members if m["mean"] is not None]
    total = sum(int(m["stat_total"]) for m in members)
    electronic = sum(int(m["stat_electronic"]) for m in members)
    return {
        "volume": sum(volumes) if volumes else None,
        "satisfaction_gap": max(gaps) if gaps else None,
        "negative_share": worst("share"),
        "open_incidents": None,
        "not_electronic": 1 - electronic / total if total else None,
        "actions": None,
        "documents": None,
        "days": None,
    }


async def ranking(
    session: AsyncSession, number: int | None = None, today: date | None = None
) -> tuple[CriteriaVersion, list[Ranked], tuple[date, date]]:
    v = await current(session, number)
    start, end = window(today)
    subs = await subjects(session, start, end)
    return v, rank(subs, {k: float(w) for k, w in v.weights.items()}, seed=v.version), (start, end)
