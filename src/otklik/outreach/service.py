"""Outreach rules: who is invited (eligibility, fatigue, sampling), when (quiet hours) and how
(channels with fallback and backoff). Knows nothing of HTTP; the caller commits.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidTag
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.intake import repository as intake_repository
from otklik.kit.clock import now_utc
from otklik.kit.pii import PiiVault
from otklik.outreach import repository
from otklik.outreach.channels import (
    ACCEPTED_IS_DELIVERED,
    BatchChannel,
    Channel,
    Message,
    RateLimiter,
    Result,
    channel_order,
)
from otklik.outreach.links import (
    LINK,
    hmac_pads,
    link_token,
    link_url,
    optout_token,
    optout_url,
)
from otklik.outreach.texts import render_personal

MAX_BACKOFF = timedelta(minutes=10)
REASONS = {
    "no_confirmed_account": "нет подтверждённой учётной записи на портале",
    "fatigue_organization": "уже приглашали от этой организации за последние 30 дней",
    "fatigue_week": "уже два приглашения за последние 7 дней",
    "sampled_out": "не попал в выборку",
    "no_channel": "нет канала связи",
    "opted_out": "отказался от приглашений (ссылка в письме)",
}


@lru_cache(maxsize=128)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def quiet_hold(now: datetime, tz: str, start: int, end: int) -> datetime:
    """``now``, or the next ``end`` o'clock in ``tz`` if ``now`` falls in the quiet hours."""
    local = now.astimezone(_zone(tz))
    h = local.hour
    quiet = (h >= start or h < end) if start > end else (start <= h < end)
    if not quiet:
        return now
    day = local.date() + timedelta(days=1 if start > end and h >= start else 0)
    morning = datetime(day.year, day.month, day.day, end, tzinfo=_zone(tz))
    return morning.astimezone(UTC)


