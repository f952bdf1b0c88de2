"""Every error code of the statistics intake and its Russian message (listed in docs/mszu.md)."""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, str] = {
    "invalid_line": "Строка NDJSON не является корректным JSON (обрезана или повреждена).",
    "not_an_object": "Строка статистики должна быть JSON-объектом.",
    "unknown_field": "Неизвестное поле; допустимы service_code, region_code, founder_code, month, "
    "channel, applications.",
    "required": "Обязательное поле не заполнено.",
    "invalid_type": "Неверный тип значения: ожидается {expected}.",
    "invalid_month": "Месяц в формате ГГГГ-ММ, например 2026-10.",
    "month_in_future": "Месяц {month} ещё не закончился или не наступил: статистику за него "
    "передавать рано.",
    "month_too_old": "Статистика принимается начиная с 2020 года.",
    "unknown_channel": "Канал подачи: одно из значений portal (портал), proactive (проактивно), "
    "in_person (лично), other (иное).",
    "negative_count": "Число заявлений не может быть отрицательным.",
    "count_too_large": "Число заявлений больше 1 000 000 000 — проверьте значение.",
    "duplicate_in_batch": "В запросе несколько строк с одинаковыми услугой, субъектом, "
    "учредителем, месяцем и каналом (первая — строка {first}); ни одна из них не принята.",
    "unknown_founder": "Учредитель с таким кодом не найден в реестре (код учредителя, например "
    "r16-health).",
    "founder_region_mismatch": "Учредитель — орган другого субъекта РФ: региональный учредитель "
    "допустим только для своего субъекта.",
    "mixed_founder": "Для этих услуги, субъекта и месяца источник уже передаёт строки {other}: "
    "передавайте либо разбивку по учредителям во всех каналах, либо строки без учредителя.",
    "unknown_service": "Услуга с таким кодом не найдена в перечне услуг.",
    "unknown_region": "Субъект РФ с таким кодом не найден (двузначный код, например 16).",
    "quarter_closed": "Квартал уже отчётный (закрыт): его статистику нельзя ни добавить, ни "
    "заменить.",
}


def message(code: str, **args: Any) -> str:
    return MESSAGES[code].format(**args)
