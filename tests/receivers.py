"""What the local receivers of sent messages share: the topology test's portal and SMTP server
(``tests/cluster/sinks.py``) and the outreach benchmark's sink (``benchmarks/outreach_support.py``).

``serve(answer, http_port, smtp_handler, smtp_port)`` runs, in one process, a minimal HTTP/1.1
server (keep-alive, ``Content-Length`` bodies; each request handed to ``answer(method, target,
body)``, which returns the status and a JSON body) and, with an SMTP port, an aiosmtpd server
whose handler is a ``Pipelining`` (it offers ``PIPELINING``, as the outreach SMTP channel uses).
``batch`` writes the portal's answer to a batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson

Answer = Callable[[str, str, bytes], tuple[int, bytes]]


class Pipelining:
    """aiosmtpd handler base: offers PIPELINING after EHLO; subclasses add ``handle_DATA``."""

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]


def batch(body: bytes, status: Callable[[dict[str, Any]], str]) -> bytes:
    """The portal's answer to ``POST /batch`` (docs/outreach.md): a result per message, in order,
    each ``status(message)`` ("accepted", "duplicate", "rejected")."""
    results = [
        {"idempotency_key": m["idempotency_key"], "status": status(m)}
        for m in orjson.loads(body)["messages"]
    ]
    return orjson.dumps({"results": results})


async def _http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answer: Answer) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            body = await reader.readexactly(length) if length else b""
            status, out = answer(method, target, body)
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: {len(out)}\r\n"
                "Content-Type: application/json\r\n\r\n".encode()
                + out
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(
    answer: Answer, http_port: int, smtp_handler: Pipelining | None = None, smtp_port: int = 0
) -> None:
    """Serve HTTP on ``http_port`` (and SMTP on ``smtp_port``) of 127.0.0.1 until cancelled."""
    server = await asyncio.start_server(lambda r, w: _http(r, w, answer), "127.0.0.1", http_port)
    if smtp_handler is not None and smtp_port:
        from aiosmtpd.smtp import SMTP

        loop = asyncio.get_running_loop()
        await loop.create_server(lambda: SMTP(smtp_handler), "127.0.0.1", smtp_port)
    async with server:
        await server.serve_forever()
