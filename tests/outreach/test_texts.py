"""The delivery path's cached templates write exactly what ``render`` and ``render_html`` do."""

from __future__ import annotations

from datetime import date
from itertools import product

from otklik.outreach.texts import Context, render, render_html, render_personal


def test_cached_templates_match_the_direct_rendering_with_every_persons_links() -> None:
    served, expires = date(2026, 12, 31), date(2027, 1, 30)
    for channel, sector, reminder, parent, n in product(
        ("portal", "email", "sms"), ("healthcare", "sport", "other"), (0, 1), (0, 1), range(3)
    ):
        # links differ per person; one needs escaping in HTML
        link = f"https://otklik.test/s/tok{n}?a=1&b=<{n}>"
        unsubscribe = f"https://otklik.test/unsubscribe/u{n}" if channel == "email" else ""
        ctx = Context(
            sector,
            "ГБУЗ «Поликлиника № 1» & Ко",
            "Приём врача",
            served,
            link,
            expires,
            bool(reminder),
            bool(parent),
            "Минздрав",
            "https://www.gosuslugi.ru",
            unsubscribe,
        )
        subject, text = render(channel, ctx)
        html = render_html(ctx) if channel == "email" else ""
        got = render_personal(
            channel,
            sector,
            ctx.organization,
            ctx.service,
            served,
            expires,
            reminder=bool(reminder),
            parent=bool(parent),
            operator=ctx.operator,
            verify_url=ctx.verify_url,
            link=link,
            unsubscribe=unsubscribe,
        )
        assert got == (subject, text, html)
        assert link in got[1]
        assert "31.12.2026" in got[1]
