"""The invitation e-mail: multipart text + HTML with the headers a mail provider and a citizen
expect (Date, Message-ID with our domain, List-Unsubscribe with one-click), optionally signed
with DKIM (dkimpy)."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING

import dkim

from otklik.config import Settings, SettingsError
from otklik.kit.clock import now_utc

if TYPE_CHECKING:
    from otklik.outreach.channels import Message

SIGNED_HEADERS = (
    b"From",
    b"To",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"List-Unsubscribe",
    b"List-Unsubscribe-Post",
    b"MIME-Version",
    b"Content-Type",
)


def message_id(key: object, domain: str) -> str:
    """The same id on a retry (the delivery's idempotency key) lets a receiver drop a
    duplicate; a bounce names it, so the bounce finds its delivery."""
    return f"<{key}@{domain}>"


def build_email(m: Message, settings: Settings, sender: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = m.email or ""
    msg["Subject"] = m.subject
    msg["Date"] = format_datetime(now_utc())
    msg["Message-ID"] = message_id(m.idempotency_key, settings.mail_domain)
    if m.unsubscribe:
        msg["List-Unsubscribe"] = f"<{m.unsubscribe}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(m.text)
    if m.html:
        msg.add_alternative(m.html, subtype="html")
    return msg.as_bytes(policy=SMTP)


class DkimSigner:
    """Signs with the configured key (RFC 6376, rsa-sha256, relaxed/relaxed)."""

    def __init__(self, selector: str, domain: str, key: bytes) -> None:
        self.selector = selector.encode()
        self.domain = domain.encode()
        self.key = key

    @classmethod
    def from_settings(cls, settings: Settings) -> DkimSigner | None:
        if not settings.dkim_selector:
            return None
        path = settings.dkim_private_key_file
        if path is None:
            raise SettingsError(
                "задан OTKLIK_DKIM_SELECTOR, но не задан OTKLIK_DKIM_PRIVATE_KEY_FILE"
            )
        try:
            key = Path(path).read_bytes()
        except OSError as exc:
            raise SettingsError(
                f"не удалось прочитать ключ DKIM (OTKLIK_DKIM_PRIVATE_KEY_FILE): {exc.strerror}"
            ) from exc
        return cls(settings.dkim_selector, settings.dkim_domain or settings.mail_domain, key)

    def sign(self, raw: bytes) -> bytes:
        header: bytes = dkim.sign(
            raw,
            self.selector,
            self.domain,
            self.key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(SIGNED_HEADERS),
        )
        return header + raw
