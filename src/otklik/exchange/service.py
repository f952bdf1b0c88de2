"""Packing answers into batches and sending them to ИАС МКГУ, exactly once at the receiver.

A batch is written once (manifest line + JSON Lines, gzip) and resent byte for byte under the
same ``Idempotency-Key`` until the receiver acknowledges it, so a receiver that honours the key
stores every answer once however often a reply is lost. ``docs/exchange.md`` has the format.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.exchange import repository
from otklik.exchange.models import ExchangeBatch

RECEIVER = "iasmkgu"
FORMAT_VERSION = "otklik-iasmkgu/1"
EPOCH = date(2000, 1, 1)
MAX_BACKOFF = timedelta(hours=1)
FIRST_BACKOFF = timedelta(seconds=30)
SEND_AT_ONCE = 10


@dataclass(frozen=True)
class Packed:
    batches: int
    answers: int


def manifest(batch_id: uuid.UUID, lines: list[str], first: date, last: date) -> dict[str, Any]:
    records = "".join(line + "\n" for line in lines).encode()
    return {
        "manifest": {
            "format": FORMAT_VERSION,
            "batch_id": str(batch_id),
            "count": len(lines),
            "sha256": hashlib.sha256(records).hexdigest(),
            "period": {"from": first.isoformat(), "to": last.isoformat()},
        }
    }


def encode(head: dict[str, Any], lines: list[str]) -> bytes:
    """The batch as sent: the manifest line, then one answer per line, gzip."""
    text = json.dumps(head, ensure_ascii=False, separators=(",", ":")) + "\n"
    text += "".join(line + "\n" for line in lines)
    return gzip.compress(text.encode(), compresslevel=6, mtime=0)


def decode(body: bytes) -> tuple[dict[str, Any], list[str]]:
    """Inverse of :func:`encode`; raises ``ValueError`` on anything malformed."""
    try:
        text = gzip.decompress(body).decode()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ValueError("not a gzip of UTF-8 text") from exc
    head, _, rest = text.partition("\n")
    parsed = json.loads(head)
    if not isinstance(parsed, dict) or not isinstance(parsed.get("manifest"), dict):
        raise ValueError("the first line is not a manifest")
    lines = rest.splitlines()
    return parsed["manifest"], lines


def new_batch(lines: list[str], first: date, last: date) -> ExchangeBatch:
    batch_id = uuid.uuid4()
    head = manifest(batch_id, lines, first, last)
    return ExchangeBatch(
        id=batch_id,
        receiver=RECEIVER,
        format_version=FORMAT_VERSION,
        answered_from=first,
        answered_to=last,
        count=len(lines),
        sha256=head["manifest"]["sha256"],
        body=encode(head, lines),
        status="pending",
        attempts=0,
    )


async def pack(
    session: AsyncSession,
    settings: Settings,
    *,
    since: date | None = None,
    limit: int | None = None,
) -> Packed:
    """Move queued answers into new batches of ``settings.iasmkgu_batch``, oldest first."""
    methodology = await repository.default_methodology(session)
    batches = answers = 0
    while limit is None or answers < limit:
        size = (
            settings.iasmkgu_batch
            if limit is None
            else min(settings.iasmkgu_batch, limit - answers)
        )
        rows = await repository.take_queued(
            session, since=since or EPOCH, size=size, methodology=methodology
        )
        if not rows:
            break
        batch = new_batch([r[2] for r in rows], rows[0][1], rows[-1][1])
        await repository.add_batch(session, batch, [r[0] for r in rows])
        batches += 1
        answers += len(rows)
        if len(rows) < size:
            break
    return Packed(batches, answers)


def _backoff(attempts: int) -> timedelta:
    step: timedelta = FIRST_BACKOFF * (2 ** max(attempts - 1, 0))
    return min(step, MAX_BACKOFF)


def _receipt(response: httpx.Response, batch: ExchangeBatch) -> dict[str, Any] | None:
    """The receiver's acknowledgement if it names this batch and its count, else None."""
    try:
        body = response.json()
    except ValueError:
        return None
    if (
        isinstance(body, dict)
        and body.get("batch_id") == str(batch.id)
        and body.get("accepted") == batch.count
    ):
        return body
    return None


