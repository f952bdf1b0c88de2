"""The blank form page and the thank-you page from fragments: the same bytes as their Jinja
templates, and the respondent's requests keep every layer the rest of the site has."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.kit.web import templates
from otklik.registry.models import Sector
from otklik.surveys import fragments, service
from otklik.surveys.definitions import RATING_LABELS, default_definition
from tests.surveys.helpers import form as form_data
from tests.surveys.helpers import invite

PLACES = [
    ("г. Москва, ул. Ленина, д. 1", "г. Москва"),  # the address names the region
    ("ул. <Ленина> & «1»", 'Тверская "область"'),  # it does not; markup to escape
    (None, "Регион"),
    ("", "Регион"),
]


def _ctx(address: str | None, region: str) -> SimpleNamespace:
    return SimpleNamespace(
        short_name="«Ромашка» & <b>'Ко'</b>",
        address=address,
        region_name=region,
        service_name='Приём <врача> & "справка"',
        served_on=date(2026, 2, 28),
        ogrn="1027700000001",
    )


def _jinja(template: str, **context: Any) -> str:
    context.update(viewer=None, csrf_token="")
    return templates.env.get_template(template).render(context)


@pytest.mark.parametrize(("address", "region"), PLACES)
@pytest.mark.parametrize("large", [False, True])
def test_fragments_give_the_templates_bytes(address: str | None, region: str, large: bool) -> None:
    d = default_definition()
    ctx = _ctx(address, region)
    for sector in Sector:
        questions = d.for_sector(sector.value)
        token = "AbC-d_0123456789abcdefXYZ"
        form = SimpleNamespace(token=token, questions=questions, definition=d, expires_at=None)
        expected = _jinja(
            "surveys/form.html",
            form=form,
            ctx=ctx,
            values={},
            errors={},
            error_list=[],
            saved=False,
            large=large,
            labels=RATING_LABELS,
        )
        assert fragments.form_page(d, questions, ctx, token, large).decode() == expected
    thanks = _jinja("surveys/thanks.html", ctx=ctx, large=large)
    assert fragments.thanks_page(ctx, large).decode() == thanks
    assert "&lt;b&gt;" in thanks  # the values really went through escaping


def test_a_template_that_prints_a_csrf_token_cannot_become_fragments() -> None:
    with pytest.raises(RuntimeError, match="CSRF"):
        str(fragments._NoCsrf())


async def test_the_served_pages_are_the_templates_pages(
    session: AsyncSession, settings: Settings, client: AsyncClient
) -> None:
    [token] = await invite(session, settings)
    await session.commit()
    page = await client.get(f"/s/{token}")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    form = await service.open_form(session, token)
    assert form is not None
    expected = _jinja(
        "surveys/form.html",
        form=form,
        ctx=form.ctx,
        values={},
        errors={},
        error_list=[],
        saved=False,
        large=False,
        labels=RATING_LABELS,
    )
    assert page.text == expected
    done = await client.post(f"/s/{token}", data=form_data())
    assert done.status_code == 200, done.text
    assert done.text == _jinja("surveys/thanks.html", ctx=form.ctx, large=False)


async def test_respondent_requests_keep_the_sites_headers_and_rules(
    session: AsyncSession, settings: Settings, client: AsyncClient
) -> None:
    [token] = await invite(session, settings)
    await session.commit()
    page = await client.get(f"/s/{token}")
    for name in ("x-content-type-options", "x-frame-options", "content-security-policy"):
        assert name in page.headers
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-request-id"]
    assert "set-cookie" not in page.headers  # no CSRF cookie on the respondent's pages
    head = await client.head(f"/s/{token}")  # not the short path: the router still answers
    assert head.status_code == 200
    assert (await client.put(f"/s/{token}")).status_code == 405
    assert (await client.get(f"/s/{token}/more")).status_code == 404
    nul = await client.get(f"/s/{token}?text=%00")
    assert nul.status_code == 400
    assert "NUL" in nul.text
    json_post = await client.post(f"/s/{token}", json={"overall": 5})
    assert json_post.status_code == 415
    assert "обычной формой" in json_post.text
    assert json_post.headers["x-request-id"]
    assert json_post.headers["cache-control"] == "no-store"
