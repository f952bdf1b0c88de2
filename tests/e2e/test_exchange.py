"""The demo transfers its answers to its local ИАС МКГУ receiver, live, and the reconciliation
page says so in a real browser (axe-clean, 360 px)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from .test_pages import SMALL, describe, serious_violations

COORDINATOR = "mintrud@demo.otklik.ru"


def shares(page: Page) -> dict[str, int]:
    rows = page.locator("figure.chart table tbody tr")
    out = {}
    for i in range(rows.count()):
        label = rows.nth(i).locator("th").inner_text()
        out[label] = int(re.sub(r"\D", "", rows.nth(i).locator("td").first.inner_text()))
    return out


@pytest.mark.e2e
def test_demo_answers_reach_the_local_receiver(page_as: Callable[..., Page]) -> None:
    page = page_as(COORDINATOR, viewport=SMALL)
    deadline = time.monotonic() + 150  # the job runs every minute
    while True:
        page.goto("/exchange/iasmkgu")
        counts = shares(page)
        accepted = counts["Приняты получателем (есть квитанция)"]
        if accepted > 0 or time.monotonic() > deadline:
            break
        time.sleep(5)
    assert accepted > 0, counts
    assert "передача выключена" not in page.content()
    assert page.locator("td", has_text="квитанция").count() > 0
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"page is {width} px wide at 360 px"
    violations = serious_violations(page)
    assert not violations, describe(violations)
