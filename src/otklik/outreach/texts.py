"""Russian message templates per channel, sector (organization type's sphere) and recipient kind.

A record about a child is sent to the child's representative: the text then speaks of the
child ("Ваш ребёнок недавно получил медицинскую помощь"), never "Вы получили …".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from html import escape

# (adult, parent of a child)
PLACES = {
    "healthcare": (
        "Вы недавно получили медицинскую помощь",
        "Ваш ребёнок недавно получил медицинскую помощь",
    ),
    "education": (
        "Вы недавно получили образовательную услугу",
        "Ваш ребёнок недавно получил образовательную услугу",
    ),
    "sport": (
        "Вы недавно занимались в спортивной организации",
        "Ваш ребёнок недавно занимался в спортивной организации",
    ),
    "social": (
        "Вы недавно получили социальную услугу",
        "Ваш ребёнок недавно получил социальную услугу",
    ),
}
DEFAULT_PLACES = ("Вы недавно получили услугу", "Ваш ребёнок недавно получил услугу")
PLACE = {sector: adult for sector, (adult, _) in PLACES.items()}  # the sectors, for listings
RECIPIENTS = {"adult": "взрослый", "parent": "представитель ребёнка"}


@dataclass(frozen=True)
class Context:
    sector: str
    organization: str
    service: str
    served_on: date
    link: str
    expires_on: date
    reminder: bool = False
    parent: bool = False  # the recipient is a child's representative
    operator: str = ""  # who runs the survey
    verify_url: str = ""  # where a person can check that the link is genuine
    unsubscribe: str = ""  # the opt-out link (e-mail)


def _d(day: date) -> str:
    # not strftime: it goes through the C library's locale and was a third of rendering
    return f"{day.day:02d}.{day.month:02d}.{day.year:04d}"


def opening(ctx: Context) -> str:
    return PLACES.get(ctx.sector, DEFAULT_PLACES)[1 if ctx.parent else 0]


def subject_of(ctx: Context) -> str:
    return "Напоминание: оцените качество услуги" if ctx.reminder else "Оцените качество услуги"


def _trust_lines(ctx: Context) -> list[str]:
    lines = []
    if ctx.operator:
        lines.append(f"Опрос проводит {ctx.operator} в системе «Отклик».")
    if ctx.verify_url:
        lines.append(
            "Проверить, что ссылка настоящая: это же приглашение есть в вашем личном кабинете "
            f"на портале {ctx.verify_url}. Мы никогда не просим пароли, коды из СМС или оплату."
        )
    return lines


def render(channel: str, ctx: Context) -> tuple[str, str]:
    """(subject, text) for one message; SMS is kept to one short paragraph."""
    subject = subject_of(ctx)
    if channel == "sms":
        text = (
            f"{'Напоминаем: ' if ctx.reminder else ''}оцените услугу «{ctx.service}» "
            f"({ctx.organization}, {_d(ctx.served_on)}): {ctx.link} до {_d(ctx.expires_on)}"
        )
        return subject, text
    child = " вашему ребёнку" if ctx.parent else ""
    lines = [
        "Здравствуйте!",
        "",
        f"{opening(ctx)}: «{ctx.service}» в организации «{ctx.organization}» {_d(ctx.served_on)}.",
        f"Пожалуйста, ответьте на несколько вопросов о качестве услуги{child} — "
        "это займёт 2–3 минуты.",
        "Ответы анонимны: организация увидит только обобщённые результаты.",
        "",
        f"Анкета: {ctx.link}",
        f"Ссылка личная, действует до {_d(ctx.expires_on)} и может быть использована один раз.",
    ]
    if ctx.reminder:
        lines.insert(2, "Напоминаем о короткой анкете, которую мы присылали несколько дней назад.")
    if channel == "email":
        lines += ["", *_trust_lines(ctx)]
    lines += ["", "Если вы не получали эту услугу, просто не отвечайте на это сообщение."]
    if channel == "email" and ctx.unsubscribe:
        lines.append(f"Больше не получать приглашения к опросам: {ctx.unsubscribe}")
    return subject, "\n".join(lines)


def render_html(ctx: Context) -> str:
    """The e-mail's HTML part: the same words, semantic and self-contained (no remote images,
    fonts or styles), readable by a screen reader and at any width."""
    e = escape
    subject = subject_of(ctx)
    child = " вашему ребёнку" if ctx.parent else ""
    reminder = (
        "<p>Напоминаем о короткой анкете, которую мы присылали несколько дней назад.</p>"
        if ctx.reminder
        else ""
    )
    trust = "".join(f"<p>{e(line)}</p>" for line in _trust_lines(ctx))
    unsubscribe = (
        f'<p><a href="{e(ctx.unsubscribe)}">Больше не получать приглашения к опросам</a></p>'
        if ctx.unsubscribe
        else ""
    )
    return (
        '<!DOCTYPE html>\n<html lang="ru">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(subject)}</title>\n</head>\n"
        '<body style="font-family: sans-serif; font-size: 16px; line-height: 1.5; '
        'max-width: 40em; margin: 0 auto; padding: 1em; color: #1a1a1a; background: #ffffff">\n'
        '<main role="main">\n'
        f'<h1 style="font-size: 1.3em">{e(subject)}</h1>\n'
        "<p>Здравствуйте!</p>\n"
        f"{reminder}"
        f"<p>{e(opening(ctx))}: «{e(ctx.service)}» в организации «{e(ctx.organization)}» "
        f"{_d(ctx.served_on)}.</p>\n"
        f"<p>Пожалуйста, ответьте на несколько вопросов о качестве услуги{child} — "
        "это займёт 2–3 минуты. Ответы анонимны: организация увидит только обобщённые "
        "результаты.</p>\n"
        f'<p><a href="{e(ctx.link)}" style="color: #0b57a4; font-weight: bold">'
        "Заполнить анкету о качестве услуги</a></p>\n"
        f"<p>Ссылка личная, действует до {_d(ctx.expires_on)} и может быть использована "
        f"один раз. Адрес ссылки: {e(ctx.link)}</p>\n"
        f"{trust}\n"
        "<p>Если вы не получали эту услугу, просто не отвечайте на это сообщение.</p>\n"
        f"{unsubscribe}\n"
        "</main>\n</body>\n</html>\n"
    )


# --- the delivery path: one rendering per template, the personal links put in afterwards ---

# Placeholders for the two personal parts of a message; NUL never occurs in a template,
# in an organization's or a service's name, nor does ``html.escape`` change it.
_LINK = "\x00link\x00"
_OPTOUT = "\x00optout\x00"


@lru_cache(maxsize=8192)
def _template(channel: str, ctx: Context) -> tuple[str, str, str]:
    subject, text = render(channel, ctx)
    return subject, text, render_html(ctx) if channel == "email" else ""


def render_personal(
    channel: str,
    sector: str,
    organization: str,
    service: str,
    served_on: date,
    expires_on: date,
    *,
    reminder: bool,
    parent: bool,
    operator: str,
    verify_url: str,
    link: str,
    unsubscribe: str,
) -> tuple[str, str, str]:
    """(subject, text, html) exactly as ``render`` and ``render_html`` write them (html only
    for e-mail), from a cache of templates per channel, wording, organization, service and
    dates: a batch renders each template once and only puts each person's links in."""
    key = Context(
        sector,
        organization,
        service,
        served_on,
        _LINK,
        expires_on,
        reminder,
        parent,
        operator,
        verify_url,
        _OPTOUT if unsubscribe else "",
    )
    subject, text, html = _template(channel, key)
    text = text.replace(_LINK, link).replace(_OPTOUT, unsubscribe)
    if html:
        html = html.replace(_LINK, escape(link)).replace(_OPTOUT, escape(unsubscribe))
    return subject, text, html
