"""Incident, lab and effect pages in a real Chromium: demo data, keyboard, 360 px, axe."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from .test_pages import COORDINATOR, SMALL, assert_accessible

PageAs = Callable[..., Page]
ANALYST = "analyst@demo.otklik.ru"
LAB = "lab@demo.otklik.ru"


def _no_sideways_scroll(page: Page, label: str) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"{label}: document scrolls sideways at 360 px ({width})"


@pytest.mark.e2e
def test_incidents_opened_by_the_job_list_detail_board(page_as: PageAs) -> None:
    page = page_as(COORDINATOR, viewport=SMALL)
    page.goto("/incidents?state=")
    expect(page.locator("h1")).to_have_text("Инциденты")
    _no_sideways_scroll(page, "/incidents")
    assert_accessible(page, "/incidents (360px)")
    # the demo's silent information system opened one; the subcommission decided on it (found by
    # the search: the live demo keeps opening incidents, so it need not be on the first page)
    page.goto("/incidents?state=&q=" + quote("не передаёт сведения"))
    link = page.get_by_role("link", name="не передаёт сведения").first
    link.focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Инцидент №")
    expect(page.get_by_text("протокол № ПК-3")).to_be_visible()
    expect(page.locator("#tl-h")).to_be_visible()
    _no_sideways_scroll(page, page.url)
    assert_accessible(page, f"{page.url} (360px)")
    page.goto("/incidents/board")
    expect(page.locator("#mtt-h")).to_be_visible()
    assert_accessible(page, "/incidents/board (360px)")


@pytest.mark.e2e
def test_lab_study_with_retest_and_effects(page_as: PageAs) -> None:
    page = page_as(LAB, viewport=SMALL)
    page.goto("/labs?q=повторный")
    page.get_by_role("link", name="повторный тест").first.click()
    expect(page.locator("h1")).to_contain_text("повторный тест")
    expect(page.get_by_text("До выпуска")).to_be_visible()
    _no_sideways_scroll(page, page.url)
    assert_accessible(page, f"{page.url} (360px)")
    analyst = page_as(ANALYST, viewport=SMALL)
    analyst.goto("/effects")
    expect(analyst.locator("#list-h")).to_be_visible()
    assert_accessible(analyst, "/effects (360px)")
