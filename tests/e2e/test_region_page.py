"""The region page in a real Chromium: a regional authority reaches its own region from the
regions list, the page is axe-clean and fits 360 px, and a founder's page works the same.

With ``OTKLIK_SCREENSHOTS=1`` the full-page screenshots are written to docs/screenshots/
(region-360.png, region-1280.png); otherwise to the test's temporary directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .test_pages import SMALL, PageAs, assert_accessible, path_of

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDE = {"width": 1280, "height": 800}


def _shots(tmp_path: Path) -> Path:
    return DOCS if os.environ.get("OTKLIK_SCREENSHOTS") == "1" else tmp_path


@pytest.mark.e2e
@pytest.mark.parametrize("viewport", ["360", "1280"])
def test_region_page_for_its_authority(page_as: PageAs, tmp_path: Path, viewport: str) -> None:
    page = page_as("region16@demo.otklik.ru", viewport=SMALL if viewport == "360" else WIDE)
    response = page.goto("/cabinet/indicators/regions")
    assert response is not None
    assert response.status == 200, f"HTTP {response.status}"
    assert path_of(page) == "/cabinet/indicators/region/16", page.url
    expect(page.locator("h1")).to_have_text("Республика Татарстан")
    for heading in (
        "Показатели субъекта РФ",
        "Организации: сначала отстающие",
        "Доля ответов по типам организаций",
        "Участие организаций (постановление № 882)",
    ):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.locator("svg[role=img]").nth(1)).to_be_visible()  # the histogram
    doc = page.evaluate("() => document.documentElement.scrollWidth")
    assert doc <= int(viewport), f"region page scrolls sideways at {viewport} px ({doc})"
    assert_accessible(page, f"region page ({viewport}px)")
    # another region stays hidden
    other = page.goto("/cabinet/indicators/region/77")
    assert other is not None
    assert other.status == 404
    page.goto("/cabinet/indicators/region/16")
    out = _shots(tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / f"region-{viewport}.png"), full_page=True)


@pytest.mark.e2e
def test_founder_page_sorts_by_change(page_as: PageAs) -> None:
    page = page_as("minzdrav@demo.otklik.ru")
    page.goto("/cabinet/indicators/regions")
    assert path_of(page) == "/cabinet/indicators/founder/minzdrav", page.url
    page.get_by_role("link", name="Изменение к прошлому году").click()
    page.wait_for_load_state()
    assert "sort=change" in page.url
    expect(page.locator("th[aria-sort=ascending]")).to_have_count(1)
    assert_accessible(page, "founder page (desktop)")
