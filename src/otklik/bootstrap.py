"""The built-in data every database needs, loaded by ``otklik db upgrade`` (idempotently).

Regions, founders and organization types; the catalogue of services and life situations; the
default questionnaire and methodology version. A second run changes nothing and says so; a
newer release brings changed rows of the packaged files up to date (codes are the keys), and
rows an operator added through imports stay.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.indicators import repository as indicators_repository
from otklik.indicators.methodology import DEFAULT_DEFINITION
from otklik.indicators.methodology import DEFAULT_VERSION as METHODOLOGY_VERSION
from otklik.kit.clock import now_utc
from otklik.registry.reference import seed_reference
from otklik.registry.service import seed_catalogue
from otklik.surveys import repository as surveys_repository
from otklik.surveys.definitions import default_definition

METHODOLOGY_TITLE = "Методика по умолчанию (882, 344н)"  # as the migration names it

LABELS = {
    "regions": "Регионы",
    "founders": "Учредители",
    "organization_types": "Типы организаций",
    "services": "Услуги",
    "life_situations": "Жизненные ситуации",
}


@dataclass(frozen=True)
class Loaded:
    """One kind of built-in data: rows in the packaged file, added and changed by this run."""

    kind: str
    total: int
    inserted: int
    updated: int

    def line(self) -> str:
        label = LABELS.get(self.kind, self.kind)
        if self.inserted or self.updated:
            change = f"добавлено {self.inserted}, обновлено {self.updated}"
        else:
            change = "без изменений"
        return f"{label}: {self.total} ({change})"


@dataclass(frozen=True)
class Builtin:
    loaded: list[Loaded]
    questionnaire: str
    questionnaire_added: bool
    methodology: str
    methodology_added: bool

    def lines(self) -> list[str]:
        lines = [x.line() for x in self.loaded]
        added = " (добавлена)" if self.questionnaire_added else ""
        lines.append(f"Анкета: версия {self.questionnaire} опубликована{added}")
        added = " (добавлена)" if self.methodology_added else ""
        lines.append(f"Методика расчёта показателей: версия {self.methodology}{added}")
        return lines


async def load_builtin(session: AsyncSession) -> Builtin:
    """Upsert every kind of built-in data in one transaction (the caller commits)."""
    loaded = [
        Loaded(kind, x.total, x.inserted, x.updated)
        for kind, x in (await seed_reference(session)).items()
    ]
    for report in await seed_catalogue(session):
        if report.errors:  # a packaged file that does not pass our own checks: a release bug
            first = report.errors[0]
            raise RuntimeError(
                f"built-in {report.kind} rejected at row {first.row}: {first.message}"
            )
        loaded.append(Loaded(report.kind, report.rows, report.inserted, report.updated))
    d = default_definition()
    q_added = await surveys_repository.ensure_published(
        session, d.version, d.title, d.model_dump(mode="json"), now_utc()
    )
    m_added = await indicators_repository.ensure_methodology(
        session, METHODOLOGY_VERSION, METHODOLOGY_TITLE, DEFAULT_DEFINITION
    )
    return Builtin(loaded, d.version, q_added, METHODOLOGY_VERSION, m_added)
