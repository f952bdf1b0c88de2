"""Roadmap pages in a real Chromium: the participant's path at 360 px, by keyboard, axe-clean."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from .test_pages import SMALL, assert_accessible

PageAs = Callable[..., Page]
PARTICIPANT = "participant16@demo.otklik.ru"
ANALYST = "analyst@demo.otklik.ru"


def _no_sideways_scroll(page: Page, label: str) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"{label}: document scrolls sideways at 360 px ({width})"


@pytest.mark.e2e
def test_participant_sees_risk_gantt_and_reports_by_keyboard(page_as: PageAs) -> None:
    page = page_as(PARTICIPANT, viewport=SMALL)
    page.goto("/cabinet")
    page.get_by_role("link", name="Дорожные карты").click()
    expect(page.locator("h1")).to_have_text("Дорожные карты")
    expect(page.locator("#due-h")).to_be_visible()
    expect(page.locator("table").first).to_contain_text("просрочен")
    _no_sideways_scroll(page, "/roadmaps")
    assert_accessible(page, "/roadmaps (360px)")

    # search by keyboard: the form works without a mouse
    page.locator("#q").focus()
    page.keyboard.type("Рождение")
    page.keyboard.press("Enter")
    page.wait_for_url("**/roadmaps?*q=*")
    results = page.locator("#results tbody tr")
    expect(results).to_have_count(1)
    results.get_by_role("link").focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Рождение ребёнка")
    expect(page.locator("svg.chart-svg")).to_be_visible()
    expect(page.locator("#risk-h + p")).to_contain_text("высокий")
    expect(page.locator("#measures")).to_contain_text("сдвинулись в среднем")
    expect(page.locator("#measures")).to_contain_text("отчёт просрочен")
    _no_sideways_scroll(page, page.url)
    assert_accessible(page, f"{page.url} (360px)")

    # the overdue report, filed by keyboard
    page.get_by_role("link", name="Отчитаться по мероприятию «Доработка региональной").focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Отчёт о ходе")
    _no_sideways_scroll(page, page.url)
    assert_accessible(page, f"{page.url} (360px)")
    page.locator("#percent").fill("")
    page.get_by_role("button", name="Отправить отчёт").click()
    expect(page.locator(".error-summary")).to_contain_text("от 0 до 100")
    assert_accessible(page, "report form with an error (360px)")
    page.locator("#percent").fill("40")
    page.locator("#text").fill("Подрядчик приступил к работам")
    page.locator("#text").press("Tab")
    page.keyboard.press("Tab")
    page.get_by_role("button", name="Отправить отчёт").press("Enter")
    expect(page.locator("h1")).to_contain_text("Рождение ребёнка")
    expect(page.locator("#measures")).to_contain_text("40 %")
    expect(page.locator("#timeline-h + ol")).to_contain_text("Подрядчик приступил к работам")


@pytest.mark.e2e
def test_analyst_list_sorts_and_exports(page_as: PageAs) -> None:
    page = page_as(ANALYST)
    page.goto("/roadmaps?risk=high")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    page.goto("/roadmaps")
    page.get_by_role("link", name="Дорожная карта", exact=True).click()
    expect(page.locator("th[aria-sort]")).to_have_count(1)
    assert_accessible(page, "/roadmaps sorted")
    with page.expect_download() as info:
        page.get_by_role("link", name="XLSX").click()
    assert info.value.suggested_filename.endswith(".xlsx")
