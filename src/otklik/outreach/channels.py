"""Delivery channels behind one interface: portal, e-mail, SMS and the development ``log``.

A result is ``sent``, ``temporary`` (retry later: timeouts, 5xx, connection errors) or
``permanent`` (4xx, refused recipient: try the next channel). Every message carries an
idempotency key, so a receiver can drop a message it has already seen.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import aiosmtplib
import httpx
import orjson

from otklik.config import Settings
from otklik.outreach.mail import DkimSigner, build_email

Outcome = Literal["sent", "temporary", "permanent"]
ORDER = ("portal", "email", "sms", "log")
# One definition of "delivered" (docs/outreach.md): the message reached its final receiving
# system. For these channels that is the moment of sending (the log's outbox; the SMTP server
# accepting the message, undone by a bounce); the portal and SMS confirm by callback.
ACCEPTED_IS_DELIVERED = frozenset({"log", "email"})


@dataclass(frozen=True)
class Message:
    idempotency_key: uuid.UUID
    channel: str
    snils: str | None
    email: str | None
    phone: str | None
    subject: str
    text: str
    link: str
    html: str = ""  # e-mail: the HTML alternative
    unsubscribe: str = ""  # e-mail: the opt-out link (List-Unsubscribe)


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    error: str = ""


class Channel(Protocol):
    name: str

    async def send(self, message: Message) -> Result: ...


@runtime_checkable
class BatchChannel(Protocol):
    """A channel that sends a whole worker batch at once (one request per ``BATCH_MAX``
    messages, or one SMTP session); ``results[i]`` belongs to ``messages[i]``."""

    name: str

    async def send(self, message: Message) -> Result: ...

    async def send_many(self, messages: Sequence[Message]) -> list[Result]: ...


def _http_result(status: int) -> Result:
    if 200 <= status < 300:
        return Result("sent")
    if status in (408, 425, 429) or status >= 500:
        return Result("temporary", f"HTTP {status}")
    return Result("permanent", f"HTTP {status}")


class HttpChannel:
    """The portal's notification service or an SMS gateway: a JSON POST."""

    def __init__(self, name: str, url: str, client: httpx.AsyncClient) -> None:
        self.name = name
        self.url = url
        self.client = client

    def payload(self, m: Message) -> dict[str, str | None]:
        if self.name == "portal":
            return {"snils": m.snils, "title": m.subject, "text": m.text, "link": m.link}
        return {"phone": m.phone, "text": m.text}

    async def send(self, message: Message) -> Result:
        key = str(message.idempotency_key)
        try:
            resp = await self.client.post(
                self.url,
                json={"idempotency_key": key, **self.payload(message)},
                headers={"Idempotency-Key": key},
            )
        except httpx.TimeoutException:
            return Result("temporary", "timeout")
        except httpx.HTTPError as exc:
            return Result("temporary", exc.__class__.__name__)
        return _http_result(resp.status_code)


# The portal's batch endpoint (docs/outreach.md, "The portal's batch contract").
BATCH_MAX = 500
BATCH_OUTCOMES: dict[str, Outcome] = {
    "accepted": "sent",
    "duplicate": "sent",  # the key was seen before: the person sees the message once
    "retry": "temporary",
    "rejected": "permanent",
}


