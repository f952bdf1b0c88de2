"""Russian message templates per channel and sector (organization type's sphere)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

PLACE = {
    "healthcare": "Вы недавно получили медицинскую помощь",
    "education": "Вы (или ваш ребёнок) недавно получили образовательную услугу",
    "sport": "Вы (или ваш ребёнок) недавно занимались в спортивной организации",
    "social": "Вы недавно получили социальную услугу",
}
DEFAULT_PLACE = "Вы недавно получили услугу"


@dataclass(frozen=True)
class Context:
    sector: str
    organization: str
    service: str
    served_on: date
    link: str
    expires_on: date
    reminder: bool = False


def _d(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def render(channel: str, ctx: Context) -> tuple[str, str]:
    """(subject, text) for one message; SMS is kept to one short paragraph."""
    opening = PLACE.get(ctx.sector, DEFAULT_PLACE)
    subject = "Напоминание: оцените качество услуги" if ctx.reminder else "Оцените качество услуги"
    if channel == "sms":
        text = (
            f"{'Напоминаем: ' if ctx.reminder else ''}оцените услугу «{ctx.service}» "
            f"({ctx.organization}, {_d(ctx.served_on)}): {ctx.link} до {_d(ctx.expires_on)}"
        )
        return subject, text
    lines = [
        "Здравствуйте!",
        "",
        f"{opening}: «{ctx.service}» в организации «{ctx.organization}» {_d(ctx.served_on)}.",
        "Пожалуйста, ответьте на несколько вопросов о качестве услуги — это займёт 2–3 минуты.",
        "Ответы анонимны: организация увидит только обобщённые результаты.",
        "",
        f"Анкета: {ctx.link}",
        f"Ссылка личная, действует до {_d(ctx.expires_on)} и может быть использована один раз.",
    ]
    if ctx.reminder:
        lines.insert(2, "Напоминаем о короткой анкете, которую мы присылали несколько дней назад.")
    lines += ["", "Если вы не получали эту услугу, просто не отвечайте на это сообщение."]
    return subject, "\n".join(lines)
