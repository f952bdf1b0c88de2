"""The page-scan detectors find what they must and pass what is legitimate."""

from __future__ import annotations

import pytest

from tests.textscan import decimal_points, loose_percents, raw_codes


@pytest.mark.parametrize(
    "text",
    [
        "Причина: no_confirmed_account — 12",
        "sampled_out",
        'Изменения: {"source_id": null}',
        "было {'status': 'draft'}",
        "поле created_at изменено",
    ],
)
def test_raw_codes_are_found(text: str) -> None:
    assert raw_codes(text), text


@pytest.mark.parametrize(
    "text",
    [
        "Нет подтверждённой учётной записи — 12",
        "demo_user@demo.otklik.ru вошёл",
        "файл otklik_export_2026.xlsx",
        "ссылка https://example.org/a_b/c_d",
        "ОГРН 1027700132195, 2026-11-01..2026-11-30",
        "Индекс {0} из {1}",
        "Северо-Западный федеральный округ",
    ],
)
def test_legitimate_text_is_not_a_code(text: str) -> None:
    assert raw_codes(text) == [], text


@pytest.mark.parametrize(
    "text",
    ["Доля ответов 82.1 %", "Оценка 4.50 балла", "0.3", "итог: 12.5.", "(4.1–4.6)", "2025.125"],
)
def test_decimal_points_are_found(text: str) -> None:
    assert decimal_points(text), text


@pytest.mark.parametrize(
    "text",
    [
        "Доля ответов 82,1 %",
        "07.12.2026",
        "с 01.11.2026 по 30.11.2026",
        "Анкета: версия 2026.1",
        "от версии 2025.1",
        "ОГРН 1027700132195",
        "сборка 1.2.3",
        "2026-11-01..2026-11-30",
        "1 234,5",
        "лицензия CC BY 4.0.",
        "Анкета 2025.1: оценка",
    ],
)
def test_legitimate_numbers_pass(text: str) -> None:
    assert decimal_points(text) == [], text


@pytest.mark.parametrize(
    "text",
    ["Доля ответивших 41,9 %", "цель — 40 %, достигнута", "охват 12\n%", "95 % ДИ 3,9–4,1"],
)
def test_loose_percent_signs_are_found(text: str) -> None:
    assert loose_percents(text), text


@pytest.mark.parametrize(
    "text",
    ["Доля ответивших 41,9\u00a0%", "95\u00a0% ДИ", "Выполнено, %", "скидка 5%"],
)
def test_bound_percent_signs_pass(text: str) -> None:
    assert loose_percents(text) == [], text
