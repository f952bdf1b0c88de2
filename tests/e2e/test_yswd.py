"""«Вы сказали — мы сделали» in a real Chromium: the demo clinic's public page with its
entries, without JavaScript, at 360 px, axe-clean; the clinic's and the authority's cabinet."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from .conftest import ContextFactory
from .test_pages import CLINIC, SMALL, assert_accessible

PageAs = Callable[..., Page]
CLINIC_AUTHORITY = "authority@demo.otklik.ru"


@pytest.mark.e2e
def test_clinic_page_has_entries_without_js(page_as: PageAs, new_context: ContextFactory) -> None:
    clinic = page_as(CLINIC, viewport=SMALL)
    clinic.goto("/cabinet/indicators")
    link = clinic.get_by_role(
        "link", name="Вы сказали — мы сделали: публичная страница организации"
    )
    public_url = link.get_attribute("href")
    assert public_url
    assert public_url.endswith("/you-said-we-did")
    clinic.goto("/yswd")
    expect(clinic.locator("h1")).to_have_text("Вы сказали — мы сделали")
    expect(clinic.get_by_text("опубликована")).to_be_visible()  # the approved own entry
    assert_accessible(clinic, "/yswd as the clinic (360px)")
    # without JavaScript: the page and its entries are all there (no evaluate/axe in this context:
    # Playwright cannot run scripts where they are disabled)
    page = new_context(java_script_enabled=False, viewport=SMALL).new_page()
    response = page.goto(public_url)
    assert response is not None
    assert response.status == 200
    expect(page.locator("h1")).to_have_text("Вы сказали — мы сделали")
    entries = page.locator("ol.yswd > li")
    assert entries.count() >= 2, "the clinic's page shows the demo's entries"
    expect(page.get_by_text("Приём по записи идёт в назначенное время").first).to_be_visible()
    # besides the own entry: a measured change or a closed incident of the clinic
    sources = page.locator("ol.yswd p.hint").all_inner_texts()
    assert any("изменение" in s or "инцидент" in s for s in sources), sources
    expect(page.get_by_text("95 % интервал").first).to_be_visible()  # the scores' intervals
    # the same page at 360 px in a normal browser: no sideways scroll, axe-clean
    shown = new_context(viewport=SMALL).new_page()
    shown.goto(public_url)
    width = shown.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways at 360 px ({width})"
    assert_accessible(shown, f"{public_url} (360px)")
    authority = page_as(CLINIC_AUTHORITY, viewport=SMALL)
    authority.goto("/yswd")
    expect(authority.get_by_role("heading", name="Записи организаций на проверке")).to_be_visible()
    assert_accessible(authority, "/yswd as the authority (360px)")
