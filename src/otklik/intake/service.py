"""Information systems (keys, rotation, disabling) and the intake of their service records."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.errors import NotFound, ValidationFailed
from otklik.identity.audit import Actor, record_audit
from otklik.identity.security import new_token, token_hash
from otklik.intake import repository
from otklik.intake.messages import message
from otklik.intake.models import IntakeBatch, Source
from otklik.intake.validation import CleanRecord, validate
from otklik.kit import metrics
from otklik.kit.clock import moscow_date
from otklik.kit.pii import PiiVault

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{1,99}$")
KEY_PREFIX = "otks_"


async def create_source(session: AsyncSession, actor: Actor, name: str) -> tuple[Source, str]:
    """Register an information system; returns it and its API key (shown once)."""
    if not NAME_RE.match(name):
        raise ValidationFailed(
            "Имя источника: 2–100 символов, латинские буквы, цифры, точка, дефис, подчёркивание."
        )
    if await repository.get_source_by_name(session, name) is not None:
        raise ValidationFailed("Источник с таким именем уже есть.", code="duplicate")
    key = new_token(KEY_PREFIX)
    source = Source(name=name, key_hash=token_hash(key), key_prefix=key[:10])
    session.add(source)
    await session.flush()
    await record_audit(session, actor, "create", "source", name, None, {"key_prefix": key[:10]})
    return source, key


async def rotate_key(
    session: AsyncSession, actor: Actor, name: str, grace: timedelta = timedelta(days=7)
) -> str:
    """Issue a new key; the old one keeps working for ``grace``."""
    source = await repository.get_source_by_name(session, name)
    if source is None:
        raise NotFound("Источник не найден.")
    key = new_token(KEY_PREFIX)
    before = {"key_prefix": source.key_prefix}
    source.previous_key_hash = source.key_hash
    source.previous_key_expires_at = datetime.now(UTC) + grace
    source.key_hash, source.key_prefix = token_hash(key), key[:10]
    await session.flush()
    await record_audit(
        session, actor, "rotate_key", "source", name, before, {"key_prefix": key[:10]}
    )
    return key


async def set_active(session: AsyncSession, actor: Actor, name: str, active: bool) -> Source:
    source = await repository.get_source_by_name(session, name)
    if source is None:
        raise NotFound("Источник не найден.")
    before = {"is_active": source.is_active}
    source.is_active = active
    await session.flush()
    await record_audit(session, actor, "update", "source", name, before, {"is_active": active})
    return source


async def authenticate_source(session: AsyncSession, key: str) -> Source | None:
    return await repository.source_for_key(session, token_hash(key), datetime.now(UTC))


# --- service records ---


class InvalidLine:
    """Stands for an NDJSON line that is not valid JSON (kept in place to keep indexes)."""

    __slots__ = ()


INVALID_LINE = InvalidLine()


@dataclass(slots=True)
class RecordError:
    index: int
    record_id: str | None
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "record_id": self.record_id,
            "field": self.field,
            "code": self.code,
            "message": self.message,
        }


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[RecordError] = field(default_factory=list)

    def add(self, other: IngestResult) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.errors.extend(other.errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": [e.as_dict() for e in self.errors],
        }


def _field_str(obj: Any, key: str) -> str | None:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value[:100] if isinstance(value, str) else None


async def ingest(
    session: AsyncSession,
    source_id: int,
    items: Sequence[Any],
    *,
    vault: PiiVault,
    retention_days: int,
    channel: str,
    received_at: datetime | None = None,
    first_index: int = 0,
    messages: Sequence[tuple[int, datetime]] | None = None,
) -> IngestResult:
    """Validate and store a batch of service records; good ones are kept, bad ones reported.

    Each accepted record gets, in the caller's transaction, its sealed contacts and the
    outreach work item. A record_id already stored is a duplicate (same content) or a conflict.

    ``messages`` (the stream): each item's message (stream sequence, stored at). A message
    whose rejection was already counted (redelivered after a crash, or to a second consumer)
    counts as a duplicate, not again as a rejection; its errors are still in ``errors``, so
    they are reported again, but ``rejected`` and the quality page count each message once.
    """
    received = received_at or datetime.now(UTC)
    result = IngestResult()
    clean: dict[int, CleanRecord] = {}
    ids: dict[int, str | None] = {}
    ogrns: dict[int, str | None] = {}
    seen: dict[str, bytes] = {}
    retention = timedelta(days=retention_days)

    def reject(i: int, field_: str, code: str, text_: str | None = None) -> None:
        result.errors.append(
            RecordError(first_index + i, ids[i], field_, code, text_ or message(code))
        )

    for i, obj in enumerate(items):
        ids[i] = _field_str(obj, "record_id")
        ogrn = _field_str(obj, "organization_ogrn")
        ogrns[i] = ogrn if ogrn and len(ogrn) == 13 and ogrn.isdigit() else None
        if obj is INVALID_LINE:
            reject(i, "", "invalid_line")
            continue
        checked = validate(obj, now=received, retention=retention, vault=vault)
        if isinstance(checked, list):
            for p in checked:
                reject(i, p.field, p.code, p.message)
            continue
        if checked.record_id in seen:
            # A stream redelivers: the same record twice in one pull is a duplicate there.
            if channel == "stream" and seen[checked.record_id] == checked.content_hash:
                result.duplicates += 1
            else:
                reject(i, "record_id", "duplicate_in_batch")
            continue
        seen[checked.record_id] = checked.content_hash
        clean[i] = checked

    if clean:
        await _store(session, source_id, clean, received, retention, channel, result, reject)
    rejected = {e.index for e in result.errors}
    counted = result.errors
    if messages is not None and rejected:
        claimed = await repository.claim_stream_rejections(
            session, source_id, [messages[i - first_index] for i in sorted(rejected)]
        )
        repeated = {i for i in rejected if messages[i - first_index] not in claimed}
        rejected -= repeated
        result.duplicates += len(repeated)
        counted = [e for e in result.errors if e.index not in repeated]
    result.rejected = len(rejected)
    result.errors.sort(key=lambda e: e.index)
    await _count(
        session, source_id, channel, len(items), received, result, counted, ogrns, first_index
    )
    metrics.count_intake(result.accepted, result.duplicates, result.rejected)
    return result


async def _store(
    session: AsyncSession,
    source_id: int,
    clean: dict[int, CleanRecord],
    received: datetime,
    retention: timedelta,
    channel: str,
    result: IngestResult,
    reject: Callable[..., None],
) -> None:
    await repository.stage_records(
        session,
        (
            (
                i,
                r.record_id,
                r.content_hash,
                r.ogrn,
                r.service_code,
                r.life_situation_code,
                r.served_at,
                r.served_date,
                r.age_band,
                r.is_minor,
                r.people[0].person_key,
            )
            for i, r in clean.items()
        ),
        (
            (
                i,
                p.position,
                p.relation,
                p.person_key,
                p.portal_account_confirmed,
                p.has_email,
                p.has_phone,
                p.sealed,
            )
            for i, r in clean.items()
            for p in r.people
        ),
    )
    rejected = await repository.check_staged(session)
    for i, code in rejected.items():
        reject(i, _DB_FIELDS[code], code)
    result.accepted, existing = await repository.insert_staged(
        session,
        source_id=source_id,
        received_at=received,
        retention=retention,
        channel=channel,
        staged=len(clean) - len(rejected),
    )
    for i, same in existing.items():
        if same:
            result.duplicates += 1
        else:
            reject(i, "record_id", "conflict")
    await repository.clear_stage(session)


_DB_FIELDS = {
    "unknown_organization": "organization_ogrn",
    "organization_not_participating": "organization_ogrn",
    "unknown_service": "service_code",
    "service_not_for_type": "service_code",
    "unknown_life_situation": "life_situation_code",
}


async def _count(
    session: AsyncSession,
    source_id: int,
    channel: str,
    records: int,
    received: datetime,
    result: IngestResult,
    errors: list[RecordError],
    ogrns: dict[int, str | None],
    first_index: int,
) -> None:
    """Keep the batch's counts and its rejections by code, for the quality page."""
    await repository.add_batch(
        session,
        IntakeBatch(
            source_id=source_id,
            channel=channel,
            received_at=received,
            records=records,
            accepted=result.accepted,
            duplicates=result.duplicates,
            rejected=result.rejected,
        ),
    )
    day = moscow_date(received)
    counts = Counter((ogrns[e.index - first_index], e.code) for e in errors)
    await repository.add_rejections(
        session,
        [
            {"source_id": source_id, "day": day, "ogrn": ogrn, "code": code, "count": n}
            for (ogrn, code), n in sorted(counts.items(), key=lambda kv: (kv[0][0] or "", kv[0][1]))
        ],
    )


