"""Pages in a real headless Chromium: sign-in, keyboard use, small screens, accessibility
(axe-core), access scope and search without JavaScript."""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from .conftest import PROJECT_ROOT, ContextFactory, login, open_outbox

DEMO_EMAILS = [
    "citizen@demo.otklik.ru",
    "clinic@demo.otklik.ru",
    "region16@demo.otklik.ru",
    "minzdrav@demo.otklik.ru",
    "mintrud@demo.otklik.ru",
    "analyst@demo.otklik.ru",
    "secretary@demo.otklik.ru",
    "mintsifry@demo.otklik.ru",
    "mis@demo.otklik.ru",
    "admin@demo.otklik.ru",
]
ADMIN = "admin@demo.otklik.ru"
CITIZEN = "citizen@demo.otklik.ru"
CLINIC = "clinic@demo.otklik.ru"
REGION16 = "region16@demo.otklik.ru"
COORDINATOR = "mintrud@demo.otklik.ru"
LOGIN_ERROR = "Неверный адрес электронной почты или пароль"
SMALL = {"width": 360, "height": 740}
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"

PageAs = Callable[..., Page]


def path_of(page: Page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url).split("?")[0]


def found_total(page: Page) -> int:
    """The number from the pager's "Найдено: N." line."""
    text = page.locator("nav.pager p").inner_text()
    match = re.search(r"Найдено: (\d+)", text)
    assert match, f"no 'Найдено: N' in pager text {text!r}"
    return int(match.group(1))


# 1. Every demo account signs in through the form -------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("email", DEMO_EMAILS)
def test_demo_login_lands_in_cabinet(new_context: ContextFactory, email: str) -> None:
    page = new_context().new_page()
    login(page, email)

    assert path_of(page) == "/cabinet", f"{email}: expected /cabinet, got {page.url}"
    expect(page.locator("h1")).to_have_text("Личный кабинет")
    expect(page.locator("header .who")).to_contain_text(email)

    # …and signs out with the header button.
    page.get_by_role("button", name="Выйти").click()
    page.wait_for_load_state()
    assert path_of(page) == "/login"
    page.goto("/cabinet")
    assert path_of(page) == "/login", "after logout /cabinet must ask to sign in again"


# 2. Wrong credentials ----------------------------------------------------------------------


@pytest.mark.e2e
def test_wrong_password_and_unknown_email_give_the_same_error(
    new_context: ContextFactory,
) -> None:
    page = new_context().new_page()
    summaries = []
    for email, password in (
        (CITIZEN, "not-the-password"),
        ("nobody-here@demo.otklik.ru", "otklik-demo-2026"),
    ):
        page.goto("/login")
        page.fill("#email", email)
        page.fill("#password", password)
        with page.expect_response(
            lambda r: r.request.method == "POST" and r.url.endswith("/login")
        ) as answer:
            page.get_by_role("button", name="Войти", exact=True).click()
        page.wait_for_load_state()

        assert answer.value.status == 400, f"{email}: status {answer.value.status}"
        assert path_of(page) == "/login", f"{email}: left the login page for {page.url}"
        expect(page.locator("h1")).to_have_text("Вход в личный кабинет")
        summary = page.locator("#error-summary")
        expect(summary).to_be_visible()
        expect(summary).to_contain_text(LOGIN_ERROR)
        expect(page.locator("#password")).to_have_value("")
        summaries.append(summary.inner_text())

    assert summaries[0] == summaries[1], (
        f"wrong password and unknown e-mail must not be distinguishable: {summaries!r}"
    )


# 3. Keyboard only --------------------------------------------------------------------------


def active_element(page: Page) -> dict[str, str]:
    result: dict[str, str] = page.evaluate(
        """() => {
            const el = document.activeElement;
            return {tag: el ? el.tagName.toLowerCase() : '', id: (el && el.id) || '',
                    text: el ? (el.innerText || '').trim() : ''};
        }"""
    )
    return result


@pytest.mark.e2e
def test_keyboard_only_login_and_skip_link(new_context: ContextFactory) -> None:
    context = new_context(viewport=SMALL)
    page = context.new_page()
    page.goto("/login")

    visited = []
    for _ in range(15):
        page.keyboard.press("Tab")
        focused = active_element(page)
        visited.append(focused)
        if focused["id"] == "email":
            break
    else:
        pytest.fail(f"Tab never reached #email; focus went through {visited}")
    page.keyboard.type(ADMIN)
    page.keyboard.press("Tab")
    assert active_element(page)["id"] == "password", "Tab from e-mail must go to the password"
    page.keyboard.type("otklik-demo-2026")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert path_of(page) == "/cabinet"
    expect(page.locator("h1")).to_have_text("Личный кабинет")

    # The skip link is the first thing Tab reaches on a fresh page, and it works.
    for url in ("/login", "/cabinet"):
        fresh = context.new_page()
        fresh.goto(url)
        fresh.keyboard.press("Tab")
        first = active_element(fresh)
        assert first["tag"] == "a", f"{url}: first focusable is {first}"
        assert first["text"] == "Перейти к содержанию", f"{url}: first focusable is {first}"
        expect(fresh.locator("a.skip")).to_be_in_viewport()
        fresh.keyboard.press("Enter")
        assert active_element(fresh)["id"] == "main", f"{url}: skip link did not focus <main>"
        fresh.close()


