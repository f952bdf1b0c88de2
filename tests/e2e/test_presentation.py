"""Every page type, as every demo account sees it at 360 px: no raw code, no decimal point where
a comma is due, no "%" a line break can part from its number (tests/textscan.py states the
rules), no sideways scrolling (issue 16).

One crawl per account starts at its cabinet (the public start pages for a visitor) and follows
the links it is shown, one page per route (the route table of ``otklik.app`` names the type).
A final test checks that the crawl, together, reached every HTML page route: a new page type
is scanned without anyone adding it here.
"""

from __future__ import annotations

import re
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from otklik.app import ROUTERS
from otklik.config import DEV_SECRET
from otklik.outreach.links import optout_token
from tests.textscan import decimal_points, loose_percents, raw_codes

from .conftest import ContextFactory
from .test_pages import DEMO_EMAILS, SMALL

WIDTH = 360
ACCOUNTS: list[str | None] = [
    None,
    *DEMO_EMAILS,
    "participant16@demo.otklik.ru",
    "subcommission@demo.otklik.ru",
    "lab@demo.otklik.ru",
]
PUBLIC_STARTS = [
    "/",
    "/login",
    "/opendata",
    "/r",
    "/search?q=%D0%B1%D0%BE%D0%BB%D1%8C%D0%BD%D0%B8%D1%86%D0%B0",
]
# Pages no link in the demo leads to (a link shown only in some states, an e-mail's link).
EXTRA: dict[str | None, list[str]] = {
    None: [f"/unsubscribe/{optout_token(DEV_SECRET, uuid.uuid4())}"],
    "admin@demo.otklik.ru": ["/demo/outbox"],
    "clinic@demo.otklik.ru": ["/yswd"],
    "analyst@demo.otklik.ru": ["/improvement/passports/diff?a=1&b=2"],
    "participant16@demo.otklik.ru": ["/roadmaps/1/edit", "/roadmaps/2/edit", "/roadmaps/3/edit"],
}
# GET routes that are not pages a person reads: files, machine answers and redirects.
NOT_PAGES = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/sitemap.xml",
    "/robots.txt",
    "/intake/upload/reports/{report_id}.xlsx",
    "/improvement/changes/{cr_id}/attachments/{att_id}",
    "/improvement/meetings/{meeting_id}/{kind}.docx",
    "/improvement/passports/{pid}/export.{fmt}",
    "/reports/{report_id}/download",
}
REDIRECTS = {"/cabinet/indicators"}
# a page drawn by the same template as another, reached only in a state the demo may not hold
TWINS = {
    "/roadmaps/{roadmap_id}/edit": "/roadmaps/new"
}  # the edit form of a draft roadmap  # followed to the role's first page, not a page itself
SKIP_HREF = re.compile(
    r"^(?:mailto:|tel:|#)|[?&](?:export|fmt)=|\.(?:xlsx|csv|docx|xml|txt|json|pdf)(?:$|\?)"
    r"|/download$|/attachments/|^/api/|^/logout|^/static/"
)
PER_ACCOUNT = 120  # pages at most, a guard against a crawl that never ends

