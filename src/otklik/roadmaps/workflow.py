"""Roadmap states, who may move a roadmap between them, and their Russian names."""

from __future__ import annotations

from dataclasses import dataclass

from otklik.identity.roles import Role

STATE_LABELS = {
    "draft": "черновик",
    "wg_approved": "одобрена рабочей группой",
    "subcommission_approved": "утверждена подкомиссией",
    "active": "выполняется",
    "completed": "завершена",
}


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    roles: frozenset[Role]
    label: str
    comment_required: bool = False


TRANSITIONS = (
    Transition("draft", "wg_approved", frozenset({Role.wg_secretary}), "Одобрена рабочей группой"),
    Transition(
        "wg_approved",
        "subcommission_approved",
        frozenset({Role.subcommission_secretary}),
        "Утверждена подкомиссией",
    ),
    Transition(
        "wg_approved",
        "draft",
        frozenset({Role.subcommission_secretary}),
        "Вернуть на доработку",
        comment_required=True,
    ),
    Transition(
        "subcommission_approved",
        "active",
        frozenset({Role.participant, Role.analyst}),
        "Начать выполнение",
    ),
    Transition("active", "completed", frozenset({Role.participant, Role.analyst}), "Завершить"),
)


def find(source: str, target: str) -> Transition | None:
    return next((t for t in TRANSITIONS if t.source == source and t.target == target), None)


def available(state: str, role: str) -> list[Transition]:
    return [t for t in TRANSITIONS if t.source == state and role in t.roles]
