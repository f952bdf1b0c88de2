"""The change-request and passport workflows: states, Russian labels, who may move what where."""

from __future__ import annotations

from dataclasses import dataclass

from otklik.identity import audit_labels
from otklik.identity.roles import Role

CR_LABELS: dict[str, str] = {
    "draft": "Черновик",
    "submitted": "Подан",
    "expertise": "Экспертиза Аналитического центра",
    "wg_review": "Рассмотрение рабочей группой",
    "subcommission_decision": "Решение подкомиссии",
    "approved": "Одобрен",
    "rejected": "Отклонён",
    "returned": "Возвращён на доработку",
    "implementation": "Реализация",
    "control_check": "Контрольная проверка",
    "released": "Выпущен",
    "effect_assessment": "Оценка эффекта",
    "closed": "Закрыт",
}
OUTCOME_LABELS: dict[str, str] = {
    "confirmed": "эффект подтверждён",
    "not_confirmed": "эффект не подтверждён",
    "inconclusive": "недостаточно данных",
}
EVIDENCE_LABELS: dict[str, str] = {
    "insight_problem": "Проблема из комментариев",
    "rising_topic": "Растущая тема",
    "drop_signal": "Сигнал о снижении показателя",
    "urgent_flag": "Срочный сигнал",
    "incident": "Инцидент",
    "lab_finding": "Находка лаборатории",
    "control_check": "Провал контрольной проверки",
    "proposal": "Предложение участника",
}

# Who proposes a change and carries it out (the owner's side).
PROPOSERS = frozenset({Role.participant, Role.analyst, Role.lab, Role.coordinator})
_P = PROPOSERS
_A = frozenset({Role.analyst})
_WG = frozenset({Role.wg_secretary})
_SC = frozenset({Role.subcommission_secretary})


@dataclass(frozen=True)
class Step:
    roles: frozenset[Role]
    label: str  # the button's text
    comment_required: bool = False


CR_STEPS: dict[tuple[str, str], Step] = {
    ("draft", "submitted"): Step(_P, "Подать запрос"),
    ("returned", "submitted"): Step(_P, "Подать повторно"),
    ("submitted", "expertise"): Step(_A, "Принять на экспертизу"),
    ("submitted", "returned"): Step(_A, "Вернуть на доработку", True),
    ("expertise", "wg_review"): Step(_A, "Экспертиза пройдена: на рабочую группу"),
    ("expertise", "returned"): Step(_A, "Вернуть на доработку", True),
    ("wg_review", "subcommission_decision"): Step(_WG, "Одобрено рабочей группой"),
    ("wg_review", "returned"): Step(_WG, "Вернуть на доработку", True),
    ("wg_review", "rejected"): Step(_WG, "Отклонить", True),
    ("subcommission_decision", "approved"): Step(_SC, "Одобрено подкомиссией"),
    ("subcommission_decision", "returned"): Step(_SC, "Вернуть на доработку", True),
    ("subcommission_decision", "rejected"): Step(_SC, "Отклонить", True),
    ("approved", "implementation"): Step(_P, "Начать реализацию"),
    ("implementation", "control_check"): Step(_P, "Передать на контрольную проверку"),
    ("control_check", "implementation"): Step(_A, "Проверка не пройдена: на доработку", True),
    ("control_check", "released"): Step(_A, "Проверка пройдена: выпустить"),
    ("released", "effect_assessment"): Step(_A, "Начать оценку эффекта"),
    ("effect_assessment", "closed"): Step(_A, "Закрыть с выводом об эффекте"),
}
# Content (problem, change, hypothesis) is edited only before submission or after a return.
EDITABLE = frozenset({"draft", "returned"})


def next_roles(state: str) -> frozenset[Role]:
    """The roles that may act on a request in ``state`` (for queues and notifications)."""
    out: set[Role] = set()
    for (frm, _to), step in CR_STEPS.items():
        if frm == state:
            out |= step.roles
    return frozenset(out)


def states_for(role: Role) -> list[str]:
    """The states in which ``role`` has something to decide ("ждут моего решения")."""
    return sorted({frm for (frm, _to), s in CR_STEPS.items() if role in s.roles})


# States where the next step is the proposer's own: they wait for the request's owner only.
OWNER_STATES = frozenset(frm for (frm, _to), s in CR_STEPS.items() if s.roles == PROPOSERS)


def steps_from(state: str, role: str) -> list[tuple[str, Step]]:
    return [(to, s) for (frm, to), s in CR_STEPS.items() if frm == state and role in s.roles]


# Passports: draft → expertise → [digital_agreed, МСЗУ only] → wg_approved → approved
# (subcommission) → in_force → superseded; a return at any step goes back to draft.
PASSPORT_LABELS: dict[str, str] = {
    "draft": "Черновик",
    "expertise": "Экспертиза Аналитического центра",
    "digital_agreed": "Согласован Минцифры России",
    "wg_approved": "Одобрен рабочей группой",
    "approved": "Утверждён подкомиссией",
    "in_force": "Действует",
    "superseded": "Заменён новой версией",
}
DOC_LABELS = {
    "current": "Текущее состояние",
    "target": "Описание целевого состояния",
    "standard": "Оптимизированный стандарт",
}
audit_labels.register_values(CR_LABELS, PASSPORT_LABELS, DOC_LABELS)
PASSPORT_STEPS: dict[tuple[str, str], Step] = {
    ("draft", "expertise"): Step(_P, "Направить на экспертизу"),
    ("expertise", "digital_agreed"): Step(frozenset({Role.portal_operator}), "Согласовать (МСЗУ)"),
    ("expertise", "wg_approved"): Step(_WG, "Одобрено рабочей группой"),
    ("digital_agreed", "wg_approved"): Step(_WG, "Одобрено рабочей группой"),
    ("wg_approved", "approved"): Step(_SC, "Утверждено подкомиссией"),
    ("approved", "in_force"): Step(_A | _SC, "Ввести в действие"),
    ("expertise", "draft"): Step(_A | _WG | frozenset({Role.portal_operator}), "Вернуть", True),
    ("digital_agreed", "draft"): Step(_WG, "Вернуть", True),
    ("wg_approved", "draft"): Step(_SC, "Вернуть", True),
}
