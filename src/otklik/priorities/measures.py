"""Information measures (decree 882): what a region did to raise the answer rate, and whether
the rate moved — before (30 days before the start) against after (30 days after the end), with
a 95 % interval of the difference of two proportions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

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


@dataclass
class MeasureView:
    m: InformationMeasure
    before: tuple[int, int]  # delivered, answered
    after: tuple[int, int]
    after_ready: bool

    @staticmethod
    def _rate(x: tuple[int, int]) -> float | None:
        return x[1] / x[0] if x[0] else None

    @property
    def rate_before(self) -> float | None:
        return self._rate(self.before)

    @property
    def rate_after(self) -> float | None:
        return self._rate(self.after) if self.after_ready else None

    @property
    def change(self) -> tuple[float, float, float] | None:
        """Difference after − before with its 95 % interval (None when either side is empty)."""
        a, b = self.rate_after, self.rate_before
        if a is None or b is None:
            return None
        se = math.sqrt(a * (1 - a) / self.after[0] + b * (1 - b) / self.before[0])
        d = a - b
        return d, d - 1.96 * se, d + 1.96 * se

    @property
    def verdict(self) -> str:
        c = self.change
        if c is None:
            return "пока нельзя оценить"
        if c[1] > 0:
            return "доля ответов выросла"
        if c[2] < 0:
            return "доля ответов снизилась"
        return "изменение не отличимо от случайного"


def _region_of(user: User) -> str | None:
    scope = scope_of(user)
    if scope.kind is ScopeKind.country:
        return None
    if scope.kind is ScopeKind.region and scope.region_code:
        return scope.region_code
    raise Forbidden("Информационные мероприятия видны по субъекту РФ или по стране.")


async def create(
    session: AsyncSession,
    user: User,
    region: str,
    title: str,
    channels: list[str],
    started_on: date | None,
    ended_on: date | None,
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
    m = InformationMeasure(
        region_code=region,
        title=title,
        channels=sorted(set(channels)),
        organization_ids=[],
        started_on=started_on,
        ended_on=ended_on,
        created_by=user.email,
    )
    session.add(m)
    await session.flush()
    await record_audit(
        session,
        Actor(user.id, user.email),
        "create",
        "information_measure",
        str(m.id),
        None,
        {"region": region, "title": title, "channels": m.channels},
    )
    return m


async def overview(session: AsyncSession, user: User, region: str | None) -> list[MeasureView]:
    own = _region_of(user)
    if own is not None:
        region = own
    items = await repository.measures(session, region or None)
    today = datetime.now(MOSCOW).date()
    rates = await repository.measure_rates(session, [m.id for m in items], today)
    return [
        MeasureView(
            m,
            rates.get((m.id, "before"), (0, 0, True))[:2],
            rates.get((m.id, "after"), (0, 0, False))[:2],
            rates.get((m.id, "after"), (0, 0, False))[2],
        )
        for m in items
    ]
