"""Improvement jobs (listed in ``schedule.py``): e-mail whoever must act next."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.identity.models import User
from otklik.improvement.models import Notification
from otklik.outreach.channels import EmailChannel, Message

BATCH = 50
MAX_ATTEMPTS = 5


async def send_notifications(session: AsyncSession, settings: Settings) -> int:
    """Send a batch of pending notifications by e-mail (SMTP settings); without SMTP, in demo
    and test they are marked as logged, elsewhere they wait. Returns how many were handled."""
    if not settings.smtp_host and not settings.log_channel_enabled:
        return 0
    n = Notification
    rows = (
        await session.execute(
            select(n.id, n.subject, n.text, n.link, User.email)
            .join(User, User.id == n.user_id)
            .where(n.sent_at.is_(None), n.attempts < MAX_ATTEMPTS)
            .order_by(n.id)
            .limit(BATCH)
            .with_for_update(of=n, skip_locked=True)
        )
    ).all()
    if not rows:
        return 0
    sent: list[int] = []
    failed: dict[str, list[int]] = {}
    channel = EmailChannel(settings) if settings.smtp_host else None
    base = settings.base_url.rstrip("/")
    for r in rows:
        if channel is None:
            sent.append(r.id)
            continue
        result = await channel.send(
            Message(
                idempotency_key=uuid.uuid5(uuid.NAMESPACE_URL, f"otklik-improvement-{r.id}"),
                channel="email",
                snils=None,
                email=r.email,
                phone=None,
                subject=r.subject,
                text=f"{r.text}\n\n{base}{r.link}",
                link=f"{base}{r.link}",
            )
        )
        if result.outcome == "sent":
            sent.append(r.id)
        else:
            failed.setdefault(f"{result.outcome}: {result.error}"[:200], []).append(r.id)
    if sent:
        await session.execute(
            update(n)
            .where(n.id.in_(sent))
            .values(sent_at=func.now(), attempts=n.attempts + 1, error="" if channel else "log")
        )
    for error, ids in failed.items():
        # a refused address is not retried; a temporary failure is, up to MAX_ATTEMPTS
        attempts = MAX_ATTEMPTS if error.startswith("permanent") else n.attempts + 1
        await session.execute(update(n).where(n.id.in_(ids)).values(attempts=attempts, error=error))
    return len(rows)
