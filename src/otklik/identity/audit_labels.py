"""The audit log in words: Russian names of actions, objects and fields, and a before/after diff.

The log stores codes and JSON (``update``, ``user``, ``{"source_id": null}``); the page shows
"Изменение", "Пользователь" and one row per changed field with the old and the new value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from otklik.identity.roles import ROLE_LABELS
from otklik.kit import fmt

ACTIONS = {
    "agree": "Согласование",
    "approve": "Утверждение",
    "create": "Создание",
    "edit": "Правка",
    "import": "Загрузка файла",
    "publish": "Публикация",
    "return": "Возврат на доработку",
    "revoke": "Отзыв",
    "rotate_key": "Смена ключа",
    "transition": "Смена состояния",
    "update": "Изменение",
    "upload": "Загрузка",
    "effect.create": "Оценка эффекта",
    "incident.open": "Инцидент открыт",
    "incident.decision": "Решение по инциденту",
    "incident.owner": "Назначен ответственный",
    "incident.review": "Разбор инцидента",
    "incident.ack": "Инцидент принят в работу",
    "incident.resolve": "Инцидент устранён",
    "incident.close": "Инцидент закрыт",
    "incident.reopen": "Инцидент открыт повторно",
    "insights.correct_topics": "Исправление тем комментария",
    "insights.review_urgent": "Разбор срочного сигнала",
    "lab.finding": "Вывод лаборатории",
    "lab.sessions": "Сессии лаборатории",
    "lab.study": "Исследование лаборатории",
    "yswd.submit": "«Вы сказали — мы сделали»: отправлено",
    "yswd.approve": "«Вы сказали — мы сделали»: одобрено",
    "yswd.return": "«Вы сказали — мы сделали»: возвращено",
}
ENTITIES = {
    "api_token": "Токен API",
    "comment_analysis": "Разбор комментария",
    "effect_assessment": "Оценка эффекта",
    "incident": "Инцидент",
    "information_measure": "Информационная мера",
    "lab_finding": "Вывод лаборатории",
    "lab_study": "Исследование лаборатории",
    "mszu_list": "Перечень МСЗУ",
    "mszu_trajectory": "Траектория МСЗУ",
    "passport": "Паспорт услуги",
    "priority_criteria": "Критерии приоритизации",
    "questionnaire_version": "Версия анкеты",
    "source": "Источник данных",
    "urgent_review": "Срочный сигнал",
    "user": "Пользователь",
    "yswd_entry": "«Вы сказали — мы сделали»",
    "organizations": "Организации (файл)",
    "services": "Услуги (файл)",
    "service_records": "Записи об услугах (файл)",
}
FIELDS = {
    "actions": "Действий",
    "added": "Добавлено",
    "channels": "Каналы",
    "decision_date": "Дата решения",
    "documents": "Документы",
    "email": "Электронная почта",
    "fees": "Пошлина",
    "founder": "Учредитель",
    "goals": "Цели",
    "indicator": "Показатель",
    "inserted": "Добавлено строк",
    "is_active": "Активен",
    "items": "Позиции",
    "kind": "Вид",
    "key_prefix": "Начало ключа",
    "metric": "Показатель",
    "name": "Название",
    "op": "Условие",
    "organizations": "Организации",
    "owner_user_id": "Ответственный (номер пользователя)",
    "protocol": "Протокол",
    "reason": "Причина",
    "region": "Субъект РФ",
    "rejected": "Отклонено строк",
    "released_on": "Дата выпуска",
    "retest_of": "Повтор исследования",
    "revoked": "Отозван",
    "role": "Роль",
    "rows": "Строк в файле",
    "scope": "Область доступа",
    "severity": "Серьёзность",
    "source": "Источник",
    "source_id": "Источник (номер)",
    "state": "Состояние",
    "status": "Статус",
    "steps": "Шаги",
    "tasks": "Задачи",
    "term_days": "Срок, дней",
    "title": "Заголовок",
    "topics": "Темы",
    "types": "Типы",
    "unchanged": "Без изменений, строк",
    "units": "Подразделения",
    "updated": "Обновлено строк",
    "value": "Значение",
    "weights": "Веса",
}
# stored codes among the values: roles, scopes, channels, incident states
VALUES = {
    **{role.value: label for role, label in ROLE_LABELS.items()},
    "country": "вся страна",
    "region": "субъект РФ",
    "founder": "учредитель",
    "organization": "организация",
    "self": "свои анкеты",
    "in_person": "лично",
    "portal": "портал",
    "proactive": "проактивно",
    "new": "новый",
    "acknowledged": "принят",
    "in_progress": "в работе",
    "waiting": "ожидание",
    "escalated": "передан в подкомиссию",
    "resolved": "устранён",
    "closed": "закрыт",
    "draft": "черновик",
    "published": "опубликована",
}


def register_values(*labels: dict[str, str]) -> None:
    """A package names its stored codes (states, modes) for the audit log, at import."""
    for more in labels:
        for code, label in more.items():
            VALUES.setdefault(code, label.lower() if label[:1].isupper() else label)


OTHER_FIELD = "Прочее"  # a field this list does not name yet: still shown, without its code


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str

    @staticmethod
    def is_code(value: str) -> bool:
        """A stored code no package has named: the page shows it marked up as code."""
        return "_" in value and value.isascii() and " " not in value


def action_label(code: str) -> str:
    return ACTIONS.get(code, "Действие")


def entity_label(code: str) -> str:
    return ENTITIES.get(code, "Объект")


def field_label(key: str) -> str:
    if key.isdigit():  # a year of a trajectory, a position in a list
        return key
    return FIELDS.get(key, OTHER_FIELD)


def text(value: Any) -> str:
    """A stored value as words: a dash for nothing, "да"/"нет", numbers through the formatter."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return fmt.num(value, 2 if value != int(value) else 0)
    if isinstance(value, list):
        return "; ".join(text(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{field_label(str(k))}: {text(v)}" for k, v in value.items())
    return VALUES.get(str(value), str(value))


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[Change]:
    """One row per field that differs (all fields of a created or a removed object)."""
    old, new = before or {}, after or {}
    keys = list(old) + [k for k in new if k not in old]
    return [
        Change(field_label(k), text(old.get(k)), text(new.get(k)))
        for k in keys
        if old.get(k) != new.get(k)
    ]