# 4. No horizontal scrolling at 360 px ------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize(
    "url",
    [
        "/registry/organizations",
        "/cabinet",
        "/registry/services",
        "/admin/audit",
        "/admin/jobs",
        "/intake/quality",
    ],
)
def test_no_horizontal_document_scroll_at_360px(page_as: PageAs, url: str) -> None:
    page = page_as(ADMIN, viewport=SMALL)
    page.goto(url)
    # A table folded inside a closed <details> (the landing's months) has no width to test.
    table = page.locator("table >> visible=true").first
    expect(table).to_be_visible()
    widths = page.evaluate(
        """() => ({doc: document.documentElement.scrollWidth,
                   body: document.body.scrollWidth,
                   wide: [...document.querySelectorAll('body *')]
                     .filter(el => el.getBoundingClientRect().right > 360.5
                                   && !el.closest('table'))
                     .slice(0, 5)
                     .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
                                + ' right=' + Math.round(el.getBoundingClientRect().right))})"""
    )
    assert widths["doc"] <= 360, f"{url}: document scrolls sideways at 360 px: {widths}"
    # Wide tables scroll inside their own box instead of the page.
    overflow = table.evaluate("t => getComputedStyle(t).overflowX")
    assert overflow == "auto"


# 5. Accessibility audit with axe-core -------------------------------------------------------

ADMIN_PAGES = [
    "/cabinet",
    "/registry",
    "/registry/organizations",
    "/registry/organizations/{first}",
    "/registry/regions",
    "/registry/regions/77",
    "/registry/founders",
    "/registry/services",
    "/registry/services/health.checkup",
    "/registry/life-situations",
    "/registry/life-situations/birth_of_child",
    "/registry/types",
    "/admin/audit",
    "/admin/jobs",
    "/admin/users",
    "/admin/sources",
    "/intake/quality",
    "/outreach/funnel",
    "/outreach/templates",
    "/cabinet/tokens",
    "/registry/organizations/0000000000000",
]
AXE = Axe()


