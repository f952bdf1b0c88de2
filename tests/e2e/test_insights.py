"""Insights pages in a real Chromium: 360 px without sideways scrolling, axe audit."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from .test_pages import ADMIN, CLINIC, REGION16, SMALL, assert_accessible

PageAs = Callable[..., Page]


def _no_sideways_scroll(page: Page, label: str) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"{label}: document scrolls sideways at 360 px ({width})"


@pytest.mark.e2e
def test_insights_pages_at_360px_pass_axe(page_as: PageAs) -> None:
    page = page_as(CLINIC, viewport=SMALL)
    page.goto("/cabinet")
    page.get_by_role("link", name="Что пишут граждане: проблемы и срочные сигналы").click()
    expect(page.locator("h1")).to_have_text("Что пишут граждане")
    expect(page.locator("#urgent-h")).to_be_visible()
    _no_sideways_scroll(page, "/insights")
    assert_accessible(page, "/insights (360px)")
    page.get_by_role("link", name="Проблемы и комментарии вашей организации").click()
    expect(page.locator("h1")).to_contain_text("что пишут граждане")
    expect(page.locator("#problems-h")).to_be_visible()
    _no_sideways_scroll(page, page.url)
    assert_accessible(page, f"{page.url} (360px)")


@pytest.mark.e2e
def test_insights_overview_for_an_authority(page_as: PageAs) -> None:
    page = page_as(REGION16, viewport=SMALL)
    response = page.goto("/insights")
    assert response is not None
    assert response.status == 200
    assert_accessible(page, "/insights as a regional authority (360px)")


@pytest.mark.e2e
def test_triage_queue_shows_reviewed_states(page_as: PageAs) -> None:
    """The demo's worker queues the urgent flags and reviews three (two confirmed, one not
    urgent); the queue shows them, with the reasons highlighted, at 360 px, passing axe."""
    page = page_as(ADMIN, viewport=SMALL)
    page.goto("/insights")
    page.get_by_role("link", name="Очередь срочных отзывов: проверка и сроки").click()
    expect(page.locator("h1")).to_have_text("Очередь срочных отзывов")
    deadline = time.monotonic() + 420  # the worker analyses, queues, then reviews
    page.goto("/insights/triage?state=not_urgent")
    while not page.locator("article").count() and time.monotonic() < deadline:
        page.wait_for_timeout(5000)
        page.reload()
    page.goto("/insights/triage?state=confirmed")
    expect(page.locator("article").first).to_contain_text("подтверждён")
    page.goto("/insights/triage?state=not_urgent")
    expect(page.locator("article").first).to_contain_text("не срочно")
    page.goto("/insights/triage?state=new")
    expect(page.locator("article mark").first).to_be_visible()  # a reason, highlighted
    _no_sideways_scroll(page, "/insights/triage")
    assert_accessible(page, "/insights/triage (360px)")
