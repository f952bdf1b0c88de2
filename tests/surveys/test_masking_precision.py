"""Masking precision: ordinary sentences (no name, phone, e-mail, address or identifier)
come out unchanged, in any order and combination: sentence-initial nouns, job titles,
relatives, organization and portal names, "Спасибо" before a noun (issue 17)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otklik.surveys.masking import mask_personal_data

ORDINARY = [
    "Логопед в садике творит чудеса",
    "Внука травят в классе уже полгода",
    "Внучка пошла в садик в три года",
    "Медкабинет в школе нормальный",
    "Записывались на Госуслугах в секцию дзюдо",
    "Онлайн-запись работает, удобно",
    "Соцработница приходит два раза в неделю",
    "Акушерка была очень внимательной",
    "Соцзащита кивает на больницу",
    "Трудовик кричит на детей",
    "Эндокринолог разрешил плавание",
    "Шкафчиков в раздевалке мало",
    "Коляску выдали старую, но рабочую",
    "Сурдопереводчик был на приёме",
    "Спасибо врачу за внимание",
    "Спасибо воспитателям и нянечкам",
    "Спасибо всем сотрудникам поликлиники",
    "Регистратура не берёт трубку",
    "Главврач обещал разобраться",
    "Директор школы не отвечает на письма",
    "Тренер занимается с детьми с душой",
    "Медсестра поставила укол без боли",
    "Охранник помог заехать на коляске",
    "Бабушка ждала скорую два часа",
    "Дедушка доволен санаторием",
    "Сын ходит на плавание в бассейн",
    "Мама получила путёвку через МФЦ",
    "Пандус есть, но кнопка вызова сломана",
    "Очередь в регистратуру на час",
    "Талон дали только на следующую неделю",
    "Столовая чистая, кормят вкусно",
    "Поликлиника отремонтирована, стало уютно",
    "Заведующая отделением всегда на связи",
    "Педиатр выслушал и всё объяснил",
    "Отопление в зале не работает",
    "Сайт школы давно не обновлялся",
    "Хочу поблагодарить коллектив отделения",
    "Няня в группе заботливая",
    "Фельдшер приехал быстро",
    "Лекарства по льготе выдают с задержкой",
]
END = st.sampled_from([".", "!", "", " :(", "..."])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(ORDINARY), END), min_size=1, max_size=4))
def test_masking_keeps_every_ordinary_word(parts: list[tuple[str, str]]) -> None:
    text = " ".join(sentence + end for sentence, end in parts).strip()
    assert mask_personal_data(text) == text


def test_names_beside_ordinary_words_are_still_masked() -> None:
    # the name goes, the word before it stays (it used to be swallowed with the name)
    assert mask_personal_data("Спасибо Марине Сергеевне!") == "Спасибо [имя]!"
    assert mask_personal_data("Акушерка Галина Фёдоровна была рядом") == "Акушерка [имя] была рядом"
    assert mask_personal_data("Дед Василий Петрович доволен") == "Дед [имя] доволен"
