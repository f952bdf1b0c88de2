"""The respondent form: open a link, keep a draft, submit one answer per service record.

Knows nothing of HTTP; the caller commits. A response records the service and the day, never
who answered: no person key, contact, token, token hash or invitation id.
"""

from __future__ import annotations

import hmac
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.db import SessionStatements, Statements
from otklik.errors import NotFound
from otklik.kit import metrics
from otklik.kit.clock import now_utc
from otklik.outreach import repository as outreach_repository
from otklik.outreach.citizen import LinkGone
from otklik.outreach.links import link_token, token_hash
from otklik.surveys import repository, sealing
from otklik.surveys.answers import Checked, check
from otklik.surveys.definitions import Definition, Question
from otklik.surveys.masking import mask_personal_data

CURRENT_TTL = 5.0
_definitions: dict[str, Definition] = {}  # published versions never change
_current: tuple[float, str] | None = None


def statements(db: Statements | AsyncSession) -> Statements:
    """A session's statements run in its transaction."""
    return SessionStatements(db) if isinstance(db, AsyncSession) else db


def draft_key(secret: str, token: str) -> bytes:
    """A draft's key: keyed, so it differs from ``invitations.token_hash``."""
    return hmac.digest(secret.encode(), b"otklik/draft/" + token.encode(), "sha256")


async def definition(db: Statements | AsyncSession, version: str) -> Definition:
    """A published version, parsed once per process."""
    found = _definitions.get(version)
    if found is None:
        data = await repository.published_definition(statements(db), version)
        if data is None:
            raise NotFound(f"Версия анкеты {version} не опубликована.")
        found = _definitions[version] = Definition.model_validate(data)
    return found


async def current_version(db: Statements | AsyncSession) -> str:
    """The newest published version (re-read every few seconds)."""
    global _current
    if _current is not None and time.monotonic() - _current[0] < CURRENT_TTL:
        return _current[1]
    version = await repository.current_version(statements(db))
    if version is None:
        raise NotFound("Нет опубликованной анкеты.")
    _current = (time.monotonic(), version)
    return version


def forget_cached_versions() -> None:
    """After a publish in this process: the next form reads the newest version at once."""
    global _current
    _current = None
    _definitions.clear()


@dataclass(frozen=True)
class Form:
    """One open link: what the page shows and what a response will record."""

    invitation_id: int
    token: str
    expires_at: datetime
    started: bool
    ctx: Any  # the repository.FORM row
    definition: Definition
    questions: tuple[Question, ...]
    links: list[uuid.UUID]  # the public ids of the record's links
    draft: dict[str, str]  # the saved answers (when opened with ``draft_secret``)


async def open_form(
    db: Statements | AsyncSession, token: str, *, draft_secret: str | None = None
) -> Form | None:
    """The form behind a link (None: unknown link), its first opening recorded; ``LinkGone``
    (carrying the row, for the thank-you page) when it cannot be used. One statement.

    ``draft_secret``: the link's draft is read too.
    """
    if not 20 <= len(token) <= 64:
        return None
    db = statements(db)
    key = draft_key(draft_secret, token) if draft_secret else b""
    now = now_utc()
    row = await repository.form(db, token_hash(token), key, now)
    if row is None:
        return None
    if row.completed_at is not None:
        raise LinkGone("answered", row)
    if row.status == "used":
        raise LinkGone("used", row)
    if row.expires_at <= now:
        raise LinkGone("expired", row)
    d = await definition(db, row.questionnaire_version or await current_version(db))
    draft: dict[str, str] = {}
    if row.draft_answers is not None and row.draft_version == d.version:
        draft = {str(k): str(v) for k, v in row.draft_answers.items()}
    questions = d.for_sector(row.sector)
    started = row.started_at is not None
    return Form(row.id, token, row.expires_at, started, row, d, questions, row.links, draft)


