"""The append-only audit log: who changed what, when, before and after."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from otklik.identity.models import AuditEntry

# The head of an audit INSERT, for statements of other domains that write their own rows and
# an audit entry in one round trip (the identity package owns every write of ``audit_log``).
AUDIT_INSERT = (
    "INSERT INTO audit_log (actor_user_id, actor_label, action, entity, entity_id, before, after)"
)


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a signed-in user or a named system process (CLI, demo)."""

    user_id: int | None
    label: str

    @classmethod
    def system(cls, label: str) -> Actor:
        return cls(None, label)


async def record_audit(
    session: AsyncSession,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    session.add(
        AuditEntry(
            actor_user_id=actor.user_id,
            actor_label=actor.label,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
        )
    )
    await session.flush()


async def record_import(
    session: AsyncSession, actor: Actor, kind: str, file_name: str, summary: dict[str, Any]
) -> None:
    """A registry import (the registry sits below identity, so its callers record it)."""
    await record_audit(session, actor, "import", kind, file_name[:100], None, summary)
