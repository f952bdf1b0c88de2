"""Information measures (decree 882): what a region did to raise the answer rate, and whether
the rate moved.

A measure covers chosen organizations of its region: listed ones, or a filter by organization
types and/or founder (nothing chosen: the whole region). Its effect on the answer rate
(answers / delivered invitations) is estimated with the effects package's estimator:

* windows of ``WINDOW_DAYS`` days before the start and after the end (equal, the measure's own
  days left out); the before window is split in two halves for the placebo pre-trend check;
* each organization with at least ``MIN_UNIT_N`` delivered invitations on each side contributes
  the change of its answer rate; the effect is the mean change of the covered organizations
  minus that of comparable uncovered ones (organizations of the same types that no measure
  overlapping the windows covers) — difference-in-differences with a cluster-robust interval, or
  a permutation interval below 20 organizations (``effects.stats.did``);
* with fewer than two comparable organizations: an interrupted time series of the covered
  organizations' weekly answer rate (``effects.stats.its``), labelled as weaker evidence;
* the verdict is ``effects.stats.verdict`` for a hoped-for rise.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.effects import stats
from otklik.errors import Forbidden, ValidationFailed
from otklik.identity.audit import Actor, record_audit
from otklik.identity.models import User
from otklik.identity.service import scope_of
from otklik.kit.clock import MOSCOW
from otklik.kit.scope import ScopeKind
from otklik.priorities import repository
from otklik.priorities.models import InformationMeasure

CHANNELS = {
    "posters": "плакаты и стенды в организациях",
    "portal": "баннер на портале госуслуг",
    "sms": "SMS-информирование",
    "media": "СМИ и социальные сети",
    "staff": "разъяснения сотрудников",
    "other": "иное",
}
WINDOW_DAYS = 30
MIN_UNIT_N = 5  # delivered invitations an organization needs on each side to count
MAX_LISTED = 500
OGRN_RE = re.compile(r"^[0-9]{13}$", re.ASCII)
ITS_CAVEAT = (
    "Сравнимых организаций без мероприятия нет: оценка по прерванному временному ряду — более "
    "слабое доказательство, чем сравнение с организациями, которых мероприятие не коснулось."
)
VERDICTS = {
    "confirmed": "подняло долю ответов",
    "not_confirmed": "подъём доли ответов не подтверждён",
    "inconclusive": "недостаточно данных",
    "pending": "пока нельзя оценить",
}
METHODS = {
    "did_cluster": "разность разностей, кластерно-устойчивый интервал",
    "did_permutation": "разность разностей, перестановочный интервал",
    "its": "прерванный временной ряд (слабее)",
    "": "—",
}


@dataclass
class Cell:
    delivered: int = 0
    answered: int = 0

    def add(self, d: int, a: int) -> None:
        self.delivered += d
        self.answered += a

    @property
    def rate(self) -> float | None:
        return self.answered / self.delivered if self.delivered else None


@dataclass
class Effect:
    """The estimated effect of a measure on the answer rate (shares, not percentage points)."""

    verdict: str
    reason: str
    method: str = ""
    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    p: float | None = None
    covered_units: int = 0
    control_units: int = 0
    delivered: tuple[int, int] = (0, 0)  # covered, comparison (the organizations counted)
    pretrend_p: float | None = None
    caveat: str = ""
    before: Cell = field(default_factory=Cell)  # covered organizations, pooled
    after: Cell = field(default_factory=Cell)

    @property
    def label(self) -> str:
        return VERDICTS[self.verdict]

    @property
    def moved(self) -> bool:
        return self.verdict == "confirmed"


def windows(started_on: date, ended_on: date) -> dict[str, date]:
    """Equal windows before the start and after the end; ``mid`` halves the before window."""
    post_lo = ended_on + timedelta(days=1)
    return {
        "pre_lo": started_on - timedelta(days=WINDOW_DAYS),
        "mid": started_on - timedelta(days=WINDOW_DAYS // 2),
        "start": started_on,
        "post_lo": post_lo,
        "post_hi": post_lo + timedelta(days=WINDOW_DAYS),
    }


def _finite(x: float) -> float | None:
    return round(x, 4) if math.isfinite(x) else None


def estimate(cells: Sequence[tuple[int, bool, int, int, int, int]]) -> Effect:
    """The effect from (organization, covered, bucket, week, delivered, answered) cells."""
    units: dict[tuple[int, bool], dict[int, Cell]] = defaultdict(lambda: defaultdict(Cell))
    weeks: dict[int, Cell] = defaultdict(Cell)
    before, after = Cell(), Cell()
    for org, covered, bucket, week, d, a in cells:
        units[(org, covered)][bucket].add(d, a)
        if covered:
            weeks[week].add(d, a)
            (after if bucket == 2 else before).add(d, a)
    change: dict[bool, list[float]] = {True: [], False: []}
    placebo: dict[bool, list[float]] = {True: [], False: []}
    delivered = {True: 0, False: 0}
    for (_, covered), b in units.items():
        pre = Cell(b[0].delivered + b[1].delivered, b[0].answered + b[1].answered)
        post = b[2]
        if pre.delivered >= MIN_UNIT_N and post.delivered >= MIN_UNIT_N:
            change[covered].append(float(post.rate or 0) - float(pre.rate or 0))
            delivered[covered] += pre.delivered + post.delivered
            if b[0].delivered >= MIN_UNIT_N and b[1].delivered >= MIN_UNIT_N:
                placebo[covered].append(float(b[1].rate or 0) - float(b[0].rate or 0))
    effect = Effect("inconclusive", "", before=before, after=after)
    if len(change[False]) >= stats.MIN_UNITS:
        t, c = np.array(change[True]), np.array(change[False])
        nan = float("nan")
        interval = (
            stats.did(t, c)
            if len(t) >= stats.MIN_UNITS
            else stats.Interval(float(t.mean() - c.mean()) if len(t) else nan, nan, nan, 1.0, "")
        )
        if len(placebo[True]) >= 2 and len(placebo[False]) >= 2:
            effect.pretrend_p = stats.did(np.array(placebo[True]), np.array(placebo[False])).p
        units_n = (len(t), len(c))
        obs = (delivered[True], delivered[False])
    else:
        used = sorted((w, c) for w, c in weeks.items() if c.delivered >= MIN_UNIT_N)
        x = np.array([float(w) for w, _ in used])
        rates = np.array([float(c.rate or 0) for _, c in used])
        is_post = (x >= 0).astype(float)
        effect.caveat = ITS_CAVEAT
        if len(used) < 4 or is_post.sum() < 1 or is_post.sum() == len(used):
            effect.method = "its"
            effect.reason = "мало недель с приглашениями до и после мероприятия для временного ряда"
            return effect
        interval = stats.its(x, rates, is_post)
        units_n = (len(change[True]) or int(bool(used)), 0)
        obs = (sum(c.delivered for _, c in used), 0)
    verdict, reason = stats.verdict(interval, 1, obs, units_n, effect.pretrend_p)
    effect.verdict, effect.reason, effect.method = verdict, reason, interval.method
    effect.estimate = _finite(interval.estimate)
    effect.low, effect.high = _finite(interval.low), _finite(interval.high)
    effect.p = _finite(interval.p)
    effect.covered_units, effect.control_units = units_n
    effect.delivered = obs
    return effect


@dataclass
class MeasureView:
    m: InformationMeasure
    effect: Effect
    covered: int  # organizations the measure covers
    founder_code: str | None = None

    @property
    def window(self) -> dict[str, date]:
        return windows(self.m.started_on, self.m.ended_on)


def _region_of(user: User) -> str | None:
    scope = scope_of(user)
    if scope.kind is ScopeKind.country:
        return None
    if scope.kind is ScopeKind.region and scope.region_code:
        return scope.region_code
    raise Forbidden("Информационные мероприятия видны по субъекту РФ или по стране.")


def parse_ogrns(text: str) -> list[str]:
    """OGRNs separated by commas, semicolons, spaces or new lines."""
    return [x for x in re.split(r"[\s,;]+", text.strip()) if x]


async def _coverage(
    session: AsyncSession,
    region: str,
    ogrns: list[str],
    type_codes: list[str],
    founder_code: str,
) -> tuple[list[int], list[str], int | None]:
    if len(ogrns) > MAX_LISTED:
        raise ValidationFailed(
            f"Не больше {MAX_LISTED} организаций в списке: для большего охвата выберите типы "
            "организаций или учредителя.",
            code="too_many_organizations",
        )
    bad = [g for g in ogrns if not OGRN_RE.match(g)]
    if bad:
        raise ValidationFailed(
            f"ОГРН — 13 цифр; неверно: {', '.join(b[:20] for b in bad[:5])}.", code="bad_ogrn"
        )
    found = await repository.organizations_by_ogrn(session, ogrns)
    missing = [g for g in ogrns if g not in found]
    if missing:
        raise ValidationFailed(
            f"Организации с ОГРН {', '.join(missing[:5])} нет в реестре.", code="unknown_ogrn"
        )
    elsewhere = [g for g in ogrns if found[g][1] != region]
    if elsewhere:
        raise ValidationFailed(
            f"Организации с ОГРН {', '.join(elsewhere[:5])} — из другого субъекта РФ: мероприятие "
            "охватывает организации своего субъекта.",
            code="organization_outside_region",
        )
    known = await repository.organization_types(session)
    unknown = [t for t in type_codes if t not in known]
    if unknown:
        raise ValidationFailed(
            f"Неизвестный тип организации: {', '.join(u[:60] for u in unknown[:5])}.",
            code="unknown_type",
        )
    founder_id = None
    if founder_code:
        founder = await repository.founder_by_code(session, founder_code)
        if founder is None:
            raise ValidationFailed(
                f"Учредителя с кодом «{founder_code[:60]}» нет в реестре.", code="unknown_founder"
            )
        if founder[1] is not None and founder[1] != region:
            raise ValidationFailed(
                "Учредитель — орган другого субъекта РФ.", code="founder_outside_region"
            )
        founder_id = founder[0]
    return sorted({found[g][0] for g in ogrns}), sorted(set(type_codes)), founder_id


async def create(
    session: AsyncSession,
    user: User,
    region: str,
    title: str,
    channels: list[str],
    started_on: date | None,
    ended_on: date | None,
    *,
    ogrns: list[str] | None = None,
    type_codes: list[str] | None = None,
    founder_code: str = "",
) -> InformationMeasure:
    own = _region_of(user)
    if own is not None and own != region:
        raise Forbidden("Можно вносить мероприятия только своего субъекта РФ.")
    if region not in await repository.unit_names(session, "region"):
        raise ValidationFailed("Субъект РФ с таким кодом не найден.", code="unknown_region")
    title = title.strip()
    if not 3 <= len(title) <= 300:
        raise ValidationFailed("Название мероприятия: от 3 до 300 символов.", code="title")
    bad = [c for c in channels if c not in CHANNELS]
    if bad or not channels:
        raise ValidationFailed("Выберите хотя бы один канал из списка.", code="channels")
    if started_on is None or ended_on is None or ended_on < started_on:
        raise ValidationFailed(
            "Укажите даты начала и окончания; окончание не раньше начала.", code="dates"
        )
    if started_on > datetime.now(MOSCOW).date():
        raise ValidationFailed(
            "Мероприятие ещё не началось: внесите его после начала.", code="dates"
        )
    org_ids, types, founder_id = await _coverage(
        session, region, ogrns or [], type_codes or [], founder_code.strip()
    )
    m = InformationMeasure(
        region_code=region,
        title=title,
        channels=sorted(set(channels)),
        organization_ids=org_ids,
        type_codes=types,
        founder_id=founder_id,
        started_on=started_on,
        ended_on=ended_on,
        created_by=user.email,
    )
    session.add(m)
    await session.flush()
    if not await repository.covered_count(session, m.id):
        raise ValidationFailed(
            "Мероприятие не охватывает ни одной организации: в субъекте нет организаций с "
            "выбранными типами и учредителем.",
            code="no_organizations",
        )
    await record_audit(
        session,
        Actor(user.id, user.email),
        "create",
        "information_measure",
        str(m.id),
        None,
        {
            "region": region,
            "title": title,
            "channels": m.channels,
            "organizations": len(org_ids),
            "types": types,
            "founder": founder_code.strip() or None,
        },
    )
    return m


async def effect_of(session: AsyncSession, m: InformationMeasure, today: date) -> Effect:
    bounds = windows(m.started_on, m.ended_on)
    if bounds["post_hi"] > today:
        last = bounds["post_hi"] - timedelta(days=1)
        return Effect("pending", f"окно после мероприятия закончится {last:%d.%m.%Y}", method="")
    return estimate(await repository.measure_cells(session, m.id, bounds))


async def overview(session: AsyncSession, user: User, region: str | None) -> list[MeasureView]:
    own = _region_of(user)
    if own is not None:
        region = own
    items = await repository.measures(session, region or None)
    today = datetime.now(MOSCOW).date()
    founders = await repository.founder_codes(
        session, [m.founder_id for m in items if m.founder_id is not None]
    )
    return [
        MeasureView(
            m,
            await effect_of(session, m, today),
            await repository.covered_count(session, m.id),
            founders.get(m.founder_id) if m.founder_id is not None else None,
        )
        for m in items
    ]