class PortalBatchChannel(HttpChannel):
    """The portal with its batch endpoint: up to ``BATCH_MAX`` messages per request, a result
    per message, so only the messages that failed are sent again (with their same keys)."""

    def __init__(self, url: str, batch_url: str, client: httpx.AsyncClient) -> None:
        super().__init__("portal", url, client)
        self.batch_url = batch_url

    async def send_many(self, messages: Sequence[Message]) -> list[Result]:
        chunks = [messages[i : i + BATCH_MAX] for i in range(0, len(messages), BATCH_MAX)]
        done = await asyncio.gather(*(self._send_chunk(c) for c in chunks))
        return [r for chunk in done for r in chunk]

    async def _send_chunk(self, messages: Sequence[Message]) -> list[Result]:
        keys = [str(m.idempotency_key) for m in messages]
        body = orjson.dumps(
            {
                "messages": [
                    {"idempotency_key": k, **self.payload(m)}
                    for k, m in zip(keys, messages, strict=True)
                ]
            }
        )
        try:
            resp = await self.client.post(
                self.batch_url, content=body, headers={"Content-Type": "application/json"}
            )
        except httpx.TimeoutException:
            return [Result("temporary", "timeout")] * len(messages)
        except httpx.HTTPError as exc:
            return [Result("temporary", exc.__class__.__name__)] * len(messages)
        whole = _http_result(resp.status_code)
        if whole.outcome != "sent":  # the request as a whole failed: so did each message
            return [whole] * len(messages)
        try:
            answers = {str(a["idempotency_key"]): a for a in orjson.loads(resp.content)["results"]}
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return [Result("temporary", "ответ портала не по контракту")] * len(messages)
        out = []
        for k in keys:
            a = answers.get(k)
            a = a if isinstance(a, dict) else {}
            status = str(a.get("status"))
            outcome = BATCH_OUTCOMES.get(status)
            if outcome is None:  # no (known) answer for this message: try it again later
                out.append(Result("temporary", "нет результата в ответе портала"))
            else:
                error = "" if outcome == "sent" else str(a.get("error") or status)[:200]
                out.append(Result(outcome, error))
        return out


class EmailChannel:
    """SMTP with STARTTLS or implicit TLS and authentication as configured: one session per
    worker batch — or, with ``keep_open`` (the worker's channels), one session reused from
    batch to batch while the server keeps it — its messages pipelined (RFC 2920) when the
    server offers PIPELINING.

    A message the server accepted counts as delivered (``ACCEPTED_IS_DELIVERED``); a bounce
    read later from the bounce mailbox turns it undelivered (``outreach.bounces``).
    """

    name = "email"

    def __init__(self, settings: Settings, *, keep_open: bool = False) -> None:
        self.settings = settings
        self.host = settings.smtp_host or ""
        self.port = settings.smtp_port
        self.sender = settings.smtp_from or "noreply@otklik.local"
        self.timeout = settings.channel_timeout_seconds
        self.signer = DkimSigner.from_settings(settings)
        self.keep_open = keep_open
        self.session: _Pipeline | aiosmtplib.SMTP | None = None  # kept between batches
        self.lock = asyncio.Lock()

    def _raw(self, message: Message) -> bytes:
        raw = build_email(message, self.settings, self.sender)
        return self.signer.sign(raw) if self.signer is not None else raw

    async def send(self, message: Message) -> Result:
        return (await self.send_many([message]))[0]

    async def send_many(self, messages: Sequence[Message]) -> list[Result]:
        async with self.lock:  # one batch at a time on the session
            session = await self._reused() or await self._connect()
            if isinstance(session, Result):
                return [session] * len(messages)
            envelope_from = self.settings.smtp_bounce_address or self.sender
            if isinstance(session, _Pipeline):
                # building and DKIM-signing is CPU-bound: in a thread, off the event loop
                mails = await asyncio.to_thread(
                    lambda: [(m.email or "", self._raw(m)) for m in messages]
                )
                results = await session.send(envelope_from, mails)
            else:
                results = [await self._one(session, envelope_from, m) for m in messages]
            if self.keep_open and _alive(session):
                self.session = session
            else:
                await _quit(session)
            return results

    def _raws(self, messages: Sequence[Message]) -> list[tuple[str, bytes]]:
        return [(m.email or "", self._raw(m)) for m in messages]

    async def close(self) -> None:
        async with self.lock:
            if self.session is not None:
                await _quit(self.session)
                self.session = None

    async def _reused(self) -> _Pipeline | aiosmtplib.SMTP | None:
        """The kept session if the server still answers on it (NOOP), else None."""
        session, self.session = self.session, None
        if session is None:
            return None
        try:
            if isinstance(session, _Pipeline):
                session.transport.write(b"NOOP\r\n")
                ok = await session.reply() == 250
            else:
                ok = (await session.noop()).code == 250
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            ok = False
        if not ok:  # closed by the server while idle (or broken): a new session
            await _quit(session)
            return None
        return session

    async def _connect(self) -> _Pipeline | aiosmtplib.SMTP | Result:
        s = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            timeout=self.timeout,
            use_tls=s.smtp_security == "ssl",
            start_tls={"auto": None, "starttls": True}.get(s.smtp_security, False),
            username=s.smtp_username,
            password=s.smtp_password,
        )
        try:
            await smtp.connect()
            if smtp.is_ehlo_or_helo_needed:
                # without STARTTLS or a login (a local relay) connect() sent no EHLO, and the
                # session would never learn that the server offers PIPELINING
                try:
                    await smtp.ehlo()
                except aiosmtplib.SMTPHeloError:
                    await smtp.helo()
        except aiosmtplib.SMTPResponseException as exc:
            smtp.close()
            return _smtp_result(exc.code)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            smtp.close()
            return Result("temporary", exc.__class__.__name__)
        if smtp.supports_extension("pipelining") and smtp.transport is not None:
            return _Pipeline(smtp.transport, self.timeout)
        return smtp

    async def _one(self, smtp: aiosmtplib.SMTP, sender: str, message: Message) -> Result:
        """One message on an open session without pipelining."""
        try:
            await smtp.sendmail(sender, [message.email or ""], self._raw(message))
        except aiosmtplib.SMTPRecipientsRefused:
            return Result("permanent", "recipient refused")
        except aiosmtplib.SMTPResponseException as exc:
            return _smtp_result(exc.code)
        except (aiosmtplib.SMTPException, OSError, TimeoutError, ValueError) as exc:
            return Result("temporary", exc.__class__.__name__)
        return Result("sent")