@dataclass
class FileReport:
    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[tuple[int, str, str, str, str]] = field(default_factory=list)  # line, id, ...


async def ingest_file(
    session: AsyncSession,
    source_id: int,
    records: Iterable[tuple[int, Any]],
    *,
    vault: PiiVault,
    retention_days: int,
    chunk: int = 10_000,
    progress: Callable[[int], None] | None = None,
    after_chunk: Callable[[], Awaitable[None]] | None = None,
) -> FileReport:
    """Ingest (line, record) pairs in chunks through the same checks as the API.

    ``after_chunk`` lets the caller commit each chunk: a re-run after a crash is safe because
    records already stored come back as duplicates.
    """
    report = FileReport()
    for part in _chunks(records, chunk):
        lines = [line for line, _ in part]
        result = await ingest(
            session,
            source_id,
            [item for _, item in part],
            vault=vault,
            retention_days=retention_days,
            channel="file",
        )
        report.rows += len(part)
        report.accepted += result.accepted
        report.duplicates += result.duplicates
        report.rejected += result.rejected
        report.errors.extend(
            (lines[e.index], e.record_id or "", e.field, e.code, e.message) for e in result.errors
        )
        if after_chunk:
            await after_chunk()
        if progress:
            progress(len(part))
    return report


def _chunks(items: Iterable[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    part: list[tuple[int, Any]] = []
    for item in items:
        part.append(item)
        if len(part) >= size:
            yield part
            part = []
    if part:
        yield part


async def link_operator(session: AsyncSession, actor: Actor, email: str, source_name: str) -> None:
    """Let an information-system operator upload files on behalf of a source."""
    from otklik.identity import repository as identity_repository

    user = await identity_repository.get_user_by_email(session, email)
    source = await repository.get_source_by_name(session, source_name)
    if user is None or source is None:
        raise NotFound("Пользователь или источник не найден.")
    if user.role != "is_operator":
        raise ValidationFailed(
            "Связать с источником можно только оператора информационной системы."
        )
    before = {"source_id": user.source_id}
    user.source_id = source.id
    await session.flush()
    await record_audit(session, actor, "update", "user", email, before, {"source": source_name})


async def purge_expired_contacts(session: AsyncSession, settings: Settings) -> int:
    """Delete sealed contacts past their expiry (periodic job)."""
    return await repository.purge_expired_contacts(session, datetime.now(UTC))


# the stream keeps messages 7 days (intake/stream.py); a day more for a consumer's clock
STREAM_MEMORY = timedelta(days=8)


async def purge_stream_rejections(session: AsyncSession, settings: Settings) -> int:
    """Forget which stream messages were rejected once the stream cannot redeliver them."""
    return await repository.purge_stream_rejections(session, datetime.now(UTC) - STREAM_MEMORY)
