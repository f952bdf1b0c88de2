"""Every intake error code and its Russian message (listed for integrators in docs/intake.md)."""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, str] = {
    # whole request
    "unauthorized": "Нет ключа API источника или он неверен, отозван либо источник отключён.",
    "invalid_json": "Тело запроса не является корректным JSON.",
    "duplicate_key": "В JSON ключ «{key}» повторяется в одном объекте; укажите его один раз.",
    "not_a_list": "Ожидается JSON-массив записей или NDJSON (одна запись в строке).",
    "too_many_records": "В одном запросе не более {limit} записей.",
    "payload_too_large": "Тело запроса больше {limit} байт.",
    "rate_limited": "Слишком много запросов от источника; повторите через {retry} с.",
    "unsupported_media_type": "Поддерживаются application/json и application/x-ndjson.",
    # one record
    "invalid_line": "Строка NDJSON не является корректным JSON (обрезана или повреждена).",
    "not_an_object": "Запись должна быть JSON-объектом.",
    "unknown_field": "Неизвестное поле; проверьте написание (поля перечислены в docs/intake.md).",
    "required": "Обязательное поле не заполнено.",
    "invalid_type": "Неверный тип значения: ожидается {expected}.",
    "invalid_record_id": "Номер записи: от 1 до 100 печатных символов ASCII без пробелов.",
    "invalid_ogrn": "ОГРН должен состоять из 13 цифр с верной контрольной суммой.",
    "invalid_snils": "СНИЛС должен состоять из 11 цифр с верной контрольной суммой.",
    "invalid_datetime": (
        "Дата и время в формате ISO 8601 с часовым поясом, например 2026-11-20T10:15:00+03:00."
    ),
    "served_in_future": "Дата оказания услуги в будущем.",
    "too_old": "Услуга оказана более {days} дней назад: запись уже не принимается.",
    "invalid_date": "Дата в формате ГГГГ-ММ-ДД.",
    "implausible_birth_date": "Дата рождения позже даты услуги или более 125 лет назад.",
    "invalid_relation": "Степень родства: одно из значений {allowed}.",
    "invalid_email": "Адрес электронной почты указан неверно.",
    "invalid_phone": "Номер телефона: российский номер из 10–11 цифр, например +79001234567.",
    "too_many_representatives": "Не более {limit} законных представителей.",
    "representative_required": (
        "Получателю нет 18 лет на дату услуги: укажите законного представителя."
    ),
    "duplicate_in_batch": "Запись с таким номером уже есть выше в этом запросе.",
    "unknown_organization": "Организация с таким ОГРН не найдена в реестре.",
    "organization_not_participating": "Организация не участвует в оценке на дату оказания услуги.",
    "unknown_service": "Услуга с таким кодом не найдена в перечне.",
    "service_not_for_type": "Организации этого типа не оказывают эту услугу.",
    "unknown_life_situation": "Жизненная ситуация с таким кодом не найдена.",
    "conflict": "Запись с этим номером уже принята с другим содержимым.",
}


def message(code: str, **args: Any) -> str:
    return MESSAGES[code].format(**args)