def serious_violations(page: Page) -> list[dict[str, Any]]:
    results = AXE.run(page)
    return [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            target = ", ".join(map(str, node["target"]))
            html = " ".join(node["html"].split())[:200]
            lines.append(f"    at {target}: {html}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"       {summary[:300]}")
        if len(v["nodes"]) > 5:
            lines.append(f"    … and {len(v['nodes']) - 5} more elements")
    return "\n".join(lines)


def assert_accessible(page: Page, label: str) -> None:
    found = serious_violations(page)
    assert not found, f"axe: serious/critical violations on {label}:\n{describe(found)}"


@pytest.mark.e2e
@pytest.mark.parametrize("url", ["/login", "/"])
def test_axe_public_pages(new_context: ContextFactory, url: str) -> None:
    page = new_context().new_page()
    response = page.goto(url)
    assert response is not None
    assert response.status == 200
    assert_accessible(page, url)


@pytest.mark.e2e
def test_axe_login_error_state(new_context: ContextFactory) -> None:
    page = new_context().new_page()
    login(page, "nobody-here@demo.otklik.ru", "wrong")
    expect(page.locator("#error-summary")).to_be_visible()
    assert_accessible(page, "/login with an error")


VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "360px": SMALL}


@pytest.mark.e2e
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_axe_admin_pages(page_as: PageAs, url: str, viewport: str) -> None:
    # At 360 px tables become scroll containers, which axe checks for keyboard access.
    page = page_as(ADMIN, viewport=VIEWPORTS[viewport])
    if "{first}" in url:
        page.goto("/registry/organizations")
        page.locator("#results table tbody a").first.click()
        page.wait_for_load_state()
        assert re.fullmatch(r"/registry/organizations/\d{13}", path_of(page)), page.url
        expect(page.locator("dl.props")).to_be_visible()
        label = f"organization detail {path_of(page)} ({viewport})"
    else:
        response = page.goto(url)
        assert response is not None
        expected = 404 if url.endswith("/0000000000000") else 200
        assert response.status == expected, f"{url}: HTTP {response.status}"
        assert path_of(page) == url, f"{url}: redirected to {page.url}"
        label = f"{url} ({viewport})"
    if url.endswith("/0000000000000"):
        expect(page.locator("h1")).to_have_text("Не найдено")
    assert_accessible(page, label)


@pytest.mark.e2e
def test_axe_citizen_cabinet(page_as: PageAs) -> None:
    page = page_as(CITIZEN)
    page.goto("/cabinet")
    expect(page.locator("h1")).to_have_text("Личный кабинет")
    expect(page.locator("#my-h")).to_have_text("Мои анкеты")
    assert_accessible(page, "/cabinet as citizen")


@pytest.mark.e2e
def test_axe_harness_detects_violations(new_context: ContextFactory) -> None:
    """Guards against a silently broken audit: known-bad markup must be reported."""
    page = new_context().new_page()
    page.set_content('<html lang="ru"><body><main><img src="x.png"><input></main></body></html>')
    found = {v["id"] for v in serious_violations(page)}
    assert {"image-alt", "label"} <= found, found


# 6. Access scope as seen in the browser ------------------------------------------------------


@pytest.mark.e2e
def test_organization_user_sees_only_own_organization(page_as: PageAs) -> None:
    page = page_as(CLINIC)
    page.goto("/registry/organizations")
    expect(page.locator("nav.pager")).to_contain_text("Найдено: 1.")
    assert found_total(page) == 1
    rows = page.locator("#results table tbody tr")
    expect(rows).to_have_count(1)
    # It is the organization named in the cabinet's heading ("<organization>: <period>").
    page.goto("/cabinet")
    own = page.locator("#land-h").inner_text().rsplit(": ", 1)[0]
    page.goto("/registry/organizations")
    expect(rows.first.locator("td").first).to_have_text(own)


@pytest.mark.e2e
def test_regional_user_sees_only_own_region(page_as: PageAs) -> None:
    page = page_as(REGION16)
    page.goto("/registry/organizations")
    total = found_total(page)
    assert 0 < total <= 50, f"expected one page of Tatarstan organizations, found {total}"
    region_cells = page.locator("#results table tbody tr td:nth-child(4)")
    expect(region_cells).to_have_count(total)
    regions = region_cells.all_inner_texts()
    assert set(regions) == {"Республика Татарстан"}, f"foreign regions listed: {set(regions)}"

    # For comparison: the administrator sees more regions than one.
    admin_page = page_as(ADMIN)
    admin_page.goto("/registry/organizations")
    assert found_total(admin_page) > total


@pytest.mark.e2e
def test_organization_user_gets_403_on_audit(page_as: PageAs) -> None:
    page = page_as(CLINIC)
    response = page.goto("/admin/audit")
    assert response is not None
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("Доступ запрещён")
    expect(page.locator("main")).not_to_contain_text("Записи журнала")
    assert_accessible(page, "403 page")


# 7. Search works without JavaScript ---------------------------------------------------------


@pytest.mark.e2e
def test_search_without_javascript(page_as: PageAs) -> None:
    page = page_as(ADMIN, java_script_enabled=False)
    page.goto("/registry/services")
    assert page.locator("script[src*=htmx]").count() == 1
    expect(page.locator("#results")).to_contain_text("Диспансеризация")

    page.locator("form[role=search] #q").fill("врач")
    with page.expect_navigation():
        page.locator("form[role=search]").get_by_role("button", name="Найти").click()
    assert "q=" in page.url, page.url
    results = page.locator("#results")
    expect(results).to_contain_text("Приём врача в поликлинике")
    expect(results).not_to_contain_text("Диспансеризация")
    expect(page.locator("#q")).to_have_value("врач")


# 8. Screenshots for the documentation ------------------------------------------------------


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.e2e
def test_screenshots(page_as: PageAs, new_context: ContextFactory) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    cabinet = page_as(COORDINATOR, viewport={"width": 1280, "height": 800})
    cabinet.goto("/cabinet")
    expect(cabinet.locator("h1")).to_have_text("Личный кабинет")
    cabinet_png = SCREENSHOTS / "cabinet.png"
    cabinet.screenshot(path=str(cabinet_png))
    assert png_size(cabinet_png) == (1280, 800)

    login_page = new_context(viewport=SMALL).new_page()
    login_page.goto("/login")
    expect(login_page.locator("h1")).to_have_text("Вход в личный кабинет")
    login_png = SCREENSHOTS / "login-360.png"
    login_page.screenshot(path=str(login_png))
    assert png_size(login_png) == (360, 740)


# 8. Intake: the operator uploads a file; the coordinator reads the quality figures -----------

OPERATOR = "mis@demo.otklik.ru"


@pytest.mark.e2e
def test_operator_uploads_a_file_and_gets_a_report(page_as: PageAs, tmp_path: Path) -> None:
    page = page_as(OPERATOR, viewport=SMALL)
    page.goto("/cabinet")
    page.get_by_role("link", name="Загрузка записей об услугах").click()
    expect(page.locator("h1")).to_have_text("Загрузка записей об услугах")
    expect(page.locator("main")).to_contain_text("demo-mis")
    assert_accessible(page, "/intake/upload (360px)")
    upload = tmp_path / "records.ndjson"
    upload.write_text(
        '{"record_id": "E2E-1", "organization_ogrn": "1027700132195"}\n{"record_id": \n',
        encoding="utf-8",
    )
    page.get_by_label("Файл CSV, XLSX или NDJSON").set_input_files(str(upload))
    page.get_by_role("button", name="Загрузить и проверить").click()
    page.wait_for_load_state()
    expect(page.get_by_role("status")).to_contain_text("Отклонено")
    expect(page.locator("table").first).to_contain_text("invalid_line")
    with page.expect_download() as download:
        page.get_by_role("link", name="Скачать все ошибки (XLSX)").click()
    saved = tmp_path / "errors.xlsx"
    download.value.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK"
    assert_accessible(page, "/intake/upload with a report (360px)")


@pytest.mark.e2e
def test_coordinator_sees_timeliness_of_the_demo_source(page_as: PageAs) -> None:
    page = page_as(COORDINATOR)
    page.goto("/intake/quality?days=7")
    expect(page.locator("h1")).to_have_text("Своевременность и качество данных")
    row = page.locator("#src-h + table tbody tr").first
    expect(row).to_contain_text("demo-mis")
    share = re.search(r"(\d+,\d)\s%", row.inner_text())  # the formatter: comma, no-break space
    assert share, row.inner_text()
    assert 50 < float(share.group(1).replace(",", ".")) <= 100
    expect(page.locator("#rej-h + table")).to_contain_text("invalid_snils")
    page.locator("#results th a", has_text="Записей").click()
    page.wait_for_load_state()
    assert "sort=records" in page.url
    page.screenshot(path=str(SCREENSHOTS / "intake-quality.png"), full_page=True)


# 9. Outreach: invitations flow in the demo; a visitor opens one; the citizen sees theirs ------


def wait_for_outbox(page: Page) -> None:
    for _ in range(30):
        open_outbox(page)
        if page.get_by_role("link", name=re.compile("Открыть анкету")).count():
            return
        page.wait_for_timeout(1000)
    raise AssertionError("no invitations in the demo outbox after 30 s")


@pytest.mark.e2e
def test_visitor_opens_an_invitation_from_the_demo_outbox(new_context: ContextFactory) -> None:
    page = new_context(viewport=SMALL).new_page()
    wait_for_outbox(page)
    assert_accessible(page, "/demo/outbox (360px)")
    page.get_by_role("link", name=re.compile("Открыть анкету")).first.click()
    page.wait_for_load_state()
    assert path_of(page).startswith("/s/")
    expect(page.locator("h1")).to_have_text("Оценка качества услуги")
    assert_accessible(page, "questionnaire link (360px)")
    response = page.goto("/s/" + "x" * 32)
    assert response is not None
    assert response.status == 404
    assert_accessible(page, "unknown link")


@pytest.mark.e2e
def test_citizen_sees_own_questionnaires(page_as: PageAs) -> None:
    page = page_as(CITIZEN)
    for _ in range(30):
        page.goto("/cabinet")
        if page.get_by_role("link", name=re.compile("Заполнить анкету")).count():
            break
        page.wait_for_timeout(1000)
    link = page.get_by_role("link", name=re.compile("Заполнить анкету")).first
    expect(link).to_be_visible()
    assert_accessible(page, "/cabinet as citizen with questionnaires")
    link.click()
    page.wait_for_load_state()
    expect(page.locator("h1")).to_have_text("Оценка качества услуги")


@pytest.mark.e2e
def test_funnel_shows_every_stage(page_as: PageAs) -> None:
    page = page_as(COORDINATOR)
    page.goto("/outreach/funnel?group=type")
    chart = page.locator("figure.chart table")
    for stage in ("Услуги оказаны", "Приглашение отправлено", "Ссылка открыта", "Анкета заполнена"):
        expect(chart).to_contain_text(stage)
    expect(page.locator("main")).to_contain_text("нет подтверждённой учётной записи")
    page.screenshot(path=str(SCREENSHOTS / "outreach-funnel.png"), full_page=True)
