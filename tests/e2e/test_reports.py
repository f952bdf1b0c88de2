"""The demo's quarterly reports in a real browser: the regional authority sees its region's
reports (not the country's), downloads a PDF, orders another and watches its progress; the page
is axe-clean and fits 360 px."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from .test_pages import SMALL, describe, serious_violations

REGION = "region16@demo.otklik.ru"


@pytest.mark.e2e
def test_reports_page_downloads_orders_and_fits_360px(page_as: Callable[..., Page]) -> None:
    page = page_as(REGION, viewport=SMALL)
    page.goto("/cabinet")
    page.get_by_role("link", name="Квартальные отчёты").click()
    expect(page.get_by_role("heading", name="Квартальные отчёты", level=1)).to_be_visible()
    deadline = time.monotonic() + 480  # the demo's worker builds the queued reports
    link = page.get_by_role("link", name="Скачать PDF")
    while link.count() == 0 and time.monotonic() < deadline:
        time.sleep(5)
        page.reload()
    assert link.count() > 0, page.locator("#reports").inner_text()
    body = page.locator("#reports").inner_text()
    assert "Республика Татарстан" in body or "субъект РФ" in body
    assert "вся страна" not in body  # the country's report is outside region 16's scope
    with page.expect_download() as info:
        link.first.click()
    path = info.value.path()
    assert path is not None
    with open(path, "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    # order one: it shows up queued or running with a progress bar, then becomes a link
    page.select_option("#format", "xlsx")
    page.get_by_role("button", name="Заказать").click()
    expect(page.locator("#reports")).to_contain_text("XLSX")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"page is {width} px wide at 360 px"
    violations = serious_violations(page)
    assert not violations, describe(violations)
    # a bad order: a precise Russian message, announced
    page.fill("#scope", "region:77")
    page.get_by_role("button", name="Заказать").click()
    expect(page.get_by_role("alert")).to_contain_text("вне вашей области доступа")
    violations = serious_violations(page)
    assert not violations, describe(violations)
