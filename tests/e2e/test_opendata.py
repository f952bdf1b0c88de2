"""Public pages and open data on the demo, in a real Chromium, signed out: 360 px, axe-clean,
keyboard; the downloads open. (The pages run no script of their own: tests/opendata/
test_pages.py checks the rendered HTML.)"""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from .conftest import ContextFactory
from .test_pages import SMALL, assert_accessible, path_of


def _first_organization(new_context: ContextFactory) -> str:
    page = new_context().new_page()
    page.goto("/r/16")
    link = page.locator("table tbody th a").first
    href = link.get_attribute("href")
    assert href is not None
    return href.split("?")[0]


@pytest.mark.e2e
@pytest.mark.parametrize("url", ["/", "/opendata", "/r", "/r/16", "/search?q=%D0%B0", "ORG"])
def test_public_page_at_360px_is_accessible(new_context: ContextFactory, url: str) -> None:
    if url == "ORG":
        url = _first_organization(new_context)
    page = new_context(viewport=SMALL).new_page()
    response = page.goto(url)
    assert response is not None
    assert response.status == 200, url
    expect(page.locator("h1")).to_be_visible()
    assert page.title().endswith("— Отклик")
    if url != "/":
        assert page.locator('link[rel="canonical"]').count() == 1
    doc = page.evaluate("() => document.documentElement.scrollWidth")
    assert doc <= 360, f"{url}: document scrolls sideways at 360 px ({doc})"
    assert_accessible(page, f"{url} (360px)")


@pytest.mark.e2e
def test_keyboard_search_to_an_organization_page(new_context: ContextFactory) -> None:
    page = new_context().new_page()
    page.goto("/search")
    page.locator("#q").focus()
    page.keyboard.type("а")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert path_of(page) == "/search"
    expect(page.get_by_role("status")).to_contain_text("Найдено:")
    first = page.locator(".results a").first
    first.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert re.fullmatch(r"/o/\d{13,15}", path_of(page)), page.url
    expect(page.locator('a[href$="/you-said-we-did"]')).to_be_visible()
    assert_accessible(page, "organization page after a keyboard search")


@pytest.mark.e2e
def test_demo_open_data_downloads(new_context: ContextFactory) -> None:
    request = new_context().request
    quarters = request.get("/api/open/v1/quarters").json()["quarters"]
    assert quarters
    resp = request.get(f"/api/open/v1/organizations.csv?period={quarters[0]}")
    assert resp.status == 200
    rows = list(csv.DictReader(io.StringIO(resp.text())))
    assert rows
    assert any(r["suppressed"] == "false" for r in rows), "the demo shows some organization"
    cached = request.get(
        f"/api/open/v1/organizations.csv?period={quarters[0]}",
        headers={"If-None-Match": resp.headers["etag"]},
    )
    assert cached.status == 304
    regions = request.get(f"/api/open/v1/regions.json?period={quarters[0]}").json()
    assert regions["meta"]["licence"]["name"] == "CC BY 4.0"
