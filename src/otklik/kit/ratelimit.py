"""Token buckets per key, in this process (each server process keeps its own)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from otklik.errors import TooManyRequests

MAX_KEYS = 100_000


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """``per_minute`` requests per key, with bursts up to the same number.

    ``message(retry_seconds)`` is the Russian text of the 429 answer.
    """

    def __init__(self, per_minute: int, message: Callable[[int], str]) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.message = message
        self.buckets: dict[Hashable, _Bucket] = {}

    def take(self, key: Hashable) -> None:
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
                self.message(retry), code="rate_limited", headers={"Retry-After": str(retry)}
            )
        b.tokens -= 1
