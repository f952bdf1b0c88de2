"""Bounces: delivery status notifications (RFC 3464 ``multipart/report``) read from a Maildir.

The envelope sender of every invitation e-mail is ``OTKLIK_SMTP_BOUNCE_ADDRESS``; the mail
system delivers what comes back to that address into ``OTKLIK_BOUNCE_MAILDIR`` (any MTA, or
fetchmail/getmail from an IMAP or POP3 mailbox). The worker reads new messages, finds each
failed recipient's original Message-ID (``<delivery key@domain>``), marks that delivery failed
(it no longer counts as delivered) and queues the next channel. A read message moves to
``cur/`` with the Maildir "seen" flag; anything that is not a failure report is left seen too.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from email.parser import BytesHeaderParser
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.outreach import service

log = logging.getLogger("otklik.outreach.bounces")
BATCH = 200


@dataclass(frozen=True)
class Bounce:
    key: uuid.UUID  # the delivery's idempotency key (the local part of its Message-ID)
    status: str  # the DSN status code, e.g. 5.1.1


def _key(message_id: str | None) -> uuid.UUID | None:
    local = (message_id or "").strip().strip("<>").partition("@")[0]
    try:
        return uuid.UUID(local)
    except ValueError:
        return None


def _original_message_id(report: Message) -> str | None:
    for part in report.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return str(inner[0].get("Message-ID", "")) or None
        if ctype == "text/rfc822-headers":
            raw = part.get_payload(decode=True)
            if isinstance(raw, bytes):
                return BytesHeaderParser().parsebytes(raw).get("Message-ID")
    return None


def _failed_status(report: Message) -> str | None:
    """The status of the first failed recipient of a delivery-status part, if any failed."""
    for part in report.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        groups = part.get_payload()
        for fields in groups[1:] if isinstance(groups, list) else []:
            if not isinstance(fields, Message):
                continue
            if str(fields.get("Action", "")).strip().lower() == "failed":
                return str(fields.get("Status", "5.0.0")).strip()[:20] or "5.0.0"
    return None


def parse_dsn(raw: bytes) -> Bounce | None:
    """A failure report about one of our messages, or None (a delay notice, an auto-reply,
    a report about a message that is not ours)."""
    msg = message_from_bytes(raw, policy=policy.compat32)
    if msg.get_content_type() != "multipart/report":
        return None
    if str(msg.get_param("report-type") or "").lower() != "delivery-status":
        return None
    status = _failed_status(msg)
    if status is None:
        return None
    key = _key(_original_message_id(msg))
    return None if key is None else Bounce(key, status)


def _seen(path: Path, maildir: Path) -> None:
    target = maildir / "cur" / (path.name.split(":", 1)[0] + ":2,S")
    os.replace(path, target)


async def poll_bounces(session: AsyncSession, settings: Settings) -> int:
    """Worker job: handle up to ``BATCH`` new messages of the bounce Maildir."""
    maildir = settings.bounce_maildir
    if maildir is None or not (maildir / "new").is_dir():
        return 0
    files = sorted(p for p in (maildir / "new").iterdir() if p.is_file())[:BATCH]
    if not files:
        return 0
    for path in files:
        bounce = parse_dsn(path.read_bytes())
        if bounce is not None:
            found = await service.delivery_status(
                session, settings, bounce.key, "failed", f"возврат письма: {bounce.status}"
            )
            if not found:
                log.info("bounce for an unknown message ignored")
    # Committed before the files are marked seen: a crash in between reads them again,
    # and a second report on a failed delivery changes nothing.
    await session.commit()
    for path in files:
        _seen(path, maildir)
    return len(files)