def sampled_in(record_id: int, rate: float) -> bool:
    """A stable pseudo-random draw per record, so a re-plan decides the same way."""
    if rate >= 1:
        return True
    digest = hashlib.sha256(f"otklik/sample/{record_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def enabled_names(settings: Settings) -> set[str]:
    names = set()
    if settings.portal_notify_url:
        names.add("portal")
    if settings.smtp_host:
        names.add("email")
    if settings.sms_gateway_url:
        names.add("sms")
    if settings.log_channel_enabled:
        names.add("log")
    return names


def sample_below(rate: float) -> str:
    """The hex of the smallest 64-bit draw *not* sampled in at ``rate``: ``sampled_in`` is
    ``draw < this`` compared as bytes (in SQL, ``repository.PLAN_BATCH``); nine 0xff bytes
    (above every draw) when everything is sampled in."""
    if rate >= 1:
        return "ff" * 9
    lo, hi = 0, 2**64  # the least t with t / 2**64 >= rate (as ``sampled_in`` divides)
    while lo < hi:
        mid = (lo + hi) // 2
        if mid / 2**64 >= rate:
            hi = mid
        else:
            lo = mid + 1
    return "ff" * 9 if lo >= 2**64 else lo.to_bytes(8, "big").hex()


def _plan_params(settings: Settings, now: datetime) -> dict[str, Any]:
    """What ``repository.PLAN_SQL`` decides with: the rules of these settings as values."""
    enabled = enabled_names(settings)
    inner, outer = hmac_pads(settings.secret_key)
    rates = settings.sampling_rates
    start, end = settings.quiet_hours or (0, 0)
    return {
        "now": now,
        "rate_keys": list(rates),
        "rate_below": [sample_below(r) for r in rates.values()],
        # the first channel by (has e-mail, has phone): 1 + 2 * e-mail + phone
        "channels": [
            next(iter(channel_order(enabled, True, email, phone)), None)
            for email, phone in ((False, False), (False, True), (True, False), (True, True))
        ],
        "org_max": settings.fatigue_organization_max,
        "week_max": settings.fatigue_week_max,
        "org_since": now - timedelta(days=settings.fatigue_organization_days),
        "week_since": now - timedelta(days=7),
        "k_in": inner,
        "k_out": outer,
        "link": LINK,
        "expires": now + timedelta(days=settings.invitation_days),
        "quiet_start": start,
        "quiet_end": end,
    }


async def plan(
    session: AsyncSession, settings: Settings, *, limit: int = 5000, now: datetime | None = None
) -> int:
    """Decide for the due outreach tasks: invitations with their first delivery, or a skip.

    The decisions are made by PostgreSQL, set-based: one statement takes partition locks and
    claims their due tasks, one decides and writes, then the skipped records' contacts go;
    no row passes through Python on its way to an invitation. Returns the number of tasks decided.
    """
    now = now or now_utc()
    # Planners are partitioned by person key (repository.PLANNER_PARTS): a person's budget is
    # read and spent only under the lock of their partition, so several planners can run at
    # once and still never both find the same budget unspent. A batch takes free partitions
    # with due work until they fill it and claims their due tasks, then decides them.
    claim = await repository.claim_tasks(session, now, limit)
    if not claim.ids:
        return 0
    held, record_of = claim.held, dict(zip(claim.ids, claim.records, strict=True))
    params = _plan_params(settings, now)
    done = await repository.plan_batch(
        session, {**params, "held": held, "ids": claim.ids, "records": claim.records}
    )
    decided, skipped = done.decided, done.skipped
    if done.blocked:
        # a child's representatives may be in other partitions: those locks are taken too if
        # free, and those tasks decided by a second statement (which sees what the partitions'
        # last holders committed); a task whose people's partitions another planner holds
        # stays pending for a later batch
        wanted = {p for parts in done.blocked.values() for p in parts}
        got = set(held) | await repository.take_partitions(session, sorted(wanted - set(held)))
        again = [t for t, parts in done.blocked.items() if got.issuperset(parts)]
        if again:
            records = [record_of[t] for t in again]
            more = await repository.plan_batch(
                session, {**params, "held": sorted(got), "ids": again, "records": records}
            )
            decided += more.decided
            skipped += more.skipped
    # Nobody will be contacted about these records: their contact data goes now.
    await intake_repository.delete_contacts_of(session, skipped)
    return decided


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … up to 10 min, with jitter, so a channel that is down is not hammered."""
    base = min(timedelta(seconds=30 * 2**attempts), MAX_BACKOFF)
    return base * (0.8 + 0.4 * random.random())  # noqa: S311 - jitter, not security


@dataclass
class Outbound:
    row: Any
    message: Message | None  # None: contacts gone, nothing to send


def _outbound(rows: list[Any], settings: Settings, vault: PiiVault) -> list[Outbound]:
    return [Outbound(r, _message(r, settings, vault)) for r in rows]


def _message(row: Any, settings: Settings, vault: PiiVault) -> Message | None:
    if row.sealed is None:
        return None
    try:
        contact = vault.open(row.sealed, row.person_key)
    except InvalidTag:  # sealed under another OTKLIK_PII_KEY: unreadable, like deleted
        return None
    tz = _zone(row.timezone)
    link = link_url(settings.base_url, link_token(settings.secret_key, row.public_id))
    unsubscribe = ""
    if row.channel == "email":
        unsubscribe = optout_url(
            settings.base_url, optout_token(settings.secret_key, row.public_id)
        )
    # the texts come from a cache of templates (texts.render_personal): a batch renders each
    # (organization, service, dates, wording) once and only puts each person's links in
    subject, body, html = render_personal(
        row.channel,
        row.sector,
        row.short_name,
        row.name,
        row.served_at.astimezone(tz).date(),
        row.expires_at.astimezone(tz).date(),
        reminder=row.kind == "reminder",
        parent=bool(row.is_minor),  # a child's record goes to the representative
        operator=settings.survey_operator,
        verify_url=settings.verify_url,
        link=link,
        unsubscribe=unsubscribe,
    )
    return Message(
        row.idempotency_key,
        row.channel,
        contact.get("snils"),
        contact.get("email"),
        contact.get("phone"),
        subject,
        body,
        link,
        html=html,
        unsubscribe=unsubscribe,
    )


def mask(m: Message) -> str:
    if m.email:
        name, _, domain = m.email.partition("@")
        return f"{name[:1]}***@{domain}"
    if m.phone:
        return f"{m.phone[:4]}***{m.phone[-2:]}"
    return "портал (по СНИЛС)"


async def deliver(
    session: AsyncSession,
    settings: Settings,
    *,
    vault: PiiVault,
    channels: dict[str, Channel],
    limiter: RateLimiter | None = None,
    now: datetime | None = None,
    concurrency: int = 50,
) -> int:
    """Send one batch of due messages; the claimed rows stay locked until the caller commits.

    If the process dies mid-batch, the transaction rolls back and the rows are claimed again;
    the resend carries the same idempotency key, so the receiver can drop the duplicate.
    """
    now = now or now_utc()
    rows = await repository.claim_deliveries(session, now, settings.delivery_batch)
    if not rows:
        return 0
    await repository.commit_without_waiting_for_the_disk(session)
    # rendering, links and unsealing are CPU-bound (a batch of 1 000 held the worker's event
    # loop for up to 20 s under load): in a thread, so that the loop goes on starting other jobs
    batch = await asyncio.to_thread(
        lambda: [Outbound(r, _message(r, settings, vault)) for r in rows]
    )
    probes, held = _probes(batch)
    now_sent = [o for o in batch if o.row.id not in held]
    results = await _send(now_sent, channels, limiter, concurrency)
    # a probe that failed for now: the retries held back on its channel wait out a backoff too
    failed = {
        o.row.channel: r
        for o, r in zip(now_sent, results, strict=True)
        if o.row.id in probes and r.outcome == "temporary"
    }
    for o in batch:
        if o.row.id in held and o.row.channel in failed:
            now_sent.append(o)
            results.append(Result("temporary", failed[o.row.channel].error))
    await _record(session, settings, now_sent, results, now)
    return len(rows)


async def _send(
    batch: list[Outbound],
    channels: dict[str, Channel],
    limiter: RateLimiter | None,
    concurrency: int,
) -> list[Result]:
    """Results in the order of ``batch``: a channel that takes batches gets all its messages
    at once (the portal's batch endpoint, one SMTP session), the others one request each."""
    results: list[Result | None] = [None] * len(batch)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, o in enumerate(batch):
        if o.message is None:
            results[i] = Result("permanent", "контактные данные удалены")
        elif o.row.channel not in channels:
            results[i] = Result("permanent", "канал отключён")
        else:
            groups[o.row.channel].append(i)
    gate = asyncio.Semaphore(concurrency)

    messages = {i: o.message for i, o in enumerate(batch) if o.message is not None}

    async def one(i: int, channel: Channel) -> None:
        async with gate:
            if limiter:
                await limiter.wait(channel.name)
            results[i] = await channel.send(messages[i])

    async def many(ids: list[int], channel: BatchChannel) -> None:
        if limiter:
            await limiter.wait(channel.name, len(ids))
        got = await channel.send_many([messages[i] for i in ids])
        for i, r in zip(ids, got, strict=True):
            results[i] = r

    work = []
    for name, ids in groups.items():
        channel = channels[name]
        if isinstance(channel, BatchChannel):
            work.append(many(ids, channel))
        else:
            work.extend(one(i, channel) for i in ids)
    await asyncio.gather(*work)
    return [r or Result("temporary", "не отправлено") for r in results]


def _probes(batch: list[Outbound]) -> tuple[set[int], set[int]]:
    """Per channel, only the oldest retried message is tried (the probe); other retries wait.

    If the probe gets through, the channel is back and its whole backlog becomes due in the
    order it was queued (``_record``); the rows held back are left as they are.
    """
    retried: dict[str, list[int]] = defaultdict(list)
    for o in batch:
        if o.row.in_backoff:  # failed before and waiting out a backoff
            retried[o.row.channel].append(o.row.id)
    probes = {min(ids) for ids in retried.values()}
    held = {i for ids in retried.values() for i in ids} - probes
    return probes, held


async def _record(
    session: AsyncSession,
    settings: Settings,
    batch: list[Outbound],
    results: list[Result],
    now: datetime,
) -> None:
    """Every outcome of the batch in one statement (``repository.record_outcomes``)."""
    out = repository.Outcomes.empty()
    enabled = enabled_names(settings)
    for o, res in zip(batch, results, strict=True):
        r = o.row
        if res.outcome == "sent":
            # the log channel's outbox and an SMTP server that accepted the message are the
            # final receiving systems: delivered on sending (a bounce undoes it, outreach.bounces)
            delivered = r.channel in ACCEPTED_IS_DELIVERED
            out.add((r.id, r.created_at), "delivered" if delivered else "sent", None, None)
            out.sent_invitations.add(r.invitation_id)
            if r.channel == "log" and o.message:
                m = o.message
                out.outbox(m.idempotency_key, mask(m), m.subject, m.text, m.link)
            continue
        error = res.error[:200]
        next_at = now + backoff(r.attempts)
        if res.outcome == "temporary" and next_at < r.expires_at:
            out.add((r.id, r.created_at), "queued", next_at, error)
            continue
        out.add((r.id, r.created_at), "failed", None, error)
        order = []
        if r.sealed is not None:
            order = channel_order(enabled, r.portal_account_confirmed, r.has_email, r.has_phone)
        later = order[order.index(r.channel) + 1 :] if r.channel in order else []
        if later:
            out.fallback(r.invitation_id, r.kind, later[0])
        elif r.kind == "invite":
            out.dead_invitations.append(r.invitation_id)
    # a message that had failed before got through: its channel is back (before the retries
    # of this batch are scheduled, so they keep their backoff)
    back = {
        o.row.channel
        for o, res in zip(batch, results, strict=True)
        if res.outcome == "sent" and o.row.in_backoff
    }
    await repository.recover_channels(session, sorted(back), now, settings.quiet_hours or (0, 0))
    reminder_at = now + timedelta(days=settings.reminder_after_days)
    await repository.record_outcomes(session, out, now, reminder_at)


@dataclass(frozen=True)
class Replanned:
    held: int  # messages waiting out quiet hours before
    moved: int  # whose send time changed
    released: int  # due now


async def replan_held(
    session: AsyncSession, settings: Settings, *, now: datetime | None = None, apply: bool = True
) -> Replanned:
    """Held messages (quiet hours) get their send time again under the current settings.

    A message's send time is fixed when it is planned; after a change of
    ``OTKLIK_QUIET_HOURS_START``/``END`` this releases (or holds longer) what is waiting
    (``otklik outreach replan-held``, docs/outreach.md).
    """
    held, moved, released = await repository.replan_held(
        session, now or now_utc(), settings.quiet_hours or (0, 0), apply=apply
    )
    return Replanned(held, moved, released)


async def queue_reminders(
    session: AsyncSession, settings: Settings, *, now: datetime | None = None
) -> int:
    """One reminder per invitation not answered after ``reminder_after_days`` (quiet hours kept)."""
    return await repository.queue_reminders(
        session, now or now_utc(), 5000, settings.quiet_hours_start, settings.quiet_hours_end
    )


async def delivery_status(
    session: AsyncSession, settings: Settings, key: uuid.UUID, status: str, reason: str
) -> bool:
    """A channel's report on a message; ``failed`` moves on to the next channel."""
    delivery = await repository.delivery_by_key(session, key)
    if delivery is None:
        return False
    now = now_utc()
    if status == "delivered":
        rows = [
            {
                "id": delivery.id,
                "created_at": delivery.created_at,
                "invitation_id": delivery.invitation_id,
                "now": now,
            }
        ]
        await repository.mark_delivered(session, rows)
    elif delivery.status != "failed":
        # like a permanent failure at send time: recorded, then the next channel; a message
        # counted delivered (an accepted e-mail that bounced) no longer counts
        if delivery.delivered_at is not None:
            await repository.undeliver(
                session, (delivery.id, delivery.created_at), delivery.invitation_id
            )
        row = await repository.delivery_row(session, delivery.id, delivery.created_at)
        await _record(session, settings, [Outbound(row, None)], [Result("permanent", reason)], now)
    await session.flush()
    return True
