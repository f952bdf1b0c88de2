"""Questionnaire versions for coordinators: upload (a draft), preview, publish (immutable)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.errors import NotFound, ValidationFailed
from otklik.identity.audit import Actor, record_audit
from otklik.surveys import repository, service
from otklik.surveys.definitions import Definition, parse_definition, type_conflicts
from otklik.surveys.models import QuestionnaireVersion
from otklik.surveys.repository import PublishedImmutable


def _immutable(version: str) -> ValidationFailed:
    return ValidationFailed(
        f"Версия {version} уже опубликована и не может быть изменена: ответы по ней должны "
        "оставаться воспроизводимыми. Загрузите анкету с новым номером версии.",
        code="version_published",
    )


async def _check_codes(session: AsyncSession, d: Definition) -> None:
    published = [
        Definition.model_validate(x) for x in await repository.published_definitions(session)
    ]
    if any(p.version == d.version for p in published):
        raise _immutable(d.version)
    conflicts = type_conflicts(d, [p for p in published if p.version != d.version])
    if conflicts:
        raise ValidationFailed(
            "Код вопроса не может менять тип ответа между версиями: " + "; ".join(conflicts),
            code="code_type_changed",
        )


async def upload(session: AsyncSession, actor: Actor, content: bytes, filename: str) -> Definition:
    """Check a YAML or JSON file and keep it as a draft version (a draft may be replaced)."""
    d = parse_definition(content, filename)
    await _check_codes(session, d)
    try:
        await repository.save_version(session, d.version, d.title, d.model_dump(mode="json"))
    except PublishedImmutable:
        raise _immutable(d.version) from None
    await record_audit(
        session, actor, "upload", "questionnaire_version", d.version, None, {"title": d.title}
    )
    return d


async def get(session: AsyncSession, version: str) -> tuple[QuestionnaireVersion, Definition]:
    row = await repository.get_version(session, version)
    if row is None:
        raise NotFound(f"Версии анкеты «{version}» нет.")
    return row, Definition.model_validate(row.definition)


async def publish(session: AsyncSession, actor: Actor, version: str) -> None:
    """Publish a draft: from now on new invitations use it and it never changes."""
    row, d = await get(session, version)
    if row.status == "published":
        raise ValidationFailed(f"Версия {version} уже опубликована.", code="already_published")
    await _check_codes(session, d)
    try:
        await repository.publish_version(session, version, datetime.now(UTC))
    except PublishedImmutable:
        raise _immutable(version) from None
    service.forget_cached_versions()
    await record_audit(
        session, actor, "publish", "questionnaire_version", version, None, {"status": "published"}
    )


async def listing(session: AsyncSession) -> list[QuestionnaireVersion]:
    return await repository.list_versions(session)