def _smtp_result(code: int, what: str = "SMTP") -> Result:
    return Result("permanent" if 500 <= code < 600 else "temporary", f"{what} {code}")


def _alive(session: _Pipeline | aiosmtplib.SMTP) -> bool:
    if isinstance(session, _Pipeline):
        return not session.broken and not session.transport.is_closing()
    return session.is_connected


async def _quit(session: _Pipeline | aiosmtplib.SMTP) -> None:
    """QUIT without waiting for the answer, and the connection closed."""
    if isinstance(session, _Pipeline):
        if not session.transport.is_closing():
            session.transport.write(b"QUIT\r\n")
        session.transport.close()
    else:
        session.close()


_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>]")


class _Replies(asyncio.Protocol):
    """The session's transport after aiosmtplib set it up (TLS, login): replies as lines."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader

    def data_received(self, data: bytes) -> None:
        self.reader.feed_data(data)

    def eof_received(self) -> bool:
        self.reader.feed_eof()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.reader.feed_eof()


class _Pipeline:
    """RFC 2920: MAIL, RCPT and DATA go in one write; the message content, its final dot and
    the next message's MAIL, RCPT, DATA in the next: one round trip per message.

    aiosmtplib reads one reply per command it writes, so the pipelined part reads the replies
    itself from the transport aiosmtplib opened (after STARTTLS and AUTH).
    """

    def __init__(self, transport: asyncio.BaseTransport, timeout: float) -> None:
        self.reader = asyncio.StreamReader()
        transport.set_protocol(_Replies(self.reader))
        self.transport: asyncio.WriteTransport = transport  # type: ignore[assignment]
        self.timeout = timeout
        self.broken = False  # a reply went missing: the session is not reused

    async def reply(self) -> int:
        while True:
            line = await asyncio.wait_for(self.reader.readline(), self.timeout)
            if len(line) < 4 or not line[:3].isdigit():
                raise aiosmtplib.SMTPServerDisconnected("no reply")
            if line[3:4] != b"-":
                return int(line[:3])

    async def send(self, sender: str, mails: list[tuple[str, bytes]]) -> list[Result]:
        results: list[Result] = []

        def envelope(i: int) -> bytes:
            if i >= len(mails):
                return b""
            return f"MAIL FROM:<{sender}>\r\nRCPT TO:<{mails[i][0]}>\r\nDATA\r\n".encode()

        bad = {i for i, (to, _) in enumerate(mails) if not to or _UNSAFE.search(to + sender)}
        try:
            i = 0
            while i < len(mails) and i in bad:
                results.append(Result("permanent", "recipient refused"))
                i += 1
            self.transport.write(envelope(i))
            while i < len(mails):
                mail, rcpt, data = await self.reply(), await self.reply(), await self.reply()
                nxt = i + 1
                skipped = []
                while nxt < len(mails) and nxt in bad:
                    skipped.append(Result("permanent", "recipient refused"))
                    nxt += 1
                if data == 354 and mail == 250 and rcpt in (250, 251):
                    self.transport.write(_dot_stuffed(mails[i][1]) + b".\r\n" + envelope(nxt))
                    done = await self.reply()
                    results.append(Result("sent") if done == 250 else _smtp_result(done))
                else:
                    # the transaction failed: end it (an empty message if DATA was accepted)
                    self.transport.write(
                        (b".\r\n" if data == 354 else b"") + b"RSET\r\n" + envelope(nxt)
                    )
                    for _ in range(2 if data == 354 else 1):
                        await self.reply()
                    if rcpt >= 500:
                        results.append(Result("permanent", "recipient refused"))
                    else:
                        results.append(_smtp_result(max(mail, rcpt, data)))
                results.extend(skipped)
                i = nxt
        except (aiosmtplib.SMTPException, OSError, TimeoutError, ValueError) as exc:
            # the session broke: what got no final reply is tried again later (same Message-ID)
            self.broken = True
            lost = Result("temporary", exc.__class__.__name__)
            results.extend([lost] * (len(mails) - len(results)))
        return results


def _dot_stuffed(raw: bytes) -> bytes:
    raw = re.sub(rb"(?:\r\n|\n|\r(?!\n))", b"\r\n", raw)
    if not raw.endswith(b"\r\n"):
        raw += b"\r\n"
    return re.sub(rb"(?m)^\.", b"..", raw)


class LogChannel:
    """Development and demo: messages are kept in ``outbox_messages`` instead of being sent."""

    name = "log"

    def __init__(self) -> None:
        self.sent: list[Message] = []

    async def send(self, message: Message) -> Result:
        self.sent.append(message)
        return Result("sent")


class RateLimiter:
    """At most ``per_second`` sends per channel in this process (``rates`` per channel)."""

    def __init__(self, per_second: int, rates: dict[str, int] | None = None) -> None:
        self.interval = 1.0 / per_second
        self.intervals = {name: 1.0 / max(rate, 1) for name, rate in (rates or {}).items()}
        self.next_at: dict[str, float] = {}
        self.lock = asyncio.Lock()

    async def wait(self, channel: str, n: int = 1) -> None:
        """Until ``n`` more messages may go on ``channel`` (a batch waits for all of them)."""
        async with self.lock:
            now = time.monotonic()
            at = max(now, self.next_at.get(channel, now))
            self.next_at[channel] = at + n * self.intervals.get(channel, self.interval)
        if at > now:
            await asyncio.sleep(at - now)


def enabled_channels(
    settings: Settings, client: httpx.AsyncClient, *, keep_open: bool = False
) -> dict[str, Channel]:
    """Channels whose settings are present; ``log`` in demo and test. ``keep_open``: the
    e-mail session stays open between batches (a worker process's channels)."""
    channels: dict[str, Channel] = {}
    if settings.portal_notify_url and settings.portal_batch_url:
        channels["portal"] = PortalBatchChannel(
            settings.portal_notify_url, settings.portal_batch_url, client
        )
    elif settings.portal_notify_url:
        channels["portal"] = HttpChannel("portal", settings.portal_notify_url, client)
    if settings.smtp_host:
        channels["email"] = EmailChannel(settings, keep_open=keep_open)
    if settings.sms_gateway_url:
        channels["sms"] = HttpChannel("sms", settings.sms_gateway_url, client)
    if settings.log_channel_enabled:
        channels["log"] = LogChannel()
    return channels


def channel_order(enabled: set[str], portal: bool, has_email: bool, has_phone: bool) -> list[str]:
    """Channels that can reach this person, in fallback order portal → e-mail → SMS (→ log)."""
    can = {"portal": portal, "email": has_email, "sms": has_phone, "log": True}
    return [c for c in ORDER if c in enabled and can[c]]
