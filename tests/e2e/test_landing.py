"""The landing cabinet of each role and "fix first" in a real Chromium: the figures that
matter on the first screen, axe-clean, no sideways scroll at 360 px; screenshots of each
role's landing and of "fix first" at 360 and 1280 px into docs/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .test_pages import SCREENSHOTS, SMALL, PageAs, assert_accessible, png_size

ROLES = {
    "organization": "clinic@demo.otklik.ru",
    "region": "region16@demo.otklik.ru",
    "founder": "minzdrav@demo.otklik.ru",
    "country": "mintrud@demo.otklik.ru",
}
WIDE = {"width": 1280, "height": 800}
# Of a 740 px first screen, what the landing itself may take below the site header (the
# header is the navigation's business: it collapses to a menu button at 360 px).
CONTENT_BUDGET = 640


def _fits(page: Page, label: str) -> None:
    doc = page.evaluate("() => document.documentElement.scrollWidth")
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert doc <= width, f"{label}: the page scrolls sideways ({doc} > {width})"


def _bottom(page: Page, selector: str) -> float:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not rendered"
    return float(box["y"] + box["height"])


@pytest.mark.e2e
@pytest.mark.parametrize("viewport", [SMALL, WIDE], ids=["360px", "1280px"])
@pytest.mark.parametrize("role", list(ROLES))
def test_landing(page_as: PageAs, role: str, viewport: dict[str, int]) -> None:
    page = page_as(ROLES[role], viewport=viewport)
    # a scope's first landing reads its year's tables cold (population and protection caches);
    # on the shared 2-core machine that took over 15 s once, so navigation may take 45 s here
    page.set_default_navigation_timeout(45_000)
    response = page.goto("/cabinet")
    assert response is not None
    assert response.status == 200
    tiles = page.locator(".land-kpi")
    expect(tiles).to_have_count(4)
    # score with its interval and n, coverage against 40 %, the trend, the top three
    expect(tiles.nth(0)).to_contain_text("Интегральный индекс")
    expect(tiles.nth(0)).to_contain_text(re.compile(r"\d,\d\d"))
    expect(tiles.nth(0)).to_contain_text(re.compile(r"n = \d"))
    expect(tiles.nth(2)).to_contain_text("40")
    expect(page.locator("#months")).to_have_count(1)
    fixes = page.locator("#fix-h + ol.fixes > li")
    assert 1 <= fixes.count() <= 3, f"{role}: {fixes.count()} rows to fix on the landing"
    if role != "organization":
        expect(page.locator("#risk-h")).to_be_visible()
    # the figures that matter come first: from the heading to the third row to fix
    top = page.locator("h1").bounding_box()
    assert top is not None
    used = _bottom(page, "#fix-h + ol.fixes > li >> nth=-1") - top["y"]
    assert used <= CONTENT_BUDGET, f"{role}: the top three end {used:.0f} px below the heading"
    _fits(page, f"/cabinet as {role}")
    assert_accessible(page, f"/cabinet as {role} ({viewport['width']} px)")
    name = f"landing-{role}-{viewport['width']}.png"
    page.screenshot(path=str(SCREENSHOTS / name))
    assert png_size(SCREENSHOTS / name) == (viewport["width"], viewport["height"])


@pytest.mark.e2e
@pytest.mark.parametrize("viewport", [SMALL, WIDE], ids=["360px", "1280px"])
def test_fix_first(page_as: PageAs, viewport: dict[str, int]) -> None:
    page = page_as(ROLES["organization"], viewport=viewport)
    page.goto("/cabinet")
    page.get_by_role("link", name="Весь список с объяснением").click()
    page.wait_for_load_state()
    expect(page.locator("h1")).to_have_text("Что исправить в первую очередь")
    expect(page.locator(".hint").first).to_contain_text("Период:")
    rows = page.locator("ol.fixes > li")
    assert rows.count() >= 1
    expect(rows.first.locator(".why")).to_contain_text("поэтому")
    _fits(page, "/cabinet/fix-first")
    assert_accessible(page, f"/cabinet/fix-first ({viewport['width']} px)")
    name = f"fix-first-{viewport['width']}.png"
    page.screenshot(path=str(SCREENSHOTS / name))
    assert png_size(SCREENSHOTS / name) == (viewport["width"], viewport["height"])


@pytest.mark.e2e
def test_authority_opens_fix_first_of_an_organization(page_as: PageAs) -> None:
    page = page_as(ROLES["region"], viewport=SMALL)
    page.goto("/cabinet")
    ogrn = page.locator("#risk-h ~ table tbody th a").first.get_attribute("href") or ""
    match = re.search(r"/organization/(\d+)", ogrn)
    assert match, ogrn
    response = page.goto(f"/cabinet/fix-first?organization={match[1]}")
    assert response is not None
    assert response.status == 200
    _fits(page, "/cabinet/fix-first?organization=…")
    assert_accessible(page, "/cabinet/fix-first of an organization (360 px)")
    # an organization outside the region answers 404 like a missing one
    outside = page.goto("/cabinet/fix-first?organization=1000000000000")
    assert outside is not None
    assert outside.status == 404