def _failed(batch: ExchangeBatch, now: datetime, status: int | None, error: str) -> None:
    batch.status = "retrying"
    batch.last_status = status
    batch.last_error = error
    batch.next_attempt_at = now + _backoff(batch.attempts)


async def _split(session: AsyncSession, batch: ExchangeBatch) -> None:
    """The receiver refused the size (413): two halves, new ids, same answers."""
    _, lines = decode(batch.body)
    half = len(lines) // 2
    for part in (lines[:half], lines[half:]):
        keys = [uuid.UUID(json.loads(line)["response_key"]) for line in part]
        days = [date.fromisoformat(json.loads(line)["answered_on"]) for line in part]
        child = new_batch(part, min(days), max(days))
        session.add(child)
        await session.flush()
        await repository.move_items(session, keys, child.id)
    batch.status = "split"
    batch.last_error = "получатель отклонил размер пакета (413): пакет разделён на два"


async def send_one(
    session: AsyncSession,
    settings: Settings,
    client: httpx.AsyncClient,
    batch: ExchangeBatch,
    now: datetime,
) -> bool:
    """One attempt; True when the receiver acknowledged the batch."""
    assert settings.iasmkgu_url is not None  # noqa: S101 - checked by the caller
    headers = {
        "Content-Type": "application/x-ndjson; charset=utf-8",
        "Content-Encoding": "gzip",
        "Idempotency-Key": str(batch.id),
    }
    if settings.iasmkgu_token:
        headers["Authorization"] = f"Bearer {settings.iasmkgu_token}"
    batch.attempts += 1
    batch.last_attempt_at = now
    try:
        response = await client.post(settings.iasmkgu_url, content=batch.body, headers=headers)
    except httpx.TimeoutException:
        _failed(batch, now, None, "получатель не ответил вовремя")
        return False
    except httpx.HTTPError as exc:
        _failed(batch, now, None, f"нет соединения с получателем ({exc.__class__.__name__})")
        return False
    if response.status_code == 413 and batch.count > 1:
        await _split(session, batch)
        return False
    if response.is_success:
        receipt = _receipt(response, batch)
        if receipt is None:
            _failed(batch, now, response.status_code, "получатель ответил без квитанции")
            return False
        batch.status = "acknowledged"
        batch.receipt = receipt
        batch.last_status = response.status_code
        batch.last_error = None
        batch.acknowledged_at = now
        return True
    _failed(batch, now, response.status_code, f"получатель ответил {response.status_code}")
    return False


async def send_due(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Send the batches that are due; return how many were attempted."""
    if not settings.iasmkgu_url:
        return 0
    batches = await repository.due_batches(session, RECEIVER, now, SEND_AT_ONCE)
    if not batches:
        return 0
    timeout = httpx.Timeout(settings.channel_timeout_seconds)
    async with httpx.AsyncClient(timeout=timeout) as client:
        for batch in batches:
            await send_one(session, settings, client, batch, now)
    await session.flush()
    return len(batches)


@dataclass(frozen=True)
class Reconciliation:
    configured: bool
    responses: int
    queued: int
    acknowledged: int
    in_flight: int
    rows: list[repository.StatusRow]


async def reconciliation(session: AsyncSession, settings: Settings) -> Reconciliation:
    """What was sent and acknowledged, and every answer not yet transferred, with its reason."""
    rows = await repository.status_summary(session, RECEIVER)
    queued, _, _ = await repository.count_queued(session, EPOCH)
    acknowledged = sum(r.answers for r in rows if r.status == "acknowledged")
    in_flight = sum(r.answers for r in rows if r.status in ("pending", "retrying"))
    return Reconciliation(
        configured=bool(settings.iasmkgu_url),
        responses=await repository.count_responses(session),
        queued=queued,
        acknowledged=acknowledged,
        in_flight=in_flight,
        rows=rows,
    )
