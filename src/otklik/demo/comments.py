"""Comments the demo's citizens write (a simple version; a richer one replaces this file)."""

from __future__ import annotations

import random

GOOD = (
    "Всё понравилось, спасибо сотрудникам!",
    "Приняли вовремя, объяснили всё понятно.",
    "Чисто и удобно, персонал вежливый.",
)
BAD = (
    "Долго ждали в очереди, запись не соблюдается.",
    "Мало информации на сайте, пришлось звонить несколько раз.",
    "В помещении душно, негде присесть.",
    "Сотрудник был груб, ничего толком не объяснил.",
)
MIXED = (
    "В целом нормально, но навигация в здании запутанная.",
    "Хорошо бы сделать онлайн-запись удобнее.",
    "Нужен пандус у входа.",
)


def demo_comment(rng: random.Random, sector: str, overall: int) -> str | None:
    """A short comment for a demo answer, or None (most people leave none)."""
    if rng.random() < 0.7:
        return None
    pool = GOOD if overall >= 5 else BAD if overall <= 2 else MIXED
    return rng.choice(pool)
