"""Delivery channels behind one interface: portal, e-mail, SMS and the development ``log``.

A result is ``sent``, ``temporary`` (retry later: timeouts, 5xx, connection errors) or
``permanent`` (4xx, refused recipient: try the next channel). Every message carries an
idempotency key, so a receiver can drop a message it has already seen.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Literal, Protocol

import aiosmtplib
import httpx

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


class EmailChannel:
    """SMTP with STARTTLS or implicit TLS and authentication as configured.

    A message the server accepted counts as delivered (``ACCEPTED_IS_DELIVERED``); a bounce
    read later from the bounce mailbox turns it undelivered (``outreach.bounces``).
    """

    name = "email"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.host = settings.smtp_host or ""
        self.port = settings.smtp_port
        self.sender = settings.smtp_from or "noreply@otklik.local"
        self.timeout = settings.channel_timeout_seconds
        self.signer = DkimSigner.from_settings(settings)

    async def send(self, message: Message) -> Result:
        s = self.settings
        raw = build_email(message, s, self.sender)
        if self.signer is not None:
            raw = self.signer.sign(raw)
        try:
            await aiosmtplib.send(
                raw,
                sender=s.smtp_bounce_address or self.sender,
                recipients=[message.email or ""],
                hostname=self.host,
                port=self.port,
                timeout=self.timeout,
                use_tls=s.smtp_security == "ssl",
                start_tls={"auto": None, "starttls": True}.get(s.smtp_security, False),
                username=s.smtp_username,
                password=s.smtp_password,
            )
        except aiosmtplib.SMTPRecipientsRefused:
            return Result("permanent", "recipient refused")
        except aiosmtplib.SMTPResponseException as exc:
            outcome: Outcome = "permanent" if 500 <= exc.code < 600 else "temporary"
            return Result(outcome, f"SMTP {exc.code}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Result("temporary", exc.__class__.__name__)
        return Result("sent")


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

    async def wait(self, channel: str) -> None:
        async with self.lock:
            now = time.monotonic()
            at = max(now, self.next_at.get(channel, now))
            self.next_at[channel] = at + self.intervals.get(channel, self.interval)
        if at > now:
            await asyncio.sleep(at - now)


def enabled_channels(settings: Settings, client: httpx.AsyncClient) -> dict[str, Channel]:
    """Channels whose settings are present; ``log`` in demo and test."""
    channels: dict[str, Channel] = {}
    if settings.portal_notify_url:
        channels["portal"] = HttpChannel("portal", settings.portal_notify_url, client)
    if settings.smtp_host:
        channels["email"] = EmailChannel(settings)
    if settings.sms_gateway_url:
        channels["sms"] = HttpChannel("sms", settings.sms_gateway_url, client)
    if settings.log_channel_enabled:
        channels["log"] = LogChannel()
    return channels


def channel_order(enabled: set[str], portal: bool, has_email: bool, has_phone: bool) -> list[str]:
    """Channels that can reach this person, in fallback order portal → e-mail → SMS (→ log)."""
    can = {"portal": portal, "email": has_email, "sms": has_phone, "log": True}
    return [c for c in ORDER if c in enabled and can[c]]
