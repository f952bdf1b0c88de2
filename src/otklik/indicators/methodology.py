"""The default methodology version as data; a version is read from the database, never code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_VERSION = "2025.1"
DEFAULT_DEFINITION: dict[str, Any] = {
    "items": ["overall", "organization", "comfort", "staff", "information", "accessibility"],
    "integral_weights": {
        "organization": 1,
        "comfort": 1,
        "staff": 1,
        "information": 1,
        "accessibility": 1,
    },
    "recommend_item": "recommend",
    "satisfied_min": 4,
    "improvement_threshold": 4.5,
    "annual_step": 0.2,
    "coverage_target": 0.4,
    "min_n": 10,
    "timely_days": 3,
    "confidence": 0.95,
}
ITEM_LABELS = {
    "overall": "Удовлетворённость в целом",
    "organization": "Организация получения услуги",
    "comfort": "Комфортность условий",
    "staff": "Доброжелательность и компетентность работников",
    "information": "Информация об услуге",
    "accessibility": "Доступность для людей с ограничениями здоровья",
    "integral": "Интегральный индекс",
}


@dataclass(frozen=True)
class Methodology:
    """A methodology version, parsed from its JSON definition."""

    version: str
    items: tuple[str, ...]
    integral_weights: dict[str, float]
    recommend_item: str
    satisfied_min: int
    improvement_threshold: float
    annual_step: float
    coverage_target: float
    min_n: int
    timely_days: int
    confidence: float

    @classmethod
    def from_definition(cls, version: str, d: dict[str, Any]) -> Methodology:
        return cls(
            version=version,
            items=tuple(d["items"]),
            integral_weights={k: float(v) for k, v in d["integral_weights"].items()},
            recommend_item=str(d["recommend_item"]),
            satisfied_min=int(d["satisfied_min"]),
            improvement_threshold=float(d["improvement_threshold"]),
            annual_step=float(d["annual_step"]),
            coverage_target=float(d["coverage_target"]),
            min_n=int(d["min_n"]),
            timely_days=int(d["timely_days"]),
            confidence=float(d["confidence"]),
        )


DEFAULT = Methodology.from_definition(DEFAULT_VERSION, DEFAULT_DEFINITION)