def _masked(questions: tuple[Question, ...], values: dict[str, str]) -> dict[str, str]:
    types = {q.code: q.type for q in questions}
    return {k: mask_personal_data(v) if types[k] == "text" else v for k, v in values.items()}


async def save_draft(
    session: AsyncSession, settings: Settings, form: Form, fields: list[tuple[str, str]]
) -> Checked:
    """Keep the valid answers so far; free text is masked like in a response."""
    checked = check(form.questions, fields, complete=False)
    good = {k: v for k, v in checked.values.items() if k not in checked.errors}
    await repository.save_draft(
        session,
        draft_key(settings.secret_key, form.token),
        form.definition.version,
        _masked(form.questions, good),
        form.expires_at,
    )
    if not form.started:
        await outreach_repository.mark_started(session, form.invitation_id, now_utc())
    return checked


def response_rows(
    form: Form, values: dict[str, str], answered_on: date
) -> tuple[dict[str, Any], list[tuple[str, int]], list[tuple[str, str]]]:
    """A response's row, its numeric items and its free-text answers as typed (raw: the caller
    seals them for the masking worker; only the demo's synthetic history stores them as they
    are). ``answers`` holds every answer except free text, which reaches
    ``response_comments`` only once masked."""
    ctx = form.ctx
    answers: dict[str, Any] = {}
    items: list[tuple[str, int]] = []
    comments: list[tuple[str, str]] = []
    for q in form.questions:
        value = values.get(q.code)
        if not value:
            continue
        if q.type == "text":
            comments.append((q.code, value))
            continue
        if q.type == "rating" and value != "na":
            items.append((q.code, int(value)))
        elif q.type == "yesno" and value in ("yes", "no"):
            items.append((q.code, int(value == "yes")))
        answers[q.code] = int(value) if q.type == "rating" and value != "na" else value
    response = {
        "rid": uuid.uuid4(),
        "questionnaire_version": form.definition.version,
        "organization_id": ctx.organization_id,
        "organization_type_code": ctx.type_code,
        "region_code": ctx.region_code,
        "founder_id": ctx.founder_id,
        "service_code": ctx.service_code,
        "life_situation_code": ctx.life_situation_code,
        "served_on": ctx.served_on,
        "answered_on": answered_on,
        "channel": ctx.channel,
        "respondent": ctx.respondent,
        "age_band": ctx.age_band,
        "answers": answers,
    }
    return response, items, comments


async def submit(
    db: Statements | AsyncSession,
    settings: Settings,
    form: Form,
    fields: list[tuple[str, str]],
    *,
    answered_on: date | None = None,
) -> Checked:
    """Store the answer if the form is complete and valid (errors come back in ``Checked``):
    one statement (``repository.STORE``). The record's links are locked first: a second
    submission (another tab, another representative) waits, then finds the record answered
    and stores nothing; ``LinkGone("used")`` when another link of the record was answered.
    Comments are sealed for the masking worker. ``answered_on`` is for the demo's history.
    """
    checked = check(form.questions, fields, complete=True)
    if checked.errors:
        return checked
    response, items, comments = response_rows(form, checked.values, answered_on or form.ctx.today)
    sealed = [(code, sealing.seal(settings, body)) for code, body in comments]
    secret = settings.secret_key
    now = now_utc()
    done = {
        "record_id": form.ctx.record_id,
        "id": form.invitation_id,
        "keys": [draft_key(secret, link_token(secret, public_id)) for public_id in form.links],
        "now": now,
        "since": outreach_repository.since(now),  # queued messages' months (CANCEL_QUEUED)
    }
    answered, gone = await repository.store_response(statements(db), response, items, sealed, done)
    if answered:
        return checked  # this link was answered a moment ago (another tab): nothing more
    if gone:
        raise LinkGone("used")
    metrics.count_answer()
    return checked


async def purge_drafts(session: AsyncSession, settings: Settings) -> int:
    """Worker job: drafts of expired links."""
    return await repository.purge_drafts(session, now_utc())
