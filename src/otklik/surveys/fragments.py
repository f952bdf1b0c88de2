"""The respondent's two busiest pages without a template render per request.

The blank form page (no saved answers, errors or notice) and the thank-you page are rendered
once per process through their own Jinja templates with markers where the per-link values go
(organization, place, service, day, token, OGRN), split at the markers and kept as UTF-8
fragments; a request joins the fragments with its values, escaped exactly as Jinja's
autoescape would (``markupsafe.escape``). The templates stay the only source of the HTML:
every other state of the form (a draft, errors, "draft saved") still renders through Jinja,
and ``tests/surveys/test_fragments.py`` checks that both ways give the same bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from markupsafe import escape

from otklik.kit.fmt import day
from otklik.kit.web import templates
from otklik.surveys.definitions import RATING_LABELS, Definition, Question

_MARK = re.compile("\x02([a-z_]+)\x03")
_SENTINEL_DAY = date(1901, 2, 3)  # no real service date: its formatted text becomes a marker


def place(ctx: Any) -> str:
    """Where the organization is, as the respondent's pages print it: the address, followed by
    the region when the address does not name it (or the region alone)."""
    address, region = ctx.address, ctx.region_name
    if address and region not in address:
        return f"{address}, {region}"
    return str(address or region)


templates.env.globals["service_place"] = place


def _marker(name: str) -> str:
    return f"\x02{name}\x03"


class _NoCsrf:
    """A fragment must not bake in a per-visitor CSRF token: printing one fails loudly."""

    def __str__(self) -> str:
        raise RuntimeError("a pre-rendered respondent page cannot carry a CSRF token")

    __html__ = __str__


@dataclass(frozen=True)
class Fragments:
    """A page as constant UTF-8 pieces around named slots (``len(literals) == len(slots) + 1``)."""

    literals: tuple[bytes, ...]
    slots: tuple[str, ...]

    def fill(self, values: dict[str, str]) -> bytes:
        out = [self.literals[0]]
        for slot, literal in zip(self.slots, self.literals[1:], strict=True):
            out.append(str(escape(values[slot])).encode())
            out.append(literal)
        return b"".join(out)


def _split(html: str) -> Fragments:
    marked_day = day(_SENTINEL_DAY)
    if html.count(marked_day) > 1:
        raise RuntimeError("the respondent page changed: the service day appears twice")
    parts = _MARK.split(html.replace(marked_day, _marker("day")))
    return Fragments(tuple(p.encode() for p in parts[0::2]), tuple(parts[1::2]))


def _marked_ctx() -> SimpleNamespace:
    # region_name "" is in every address, so ``place`` prints the address marker alone
    return SimpleNamespace(
        short_name=_marker("name"),
        address=_marker("place"),
        region_name="",
        service_name=_marker("service"),
        served_on=_SENTINEL_DAY,
        ogrn=_marker("ogrn"),
    )


def _render(template: str, **context: Any) -> str:
    context.update(viewer=None, csrf_token=_NoCsrf())
    return templates.env.get_template(template).render(context)


@lru_cache(maxsize=2)
def _thanks(large: bool) -> Fragments:
    return _split(_render("surveys/thanks.html", ctx=_marked_ctx(), large=large))


def _form(definition: Definition, questions: tuple[Question, ...], large: bool) -> Fragments:
    cache: dict[tuple[tuple[str, ...], bool], Fragments] = definition._fragments
    key = (tuple(q.code for q in questions), large)
    found = cache.get(key)
    if found is None:
        form = SimpleNamespace(
            token=_marker("token"), questions=questions, definition=definition, expires_at=None
        )
        html = _render(
            "surveys/form.html",
            form=form,
            ctx=_marked_ctx(),
            values={},
            errors={},
            error_list=[],
            saved=False,
            large=large,
            labels=RATING_LABELS,
        )
        found = cache[key] = _split(html)
    return found


@lru_cache(maxsize=64)
def _day(served_on: date) -> str:
    return day(served_on)


def _values(ctx: Any) -> dict[str, str]:
    return {
        "name": ctx.short_name,
        "place": place(ctx),
        "service": ctx.service_name,
        "day": _day(ctx.served_on),
        "ogrn": ctx.ogrn,
    }


def form_page(
    definition: Definition, questions: tuple[Question, ...], ctx: Any, token: str, large: bool
) -> bytes:
    """The blank form page of a link, as ``surveys/form.html`` renders it."""
    return _form(definition, questions, large).fill({**_values(ctx), "token": token})


def thanks_page(ctx: Any, large: bool) -> bytes:
    """The thank-you page, as ``surveys/thanks.html`` renders it."""
    return _thanks(large).fill(_values(ctx))
