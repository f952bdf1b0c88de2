"""Token buckets per client address and per link, in this process (like intake's)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from otklik.errors import TooManyRequests

MAX_KEYS = 100_000


@dataclass
class _Bucket:
    tokens: float
    at: float


class Buckets:
    """``per_minute`` requests per key, with bursts up to the same number."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> None:
        now = time.monotonic()
        if len(self.buckets) > MAX_KEYS:  # forget idle keys (their buckets are full anyway)
            horizon = self.capacity / self.rate
            self.buckets = {k: b for k, b in self.buckets.items() if now - b.at < horizon}
        b = self.buckets.setdefault(key, _Bucket(self.capacity, now))
        b.tokens = min(self.capacity, b.tokens + (now - b.at) * self.rate)
        b.at = now
        if b.tokens < 1:
            retry = math.ceil((1 - b.tokens) / self.rate)
            raise TooManyRequests(
                f"Слишком много запросов. Подождите {retry} с и попробуйте снова — "
                "ваши ответы не потеряются, если сохранить черновик.",
                code="rate_limited",
                headers={"Retry-After": str(retry)},
            )
        b.tokens -= 1
