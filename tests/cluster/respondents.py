"""Simulated respondents: they follow the personal links the sinks received, over real HTTP.

A link is answered when the hash of its token falls in the chosen share; the answer (the
overall rating, whether there is a comment) derives from the same hash, so a run is
reproducible. Each respondent opens the form (GET), reads the organization's name on it and
submits (POST). What was submitted, per organization, is what the indicators must show.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field

import httpx

ORG = re.compile(r"Кластер-(\d{4})")
# A comment with a phone number and a name: the masking worker must remove both.
COMMENT = "Спасибо врачу Марине Сергеевне, перезвоните мне: +7 900 123-45-67"
PHONE_DIGITS = "123-45-67"


@dataclass
class Submitted:
    responses: Counter[int] = field(default_factory=Counter)  # per organization number
    overall: Counter[int] = field(default_factory=Counter)  # sum of overall ratings per org
    comments: int = 0
    pids: Counter[str] = field(default_factory=Counter)  # web process -> requests served
    failures: list[str] = field(default_factory=list)


def _hash(token: str) -> int:
    return int(hashlib.sha256(token.encode()).hexdigest()[:12], 16)


def chosen(links: list[str], percent: int) -> list[str]:
    return [link for link in links if _hash(link.rsplit("/", 1)[1]) % 100 < percent]


async def _respond(client: httpx.AsyncClient, link: str, out: Submitted) -> None:
    h = _hash(link.rsplit("/", 1)[1])
    page = await client.get(link)
    out.pids[page.headers.get("x-cluster-pid", "?")] += 1
    found = ORG.search(page.text)
    if page.status_code != 200 or found is None:
        out.failures.append(f"GET {page.status_code}")
        return
    overall = 1 + h % 5
    form = {
        "overall": str(overall),
        "organization": "4",
        "comfort": "5",
        "staff": "3",
        "recommend": "yes" if overall >= 3 else "no",
        "action": "submit",
    }
    with_comment = h % 3 == 0
    if with_comment:
        form["comment"] = COMMENT
    answer = await client.post(link, data=form)
    out.pids[answer.headers.get("x-cluster-pid", "?")] += 1
    if answer.status_code != 200 or "Ваш ответ принят" not in answer.text:
        out.failures.append(f"POST {answer.status_code}")
        return
    org = int(found.group(1))
    out.responses[org] += 1
    out.overall[org] += overall
    out.comments += with_comment


async def respond(links: list[str], concurrency: int = 16) -> Submitted:
    """Answer every link in ``links`` with ``concurrency`` connections at once."""
    out = Submitted()
    queue = list(reversed(links))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def one() -> None:
            while queue:
                await _respond(client, queue.pop(), out)

        await asyncio.gather(*(one() for _ in range(concurrency)))
    return out
