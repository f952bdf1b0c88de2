"""Real local servers for the channels: an HTTP sink (portal, SMS gateway) and aiosmtpd."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.factories import free_port


@dataclass
class Sink:
    """An HTTP receiver that keeps what it got; ``mode`` decides how it answers."""

    url: str = ""
    mode: str = "ok"  # ok, down (503), reject (400), hang
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    batches: list[int] = field(default_factory=list)  # sizes of the batch requests
    retry_next: int = 0  # batch endpoint: answer "retry" for this many messages in a row

    @property
    def batch_url(self) -> str:
        return self.url.removesuffix("/notify") + "/batch"

    def batch(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """The portal's batch contract (docs/outreach.md): a result per message."""
        messages = json.loads(body)["messages"]
        if self.mode != "ok":
            return {"down": 503, "reject": 400}.get(self.mode, 200), {}
        results = []
        with self.lock:
            self.batches.append(len(messages))
            for m in messages:
                if self.retry_next:
                    self.retry_next -= 1
                    results.append({"idempotency_key": m["idempotency_key"], "status": "retry"})
                    continue
                seen = m["idempotency_key"] in self.keys()
                self.received.append(m)
                status = "duplicate" if seen else "accepted"
                results.append({"idempotency_key": m["idempotency_key"], "status": status})
        results.reverse()  # any order: results are matched by key
        return 200, {"results": results}

    def keys(self) -> list[str]:
        return [r["idempotency_key"] for r in self.received]

    def unique(self) -> dict[str, dict[str, Any]]:
        """What a receiver honouring idempotency keys would have shown the person."""
        return {r["idempotency_key"]: r for r in self.received}


def _handler(sink: Sink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if sink.mode == "hang":
                time.sleep(2)
            status, answer = {"ok": 200, "down": 503, "reject": 400}.get(sink.mode, 200), {}
            if self.path.endswith("/batch"):
                status, answer = sink.batch(body)
            elif status == 200:
                with sink.lock:
                    sink.received.append(json.loads(body))
            out = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the "hang" mode)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _handler(s))
    s.url = f"http://127.0.0.1:{server.server_address[1]}/notify"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield s
    server.shutdown()
    server.server_close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


class PipeliningMailbox(Mailbox):
    """Offers PIPELINING (RFC 2920), counts sessions, refuses recipients named ``refused…``."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        self.sessions += 1
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.startswith("refused"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def pipelining_smtp() -> Iterator[tuple[PipeliningMailbox, int]]:
    box = PipeliningMailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()