TEXT_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest('script, style, noscript, template, code, kbd, samp')) continue;
    out.push(n.nodeValue);
  }
  for (const el of document.body.querySelectorAll('[aria-label], [title], [alt]')) {
    for (const a of ['aria-label', 'title', 'alt']) {
      if (el.getAttribute(a)) out.push(el.getAttribute(a));
    }
  }
  return out.join('\\n');
}"""


# links, and the address each GET form would go to with its fields as shown
LINKS_JS = """() => [
  ...[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
  ...[...document.querySelectorAll('form')]
    .filter(f => (f.getAttribute('method') || 'get').toLowerCase() === 'get')
    .map(f => (f.getAttribute('action') || location.pathname) + '?'
      + new URLSearchParams(new FormData(f)).toString()),
]"""


@dataclass
class Crawl:
    visited: dict[str, str] = field(default_factory=dict)  # route → first URL
    codes: list[str] = field(default_factory=list)
    decimals: list[str] = field(default_factory=list)
    percents: list[str] = field(default_factory=list)  # "%" a line break can part from its number
    overflow: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # links that did not answer 200


def page_routes() -> list[tuple[str, re.Pattern[str]]]:
    found = []
    for router in ROUTERS:
        for route in router.routes:
            methods = getattr(route, "methods", None) or ()
            if "GET" in methods and not route.path.startswith("/api/"):  # type: ignore[attr-defined]
                found.append((route.path, route.path_regex))  # type: ignore[attr-defined]
    return found


ROUTES = page_routes()


def route_of(path: str) -> str | None:
    for template, regex in ROUTES:
        if regex.match(path):
            return template
    return None


def page_width(page: Page) -> int:
    width: int = page.evaluate("() => document.documentElement.scrollWidth")
    return width


def scan(page: Page, url: str, who: str, crawl: Crawl) -> None:
    text = page.evaluate(TEXT_JS)
    where = f"{who} {url}"
    crawl.codes += [f"{where}: {c!r}" for c in sorted(set(raw_codes(text)))]
    crawl.decimals += [f"{where}: {d!r}" for d in decimal_points(text)]
    crawl.percents += [f"{where}: {d!r}" for d in loose_percents(text)]
    width = page_width(page)
    if width > WIDTH:
        wide = page.evaluate(
            """(w) => [...document.querySelectorAll('body *')]
                 .filter(e => e.getBoundingClientRect().right > w + 1)
                 .slice(-3)
                 .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))""",
            WIDTH,
        )
        crawl.overflow.append(f"{where}: {width} px ({', '.join(wide)})")


def crawl_account(page: Page, base: str, who: str, starts: list[str], crawl: Crawl) -> None:
    seen: set[str] = set()
    queue = deque(starts)
    loads = 0
    while queue and loads < PER_ACCOUNT:
        url = queue.popleft()
        path = urlsplit(url).path
        route = route_of(path)
        if route is None or (route in NOT_PAGES and route not in REDIRECTS) or route in seen:
            continue
        seen.add(route)
        loads += 1
        try:
            response = page.goto(url)
        except PlaywrightTimeout:  # a loaded machine: one more try before counting it
            response = page.goto(url)
        if response is None or response.status != 200:
            crawl.refused.append(f"{who} {url}: {response.status if response else '-'}")
            seen.discard(route)  # another link of the same type may work
            continue
        if "text/html" not in (response.headers.get("content-type") or ""):
            continue
        landed = route_of(urlsplit(page.url).path)
        if landed is None or (landed != route and landed in seen):
            continue
        seen.add(landed)
        crawl.visited.setdefault(landed, page.url)
        scan(page, page.url.removeprefix(base), who, crawl)
        for href in page.evaluate(LINKS_JS):
            if SKIP_HREF.search(href):
                continue
            target = urlsplit(urljoin(page.url, href))
            # a questionnaire's link carries the configured public address, not the test server's
            if (
                f"{target.scheme}://{target.netloc}" != base
                and route_of(target.path) != "/s/{token}"
            ):
                continue
            link = target.path + (f"?{target.query}" if target.query else "")
            if route_of(target.path) not in seen:
                queue.append(link)


@pytest.fixture(scope="session")
def crawl(
    browser: Browser, demo_server: str, auth_states: Callable[[str], dict[str, Any]]
) -> Crawl:
    result = Crawl()
    for email in ACCOUNTS:
        options: dict[str, Any] = {
            "base_url": demo_server,
            "locale": "ru-RU",
            "viewport": {"width": WIDTH, "height": 740},
        }
        if email is not None:
            options["storage_state"] = auth_states(email)
        context = browser.new_context(**options)
        context.set_default_timeout(60_000)
        try:
            starts = PUBLIC_STARTS if email is None else ["/cabinet"]
            starts = starts + EXTRA.get(email, [])
            crawl_account(context.new_page(), demo_server, email or "visitor", starts, result)
        finally:
            context.close()
    return result


@pytest.mark.e2e
def test_every_page_type_was_scanned(crawl: Crawl) -> None:
    pages = {template for template, _ in ROUTES} - NOT_PAGES - REDIRECTS
    visited = set(crawl.visited) | {twin for twin, of in TWINS.items() if of in crawl.visited}
    missing = sorted(pages - visited)
    assert not missing, (
        "no account reached these pages:\n"
        + "\n".join(missing)
        + "\nlinks that did not answer 200:\n"
        + "\n".join(crawl.refused)
    )


@pytest.mark.e2e
def test_no_raw_codes_on_any_page(crawl: Crawl) -> None:
    assert not crawl.codes, "raw codes shown to people:\n" + "\n".join(crawl.codes)


@pytest.mark.e2e
def test_no_decimal_points_on_any_page(crawl: Crawl) -> None:
    assert not crawl.decimals, "decimal points, not commas:\n" + "\n".join(crawl.decimals)


@pytest.mark.e2e
def test_percent_signs_stay_with_their_numbers(crawl: Crawl) -> None:
    assert not crawl.percents, "a plain space before %:\n" + "\n".join(crawl.percents)


@pytest.mark.e2e
def test_every_page_fits_360px(crawl: Crawl) -> None:
    assert not crawl.overflow, "pages wider than 360 px:\n" + "\n".join(crawl.overflow)


@pytest.mark.e2e
@pytest.mark.parametrize("email", ["admin@demo.otklik.ru", "analyst@demo.otklik.ru"])
def test_header_menu_collapses_at_360px_and_is_one_row_at_1280px(
    new_context: ContextFactory, auth_states: Callable[[str], dict[str, Any]], email: str
) -> None:
    # no JavaScript: the menu is a <details>, opened from the keyboard
    small = new_context(
        storage_state=auth_states(email), viewport=SMALL, java_script_enabled=False
    ).new_page()
    small.goto("/cabinet")
    header = small.locator("header")
    assert header.bounding_box()["height"] < 100  # type: ignore[index]
    cabinet = small.get_by_role("link", name="Кабинет", exact=True)
    expect(cabinet).to_be_hidden()
    small.locator("header summary", has_text="Меню").focus()
    small.keyboard.press("Enter")
    expect(cabinet).to_be_visible()
    # every section is listed at once inside the open menu, the sign-out button too
    expect(small.get_by_role("link", name="Токены API")).to_be_visible()
    expect(small.get_by_role("button", name="Выйти")).to_be_visible()
    assert small.evaluate("document.documentElement.scrollWidth") <= WIDTH

    wide = new_context(storage_state=auth_states(email), viewport={"width": 1280, "height": 800})
    page = wide.new_page()
    page.goto("/cabinet")
    links = page.locator("header nav > ul > li")
    tops = {
        round(box["y"])
        for box in (links.nth(i).bounding_box() for i in range(links.count()))
        if box
    }
    assert len(tops) == 1, f"the header's sections sit on {len(tops)} rows at 1280 px"
    assert page.locator("header").bounding_box()["height"] < 70  # type: ignore[index]
    expect(page.get_by_role("link", name="Токены API")).to_be_hidden()  # under "Ещё"
    page.locator("header summary", has_text="Ещё").click()
    expect(page.get_by_role("link", name="Токены API")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


@pytest.mark.e2e
def test_the_scans_fail_on_a_bad_page(browser: Browser) -> None:
    """The same extraction and checks, on a page made to break every rule."""
    context = browser.new_context(viewport={"width": WIDTH, "height": 740})
    try:
        page = context.new_page()
        page.set_content(
            "<main><p>Причина: no_confirmed_account</p><p>Доля 82.1 %</p>"
            "<p>Столбец <code>service_code</code></p>"
            '<svg aria-label="оценка 4.5"></svg>'
            '<table><tr><td><div style="width:500px">широкая</div></td></tr></table></main>'
        )
        text = page.evaluate(TEXT_JS)
        assert raw_codes(text) == ["no_confirmed_account"]  # <code> is meant to be read
        assert len(decimal_points(text)) == 2  # running text and the chart's label
        assert page_width(page) > WIDTH
        page.set_content("<main><p>Доля 82,1 %</p></main>")
        assert page_width(page) <= WIDTH
    finally:
        context.close()
