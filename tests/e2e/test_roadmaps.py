"""Roadmap pages in a real Chromium: the participant's path at 360 px, by keyboard, axe-clean."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from .test_pages import SMALL, assert_accessible

PageAs = Callable[..., Page]
PARTICIPANT = "participant16@demo.otklik.ru"
ANALYST = "analyst@demo.otklik.ru"


def _no_sideways_scroll(page: Page, label: str) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"{label}: document scrolls sideways at 360 px ({width})"


@pytest.mark.e2e
def test_participant_sees_risk_gantt_and_reports_by_keyboard(page_as: PageAs) -> None:
    page = page_as(PARTICIPANT, viewport=SMALL)
    page.goto("/cabinet")
    page.locator("header summary", has_text="Меню").click()  # at 360 px the sections are a menu
    page.get_by_role("link", name="Дорожные карты").click()
    expect(page.locator("h1")).to_have_text("Дорожные карты")
    expect(page.locator("#due-h")).to_be_visible()
    expect(page.locator("table").first).to_contain_text("просрочен")
    _no_sideways_scroll(page, "/roadmaps")
    assert_accessible(page, "/roadmaps (360px)")

    # search by keyboard: the form works without a mouse
    page.locator("#q").focus()
    page.keyboard.type("Рождение")
    page.keyboard.press("Enter")
    page.wait_for_url("**/roadmaps?*q=*")
    results = page.locator("#results tbody tr")
    expect(results).to_have_count(1)
    results.get_by_role("link").focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Рождение ребёнка")
    expect(page.locator("svg.chart-svg")).to_be_visible()
    expect(page.locator("#risk-h + p")).to_contain_text("высокий")
    expect(page.locator("#measures")).to_contain_text("сдвинулись в среднем")
    expect(page.locator("#measures")).to_contain_text("отчёт просрочен")
    _no_sideways_scroll(page, page.url)
    assert_accessible(page, f"{page.url} (360px)")

    # the overdue report, filed by keyboard
    page.get_by_role("link", name="Отчитаться по мероприятию «Доработка региональной").focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Отчёт о ходе")
    _no_sideways_scroll(page, page.url)
    assert_accessible(page, f"{page.url} (360px)")
    page.locator("#percent").fill("")
    page.get_by_role("button", name="Отправить отчёт").click()
    expect(page.locator(".error-summary")).to_contain_text("от 0 до 100")
    assert_accessible(page, "report form with an error (360px)")
    page.locator("#percent").fill("40")
    page.locator("#text").fill("Подрядчик приступил к работам")
    page.locator("#text").press("Tab")
    page.keyboard.press("Tab")
    page.get_by_role("button", name="Отправить отчёт").press("Enter")
    expect(page.locator("h1")).to_contain_text("Рождение ребёнка")
    expect(page.locator("#measures")).to_contain_text("40 %")
    expect(page.locator("#timeline-h + ol")).to_contain_text("Подрядчик приступил к работам")


@pytest.mark.e2e
def test_analyst_list_sorts_and_exports(page_as: PageAs) -> None:
    page = page_as(ANALYST)
    page.goto("/roadmaps?risk=high")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    page.goto("/roadmaps")
    page.get_by_role("link", name="Дорожная карта", exact=True).click()
    expect(page.locator("th[aria-sort]")).to_have_count(1)
    assert_accessible(page, "/roadmaps sorted")
    with page.expect_download() as info:
        page.get_by_role("link", name="XLSX").click()
    assert info.value.suggested_filename.endswith(".xlsx")


@pytest.mark.e2e
def test_participant_creates_and_edits_a_roadmap_by_keyboard(page_as: PageAs) -> None:
    page = page_as(PARTICIPANT, viewport=SMALL)
    page.goto("/roadmaps")
    page.get_by_role("link", name="Новая дорожная карта").focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Новая дорожная карта")
    _no_sideways_scroll(page, "/roadmaps/new")
    assert_accessible(page, "/roadmaps/new (360px)")

    page.locator("#title").focus()
    page.keyboard.type("Справка без визита в поликлинику")
    page.locator("#subject").select_option("service:health.outpatient_visit")
    for n, (title, start, due, deps) in enumerate(
        [
            ("Электронная подпись врача", "2027-01-10", "2027-02-10", "2"),
            ("Выдача справки через портал", "2027-02-11", "2027-03-31", "1"),
        ],
        start=1,
    ):
        page.locator(f"#m_title-{n}").focus()
        page.keyboard.type(title)
        page.keyboard.press("Tab")  # to the owner's e-mail
        page.keyboard.type(PARTICIPANT)
        page.locator(f"#m_start-{n}").fill(start)
        page.locator(f"#m_due-{n}").fill(due)
        page.locator(f"#m_deps-{n}").focus()
        page.keyboard.type(deps)
    # 1 depends on 2 and 2 on 1: refused, said precisely, the form kept
    page.get_by_role("button", name="Создать черновик").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".error-summary")).to_contain_text(
        "Зависимости мероприятий образуют цикл: «1» → «2» → «1»."
    )
    expect(page.locator("#m_title-2")).to_have_value("Выдача справки через портал")
    _no_sideways_scroll(page, "/roadmaps/new with an error")
    assert_accessible(page, "/roadmaps/new with an error (360px)")

    page.locator("#m_deps-1").fill("")
    page.locator("#m_weight-2").fill("3")
    page.get_by_role("button", name="Создать черновик").focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Справка без визита в поликлинику")
    expect(page.locator("#measures")).to_contain_text("Выдача справки через портал")

    page.get_by_role("link", name="Изменить план").focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Изменение плана дорожной карты")
    expect(page.locator("#m_deps-2")).to_have_value("1")
    expect(page.locator("#m_weight-2")).to_have_value("3")
    _no_sideways_scroll(page, page.url)
    assert_accessible(page, f"{page.url} (360px)")
    page.locator("#m_due-2").fill("2027-04-15")
    page.get_by_role("button", name="Сохранить план").focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Справка без визита в поликлинику")
    expect(page.locator("#measures")).to_contain_text("15 апреля 2027")  # fmt.day
    expect(page.locator("#timeline-h + ol")).to_contain_text("План изменён")
