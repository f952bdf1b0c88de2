"""The Russian text pipeline, topic rules, sentiment and urgent triage (hand-labelled)."""

from __future__ import annotations

import pytest

from otklik.insights.analysis import analyse, sentiment, urgent_kind
from otklik.insights.taxonomy import classify_text, load, translate
from otklik.insights.text import lemmas, normalize, words


def test_negation_marks_the_next_content_word() -> None:
    assert lemmas("Мы не ждали") == ["NOT_ждать"]
    assert lemmas("Мы ждали") == ["ждать"]
    assert lemmas("без пандуса") == ["NOT_пандус"]
    assert lemmas("не было лекарств") == ["NOT_лекарство"]  # "было" is a stop word


def test_lemmas_and_normalization() -> None:
    assert lemmas("В очередях ЖДАЛИ два часа") == ["очередь", "ждать", "два", "час"]
    assert normalize("  Ёлка\u200b  ЁЖ!!!!!! ") == "елка еж!!!"
    assert lemmas("The staff didn't listen", "en") == ["staff", "NOT_listen"]


@pytest.mark.parametrize(
    "text",
    ["", "   ", "😀😀😀", "!!!???", "12345"],
)
def test_empty_and_symbol_only_input(text: str) -> None:
    assert words(text) == []
    result = analyse(text, None)
    assert result.topics == []
    assert result.sentiment == "neutral"
    assert not result.urgent


def test_very_long_mixed_script_all_caps_obscene_input() -> None:
    long = "ОЧЕНЬ ДОЛГО ЖДАЛИ В ОЧЕРЕДИ, QUEUE! " * 2000
    assert "waiting" in analyse(long, 2).topics
    assert analyse("Врач Xороший, но оЧеРеДь", 4).topics == ["waiting"]
    rude = "Регистратура хамит, бл*дь, задолбали"
    result = analyse(rude, 1)
    assert "staff_politeness" in result.topics
    assert result.sentiment == "negative"


CASES = [
    ("Очень долго ждали в коридоре, почти два часа", {"waiting"}),
    ("Не могла записаться к неврологу, талонов нет", {"booking"}),
    ("Медсестра нахамила и накричала на ребёнка", {"staff_politeness"}),
    ("Тренер некомпетентный, упражнения неправильно показывает", {"staff_competence"}),
    ("Никто ничего не объяснил, на стенде информации нет", {"information"}),
    ("В туалете грязно и воняет", {"cleanliness_comfort"}),
    ("Нет пандуса, на коляске не заехать", {"accessibility"}),
    ("Тренажёры сломаны, оборудование старое", {"equipment"}),
    ("В столовой невкусная еда, порции маленькие", {"food"}),
    ("Льготных лекарств в аптеке не было", {"medicines"}),
    ("Заставили оплатить анализы, хотя они бесплатные", {"payments"}),
    ("На крыльце скользко, бабушка упала", {"safety"}),
    ("Гоняли за справками, бюрократия", {"documents"}),
    ("Через Госуслуги не получилось, портал выдаёт ошибку", {"digital"}),
    ("Огромное спасибо доктору", {"gratitude"}),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_rules_find_each_topic(text: str, expected: set[str]) -> None:
    assert expected <= set(classify_text(text))


def test_taxonomy_has_the_required_topics_and_translates_old_codes() -> None:
    tax = load()
    assert len(tax.codes) >= 15
    assert translate(["staff", "money", "food"], "2025.1") == [
        "food",
        "payments",
        "staff_competence",
        "staff_politeness",
    ]
    with pytest.raises(ValueError, match="unknown"):
        load("1999.9")


def test_sentiment_uses_text_negation_and_score() -> None:
    assert sentiment(lemmas("Всё отлично, спасибо"), 5) == "positive"
    assert sentiment(lemmas("Ужасно, грубый персонал"), 1) == "negative"
    assert sentiment(lemmas("Не ждали совсем"), 4) == "positive"
    assert sentiment(lemmas("Ждали долго"), None) == "negative"
    assert sentiment(lemmas("Нормально"), 3) == "neutral"
    assert sentiment(lemmas("Персонал не вежливый"), None) == "neutral"
    assert sentiment(lemmas("Персонал не вежливый, грубый"), 3) == "negative"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Санитарка ударила мою маму", "violence"),
        ("Воспитатель унижает детей", "violence"),
        ("Врач потребовал деньги мимо кассы", "corruption"),
        ("За место в секции вымогали деньги", "corruption"),
        ("Намекали на взятку", "corruption"),
        ("Отцу стало плохо, он потерял сознание, а помощь не оказали", "danger"),
        ("Отказали в приёме из-за национальности", "discrimination"),
        ("Всё хорошо, спасибо", None),
        ("Ждали долго, но врач хороший", None),
        ("Чистота и порядок, денег не просили", None),
    ],
)
def test_urgent_triage(text: str, kind: str | None) -> None:
    assert urgent_kind(text) == kind
