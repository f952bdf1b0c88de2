"""МСЗУ, priorities and participants' pages in Chromium: 360 px, keyboard, axe, the workflow."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from .test_pages import SMALL, assert_accessible

PageAs = Callable[..., Page]
ANALYST = "analyst@demo.otklik.ru"
MINTSIFRY = "mintsifry@demo.otklik.ru"
SUBCOMMISSION = "subcommission@demo.otklik.ru"
COORDINATOR = "mintrud@demo.otklik.ru"
REGION16 = "region16@demo.otklik.ru"


def _no_sideways_scroll(page: Page, label: str) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"{label}: document scrolls sideways at 360 px ({width})"


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("email", "url", "heading"),
    [
        (COORDINATOR, "/mszu", "Перечень массовых социально значимых услуг"),
        (COORDINATOR, "/mszu/list/2", "Перечень МСЗУ, версия 2"),
        (COORDINATOR, "/mszu/diff?old=1&new=2", "Изменения перечня МСЗУ"),
        (COORDINATOR, "/mszu/shares", "Доля МСЗУ в электронном виде"),
        (COORDINATOR, "/mszu/statistics", "Статистика заявлений"),
        (ANALYST, "/priorities", "Приоритеты улучшения"),
        (COORDINATOR, "/participants", "Показатели эффективности участников"),
        (REGION16, "/measures", "Информационные мероприятия"),
    ],
)
def test_pages_at_360px_pass_axe(page_as: PageAs, email: str, url: str, heading: str) -> None:
    page = page_as(email, viewport=SMALL)
    response = page.goto(url)
    assert response is not None
    assert response.status == 200, url
    expect(page.locator("h1")).to_contain_text(heading)
    _no_sideways_scroll(page, url)
    assert_accessible(page, f"{url} (360px)")


@pytest.mark.e2e
def test_demo_shows_versions_trajectory_and_ranking(page_as: PageAs) -> None:
    page = page_as(COORDINATOR)
    page.goto("/cabinet")
    page.get_by_role("link", name="МСЗУ в электронном виде: траектория к 99 %").click()
    expect(page.locator("h1")).to_have_text("Доля МСЗУ в электронном виде")
    # every demo region has a tile and a row with n
    expect(page.locator(".tiles li")).to_have_count(12)
    expect(page.locator("#table-h")).to_be_visible()
    assert "Нет статистики" not in page.content()
    page.goto("/mszu")
    expect(page.get_by_role("link", name="Версия 2")).to_be_visible()
    expect(page.get_by_text("№ 11-ПК от 20 февраля 2026")).to_be_visible()  # fmt.day
    page.goto("/priorities")
    expect(page.locator("table tbody tr").first).to_be_visible()
    assert page.locator("table tbody tr").count() > 30


@pytest.mark.e2e
def test_list_workflow_by_keyboard(page_as: PageAs) -> None:
    """Analyst drafts, Минцифры agrees, the subcommission's secretary approves: keyboard only."""
    analyst = page_as(ANALYST)
    analyst.goto("/mszu")
    analyst.locator("#note").focus()
    analyst.keyboard.type("Проверка в браузере")
    analyst.keyboard.press("Tab")
    analyst.keyboard.press("Enter")
    expect(analyst.locator("h1")).to_contain_text("Перечень МСЗУ, версия 3")
    number = analyst.url.rsplit("/", 1)[1]
    analyst.select_option("#mode-health\\.vaccination", "electronic")
    analyst.get_by_role("button", name="Сохранить проект").press("Enter")
    expect(analyst.locator("h1")).to_contain_text("версия 3")

    operator = page_as(MINTSIFRY)
    operator.goto(f"/mszu/list/{number}")
    operator.get_by_role("button", name="Согласовать перечень").press("Enter")
    expect(operator.get_by_text("согласован Минцифры")).to_be_visible()

    secretary = page_as(SUBCOMMISSION)
    secretary.goto(f"/mszu/list/{number}")
    secretary.fill("#protocol", "15-ПК")
    secretary.fill("#decision_date", "2026-10-01")
    secretary.get_by_role("button", name="Внести решение об утверждении").press("Enter")
    expect(secretary.get_by_text("протокол № 15-ПК от 1 октября 2026")).to_be_visible()
    assert_accessible(secretary, f"/mszu/list/{number} approved")
