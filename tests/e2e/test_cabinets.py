"""Indicator cabinets in a real Chromium: each role's page at 360 px, axe-clean, no sideways
scroll, usable without JavaScript (the period form is a plain GET form)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .test_pages import SMALL, PageAs, assert_accessible, path_of

CABINETS = [
    ("clinic@demo.otklik.ru", "/cabinet/indicators/organization/"),
    ("region16@demo.otklik.ru", "/cabinet/indicators/organizations"),
    ("minzdrav@demo.otklik.ru", "/cabinet/indicators/organizations"),
    ("mintrud@demo.otklik.ru", "/cabinet/indicators/regions"),
]


@pytest.mark.e2e
@pytest.mark.parametrize(("email", "landing"), CABINETS, ids=[c[0].split("@")[0] for c in CABINETS])
def test_cabinet_at_360px_is_accessible(page_as: PageAs, email: str, landing: str) -> None:
    page = page_as(email, viewport=SMALL)
    response = page.goto("/cabinet/indicators")
    assert response is not None
    assert response.status == 200, f"{email}: HTTP {response.status}"
    assert path_of(page).startswith(landing), page.url
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("table").first).to_be_visible()
    doc = page.evaluate("() => document.documentElement.scrollWidth")
    assert doc <= 360, f"{landing}: document scrolls sideways at 360 px ({doc})"
    assert_accessible(page, f"{landing} as {email} (360px)")


@pytest.mark.e2e
def test_coordinator_drills_down_from_regions_to_an_organization(page_as: PageAs) -> None:
    page = page_as("mintrud@demo.otklik.ru")
    page.goto("/cabinet/indicators/regions")
    page.locator('table tbody th a[href*="region=16"]').click()
    page.wait_for_load_state()
    assert path_of(page) == "/cabinet/indicators/organizations"
    page.locator("#results table tbody th a").first.click()
    page.wait_for_load_state()
    assert path_of(page).startswith("/cabinet/indicators/organization/")
    assert_accessible(page, "organization drill-down (desktop)")
