"""The e-mail's opt-out page in a real Chromium: 360 px, keyboard only, axe (issue 21)."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from otklik.config import DEV_SECRET
from otklik.outreach.links import optout_token

from .conftest import ContextFactory
from .test_pages import SMALL, assert_accessible


@pytest.mark.e2e
def test_opt_out_page_keyboard_and_axe_at_360px(new_context: ContextFactory) -> None:
    # the demo runs with the development secret: a genuine token for an invitation that does
    # not exist shows the page (the MAC is checked first), and its button answers 404
    token = optout_token(DEV_SECRET, uuid.uuid4())
    page = new_context(viewport=SMALL).new_page()
    response = page.goto(f"/unsubscribe/{token}")
    assert response is not None
    assert response.status == 200
    expect(page.locator("h1")).to_have_text("Отказаться от приглашений к опросам?")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page, "/unsubscribe/<token>")
    button = page.get_by_role("button", name="Отказаться от приглашений")
    for _ in range(10):  # keyboard only: Tab reaches the button
        page.keyboard.press("Tab")
        if button.evaluate("b => b === document.activeElement"):
            break
    else:
        raise AssertionError("the button is not reachable with Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Не найдено")  # no such invitation
    assert_accessible(page, "/unsubscribe/<token> (404)")
    forged = page.goto(f"/unsubscribe/{'x' * 43}")
    assert forged is not None
    assert forged.status == 404
