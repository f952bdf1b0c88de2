"""The topology test's local receivers: the portal (batch contract) and a real SMTP server.

``python -m tests.cluster.sinks HTTP_PORT SMTP_PORT`` runs, in one process:

- the portal: ``POST /batch`` answers by the batch contract of docs/outreach.md (a result per
  message; ``duplicate`` for a key seen before) and ``POST /notify`` a single message. A
  message whose SNILS ``rejects`` (below) is ``rejected`` (the person has no account on the
  portal, say), so the worker moves on to e-mail;
- an SMTP server (aiosmtpd, ``PIPELINING`` offered) that reads each message's plain-text part
  (both on ``tests/receivers.py``, which the outreach benchmark's sink shares).

Every message kept is one row ``{"key", "channel", "to", "link"}`` (``to``: the SNILS digits
for the portal, the address for e-mail; ``link``: the personal link the person would follow).
``GET /messages?after=N`` returns the rows from the N-th on, ``GET /stats`` counts per channel
and the keys received more than once.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from tests.receivers import Pipelining, batch, serve

LINK = re.compile(r"https?://[^\s\"<>]+/s/[A-Za-z0-9_\-]+")


def rejects(snils_digits: str) -> bool:
    """The portal refuses one person in ten: the SNILS's first nine digits end in 7."""
    return int(snils_digits[:9]) % 10 == 7


@dataclass
class State:
    rows: list[dict[str, str]] = field(default_factory=list)
    keys: Counter[str] = field(default_factory=Counter)
    rejected: int = 0

    def keep(self, key: str, channel: str, to: str, link: str) -> bool:
        """False when the key was received before (then nothing is kept again)."""
        self.keys[key] += 1
        if self.keys[key] > 1:
            return False
        self.rows.append({"key": key, "channel": channel, "to": to, "link": link})
        return True


def _portal(st: State, m: dict[str, Any]) -> str:
    digits = re.sub(r"\D", "", str(m.get("snils") or ""))
    key = str(m["idempotency_key"])
    if len(digits) != 11 or rejects(digits):
        st.rejected += 1
        return "rejected"
    return "accepted" if st.keep(key, "portal", digits, str(m["link"])) else "duplicate"


class Mail(Pipelining):
    """Keeps the link of each message by its Message-ID."""

    def __init__(self, st: State) -> None:
        self.st = st

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        body = msg.get_body(("plain",))
        found = LINK.search(body.get_content() if body is not None else "")
        key = str(msg["Message-ID"]).strip("<>").split("@")[0]
        self.st.keep(key, "email", ",".join(envelope.rcpt_tos), found.group(0) if found else "")
        return "250 OK"


def _answer(st: State, method: str, target: str, body: bytes) -> tuple[int, bytes]:
    url = urlsplit(target)
    if method == "POST" and url.path == "/batch":
        return 200, batch(body, lambda m: _portal(st, m))
    if method == "POST" and url.path == "/notify":
        status = _portal(st, orjson.loads(body))
        return (400, b"{}") if status == "rejected" else (200, b"{}")
    if url.path == "/messages":
        after = int(parse_qs(url.query).get("after", ["0"])[0])
        return 200, orjson.dumps(st.rows[after:])
    if url.path == "/stats":
        per = Counter(r["channel"] for r in st.rows)
        again = sum(1 for n in st.keys.values() if n > 1)
        return 200, orjson.dumps({"channels": per, "repeated_keys": again, "rejected": st.rejected})
    return 404, b"{}"


async def main(http_port: int, smtp_port: int) -> None:
    st = State()
    await serve(lambda m, t, b: _answer(st, m, t, b), http_port, Mail(st), smtp_port)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
