"""The respondent form in a real Chromium: 360 px, keyboard only, axe, JavaScript off."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .conftest import ContextFactory, open_outbox
from .test_pages import COORDINATOR, SCREENSHOTS, SMALL, PageAs, assert_accessible, path_of

FORM_H1 = "Оценка качества услуги"
THANKS_H1 = "Спасибо! Ваш ответ принят"
_taken: set[str] = set()


def unanswered_link(page: Page) -> str:
    """A link from the demo outbox that still shows the form (and is not used by another test).

    Opening a link keeps the demo's simulated citizens away from it.
    """
    for _ in range(40):
        open_outbox(page)
        hrefs = page.locator("a", has_text="Открыть анкету").evaluate_all(
            "els => els.map(e => e.getAttribute('href'))"
        )
        for href in hrefs:
            path = re.sub(r"^https?://[^/]+", "", href)
            if path in _taken:
                continue
            _taken.add(path)
            response = page.request.get(path)
            if response.status == 200 and 'name="overall"' in response.text():
                page.context.clear_cookies()  # the respondent is not the administrator
                return path
        page.wait_for_timeout(1000)
    raise AssertionError("no unanswered invitation in the demo outbox")


def choose_all(page: Page, value: str = "4") -> None:
    """Answer every question shown: ratings ``value``, yes/no "Нет", first option of a choice."""
    groups: list[dict[str, Any]] = page.locator("fieldset.q").evaluate_all(
        """fs => fs.filter(f => f.offsetParent !== null).map(f => ({
             name: f.querySelector('input').name,
             values: [...f.querySelectorAll('input')].map(i => i.value)}))"""
    )
    for g in groups:
        pick = value if value in g["values"] else ("no" if "no" in g["values"] else g["values"][0])
        option = page.locator(f"label.opt:has(input[name='{g['name']}'][value='{pick}'])")
        if option.is_visible():  # a dependent question hides again after "Нет"
            option.click()


def active(page: Page) -> dict[str, str]:
    result: dict[str, str] = page.evaluate(
        """() => { const e = document.activeElement;
             return {tag: e.tagName.toLowerCase(), id: e.id || '', name: e.name || '',
                     type: e.type || '', value: e.value || ''}; }"""
    )
    return result


@pytest.mark.e2e
def test_fill_and_submit_at_360px(new_context: ContextFactory) -> None:
    page = new_context(viewport=SMALL).new_page()
    link = unanswered_link(page)
    page.goto(link)
    expect(page.locator("h1")).to_have_text(FORM_H1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 5000, f"the form is {height} px tall at 360 px"
    box = page.locator("label.opt").first.bounding_box()
    assert box is not None
    assert box["height"] >= 44
    assert box["width"] >= 44
    assert_accessible(page, "survey form (360px)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "survey-form.png"), full_page=True)
    # the dependent question appears only after "yes"
    accessibility = page.locator("#q-accessibility")
    expect(accessibility).to_be_hidden()
    page.locator("label.opt:has(#disability-yes)").click()
    expect(accessibility).to_be_visible()
    choose_all(page, "5")
    page.fill("#comment", "Спасибо врачу <b>Ивановой</b>!")
    page.get_by_role("button", name="Отправить ответ").click()
    expect(page.locator("h1")).to_have_text(THANKS_H1)
    expect(page.get_by_role("link", name=re.compile("Вы сказали — мы сделали"))).to_be_visible()
    assert_accessible(page, "thank-you page (360px)")
    page.get_by_role("link", name=re.compile("Вы сказали — мы сделали")).click()
    assert path_of(page).endswith("/you-said-we-did")
    again = page.goto(link)
    assert again is not None
    assert again.status == 200
    expect(page.locator("h1")).to_have_text(THANKS_H1)


@pytest.mark.e2e
def test_error_summary_gets_focus_and_links_to_fields(new_context: ContextFactory) -> None:
    page = new_context(viewport=SMALL).new_page()
    page.goto(unanswered_link(page))
    page.locator("label.opt:has(#overall-2)").click()
    page.get_by_role("button", name="Отправить ответ").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    assert page.title().startswith("Ошибка")
    expect(page.locator("#overall-2")).to_be_checked()  # kept
    assert_accessible(page, "survey form with errors (360px)")
    summary.get_by_role("link").first.click()
    assert active(page)["name"] == "organization"


@pytest.mark.e2e
def test_keyboard_only_completion(new_context: ContextFactory) -> None:
    page = new_context(viewport=SMALL).new_page()
    page.goto(unanswered_link(page))
    page.keyboard.press("Tab")
    assert active(page)["tag"] == "a"  # the skip link comes first
    answered: set[str] = set()
    for _ in range(80):
        page.keyboard.press("Tab")
        now = active(page)
        if now["type"] == "radio" and now["name"] not in answered:
            page.keyboard.press("ArrowRight")  # selects the next value in the group
            answered.add(now["name"])
        elif now["tag"] == "textarea":
            page.keyboard.type("Удобная запись")
        elif now["tag"] == "button" and now["value"] == "submit":
            break
    else:
        pytest.fail("Tab never reached the submit button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text(THANKS_H1)
    assert {"overall", "organization", "comfort", "staff", "recommend"} <= answered


@pytest.mark.e2e
def test_draft_and_submission_without_javascript(new_context: ContextFactory) -> None:
    link = unanswered_link(new_context().new_page())
    page = new_context(viewport=SMALL, java_script_enabled=False).new_page()
    page.goto(link)
    page.locator("label.opt:has(#overall-3)").click()
    page.get_by_role("button", name="Сохранить черновик").click()
    expect(page.locator("p.notice")).to_contain_text("Черновик сохранён")
    page.goto(link + "?text=large")
    expect(page.locator("body")).to_have_class(re.compile("large"))
    expect(page.locator("#overall-3")).to_be_checked()
    for code in ("organization", "comfort", "staff"):
        page.locator(f"label.opt:has(#{code}-4)").click()
    page.locator("label.opt:has(#recommend-yes)").click()
    page.get_by_role("button", name="Отправить ответ").click()
    expect(page.locator("h1")).to_have_text(THANKS_H1)


@pytest.mark.e2e
def test_coordinator_previews_the_default_version(page_as: PageAs) -> None:
    page = page_as(COORDINATOR)
    page.goto("/surveys/versions")
    expect(page.locator("h1")).to_have_text("Версии анкеты")
    assert_accessible(page, "/surveys/versions")
    page.get_by_role("link", name="2025.1").click()
    page.get_by_role("link", name="Образование").click()
    expect(page.locator("h2")).to_contain_text("Образование")
    expect(page.get_by_text("Как вы оцениваете общение с педагогами")).to_be_visible()
    assert_accessible(page, "questionnaire preview")
