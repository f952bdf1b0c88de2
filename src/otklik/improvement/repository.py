"""Every query of change requests: lists through the one scope filter, row locks, timeline."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Select, func, insert, literal_column, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from otklik.identity.audit import AUDIT_INSERT
from otklik.identity.models import User
from otklik.improvement.models import (
    Attachment,
    ChangeRequest,
    ChangeRequestEvidence,
    ControlCheckItem,
    ImprovementEvent,
    Notification,
)
from otklik.kit.pagination import PageParams, order_by_param
from otklik.kit.scope import Scope, ScopeColumns, apply_scope
from otklik.registry.models import LifeSituation, Organization, Service

CR = ChangeRequest
CR_SCOPE = ScopeColumns(
    organization_id=cast(Any, CR.organization_id),
    region_code=cast(Any, CR.region_code),
    founder_id=cast(Any, CR.founder_id),
)
SORTS: dict[str, Any] = {
    "id": CR.id,
    "title": CR.title,
    "state": CR.state,
    "updated": CR.updated_at,
    "release": CR.planned_release,
}


def scoped(scope: Scope) -> Select[tuple[ChangeRequest]]:
    return apply_scope(select(CR), scope, CR_SCOPE)


def _one(row: Any) -> ChangeRequest | None:
    return cast(ChangeRequest | None, row)


async def get(session: AsyncSession, scope: Scope, cr_id: int) -> ChangeRequest | None:
    return _one((await session.scalars(scoped(scope).where(CR.id == cr_id))).first())


async def lock(session: AsyncSession, scope: Scope, cr_id: int) -> ChangeRequest | None:
    """The request's row, locked until the transaction ends (concurrent transitions queue up)."""
    stmt = scoped(scope).where(CR.id == cr_id).with_for_update()
    return _one((await session.scalars(stmt.execution_options(populate_existing=True))).first())


async def listing(
    session: AsyncSession,
    scope: Scope,
    params: PageParams,
    *,
    states: Sequence[str] = (),
    subject: str = "",
    queue: tuple[Sequence[str], Sequence[str], int] | None = None,
) -> tuple[list[ChangeRequest], int]:
    """One page of requests in scope, with the filtered total (one count, one page query).
    ``queue`` = (states to decide, states where only the owner acts, the owner's user id)."""
    stmt = scoped(scope)
    if states:
        stmt = stmt.where(CR.state.in_(states))
    if queue is not None:
        decide, own, user_id = queue
        stmt = stmt.where(
            or_(CR.state.in_(decide), CR.state.in_(own) & (CR.owner_user_id == user_id))
        )
    if subject:
        kind, _, code = subject.partition(":")
        stmt = stmt.where(CR.subject_code == (code or kind))
        if code:
            stmt = stmt.where(CR.subject_kind == kind)
    if params.q:
        stmt = stmt.where(_search(params.q))
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    stmt, _ = order_by_param(stmt, params.sort, SORTS, "-updated")
    stmt = stmt.order_by(CR.id.desc()).limit(params.per_page).offset(params.offset)
    return cast(list[ChangeRequest], list((await session.scalars(stmt)).all())), int(total or 0)


def _search(q: str) -> Any:
    """A request number, or words of the title (Russian stemming, GIN index) or a subject code
    (both kinds listed, so the (kind, code) index serves it)."""
    if q.isdigit() and len(q) < 18:
        return CR.id == int(q)
    words = func.to_tsvector(literal_column("'russian'"), CR.title).op("@@")(
        func.plainto_tsquery(literal_column("'russian'"), q)
    )
    return or_(words, CR.subject_kind.in_(("service", "life_situation")) & (CR.subject_code == q))


async def evidence_of(
    session: AsyncSession, cr_ids: Sequence[int]
) -> dict[int, list[ChangeRequestEvidence]]:
    out: dict[int, list[ChangeRequestEvidence]] = {i: [] for i in cr_ids}
    if not cr_ids:
        return out
    rows = await session.scalars(
        select(ChangeRequestEvidence)
        .where(ChangeRequestEvidence.change_request_id.in_(cr_ids))
        .order_by(ChangeRequestEvidence.id)
    )
    for e in rows:
        out[e.change_request_id].append(e)
    return out


async def add_evidence(session: AsyncSession, cr_id: int, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(
            insert(ChangeRequestEvidence).values([{**r, "change_request_id": cr_id} for r in rows])
        )


async def add_event(session: AsyncSession, **values: Any) -> None:
    await session.execute(insert(ImprovementEvent).values(**values))


_EVENT = """INSERT INTO improvement_events
  (entity, entity_id, actor_user_id, actor_label, action, from_state, to_state, comment)
VALUES ('change_request', :id, :actor_id, :actor_label, :action,
        CAST(:from_state AS varchar), CAST(:to_state AS varchar), :comment)"""
_EVENT_AND_AUDIT_SQL = """WITH ev AS (INSERT INTO improvement_events
  (entity, entity_id, actor_user_id, actor_label, action, from_state, to_state, comment)
VALUES ('change_request', :id, :actor_id, :actor_label, :action,
        CAST(:from_state AS varchar), CAST(:to_state AS varchar), :comment))
{audit_insert}
VALUES (:actor_id, :actor_label, :audit_action, 'change_request', CAST(:id AS varchar),
        CAST(:before AS jsonb), CAST(:after AS jsonb))"""
_EVENT_AND_AUDIT = _EVENT_AND_AUDIT_SQL.format(audit_insert=AUDIT_INSERT)


async def log(
    session: AsyncSession,
    cr_id: int,
    actor: User,
    action: str,
    comment: str = "",
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    audit: tuple[str, dict[str, Any] | None, dict[str, Any] | None] | None = None,
) -> None:
    """A change request's timeline event and, with ``audit`` = (action, before, after), its
    audit entry: one statement, one round trip."""
    params: dict[str, Any] = {
        "id": cr_id,
        "actor_id": actor.id,
        "actor_label": actor.email,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "comment": comment[:4000],
    }
    if audit is None:
        await session.execute(text(_EVENT), params)
        return
    name, before, after = audit
    params |= {
        "audit_action": name,
        "before": None if before is None else json.dumps(before, ensure_ascii=False),
        "after": None if after is None else json.dumps(after, ensure_ascii=False),
    }
    await session.execute(text(_EVENT_AND_AUDIT), params)


# A transition's writes in one statement: the state and version, the timeline event, the
# audit entry and the e-mails to whoever acts next (the recipients are selected inside it).
_TRANSITION_SQL = """
WITH upd AS (
  UPDATE change_requests
  SET state = :to, outcome = coalesce(CAST(:outcome AS varchar), outcome),
      version = version + 1, updated_at = now()
  WHERE id = :id
  RETURNING id, version, updated_at, organization_id, region_code, founder_id, owner_user_id
),
ev AS (
  INSERT INTO improvement_events
    (entity, entity_id, actor_user_id, actor_label, action, from_state, to_state, comment)
  SELECT 'change_request', id, :actor_id, :actor_label, 'transition', :from_state, :to, :comment
  FROM upd
),
au AS (
  {audit_insert}
  SELECT :actor_id, :actor_label, 'transition', 'change_request', CAST(id AS varchar),
         jsonb_build_object('state', CAST(:from_state AS text)),
         jsonb_build_object('state', CAST(:to AS text))
  FROM upd
),
mail AS (
  INSERT INTO improvement_notifications (user_id, subject, text, link)
  SELECT u.id, :subject, :text, :link
  FROM upd JOIN users u ON CASE
    WHEN CAST(:owner_only AS boolean) THEN u.id = upd.owner_user_id
    ELSE u.role = ANY(CAST(:roles AS varchar[])) AND u.is_active AND (
      u.scope_kind = 'country'
      OR (u.scope_kind = 'organization' AND u.scope_organization_id = upd.organization_id)
      OR (u.scope_kind = 'region' AND u.scope_region_code = upd.region_code)
      OR (u.scope_kind = 'founder' AND u.scope_founder_id = upd.founder_id))
  END
)
SELECT version, updated_at FROM upd
"""
_TRANSITION = _TRANSITION_SQL.format(audit_insert=AUDIT_INSERT)


async def apply_transition(
    session: AsyncSession,
    cr: ChangeRequest,
    actor: User,
    to: str,
    comment: str,
    outcome: str | None,
    mail: dict[str, Any],
) -> None:
    """Write one transition of a locked request (see ``_TRANSITION``) and bring the loaded
    object up to date without reading it again. ``mail``: subject, text, link, roles (the
    recipients' roles; empty: nobody) and owner_only (the owner alone is told)."""
    row = (
        await session.execute(
            text(_TRANSITION),
            {
                "id": cr.id,
                "to": to,
                "outcome": outcome,
                "from_state": cr.state,
                "actor_id": actor.id,
                "actor_label": actor.email,
                "comment": comment[:4000],
                **mail,
            },
        )
    ).one()
    for key, value in (
        ("state", to),
        ("outcome", outcome if outcome is not None else cr.outcome),
        ("version", row.version),
        ("updated_at", row.updated_at),
    ):
        set_committed_value(cr, key, value)


async def effect_verdict(session: AsyncSession, cr_id: int) -> str | None:
    """The verdict of the request's effect assessment (``pending`` while it is measured), or
    None without one. Read by table name: the effects domain sits beside this one."""
    verdict = await session.scalar(
        text("SELECT verdict FROM effect_assessments WHERE change_request_id = :id"),
        {"id": cr_id},
    )
    return None if verdict is None else str(verdict)


async def timeline(session: AsyncSession, entity: str, entity_id: int) -> Sequence[Any]:
    e = ImprovementEvent
    stmt = (
        select(e, User.email)
        .outerjoin(User, User.id == e.actor_user_id)
        .where(e.entity == entity, e.entity_id == entity_id)
        .order_by(e.id)
    )
    return (await session.execute(stmt)).all()


async def subject_name(session: AsyncSession, kind: str, code: str) -> str | None:
    model: Any = Service if kind == "service" else LifeSituation
    name = await session.scalar(select(model.name).where(model.code == code))
    return None if name is None else str(name)


async def subject_names(session: AsyncSession, pairs: set[tuple[str, str]]) -> dict[str, str]:
    codes_s = [c for k, c in pairs if k == "service"]
    codes_l = [c for k, c in pairs if k == "life_situation"]
    out: dict[str, str] = {}
    if codes_s:
        for code, name in await session.execute(
            select(Service.code, Service.name).where(Service.code.in_(codes_s))
        ):
            out[f"service:{code}"] = name
    if codes_l:
        for code, name in await session.execute(
            select(LifeSituation.code, LifeSituation.name).where(LifeSituation.code.in_(codes_l))
        ):
            out[f"life_situation:{code}"] = name
    return out


async def organization(session: AsyncSession, org_id: int) -> Organization | None:
    return await session.get(Organization, org_id)


async def users_with_roles(
    session: AsyncSession, roles: Sequence[str], cr: ChangeRequest
) -> list[int]:
    """Active users of ``roles`` whose scope covers the request (one query)."""
    u = User
    stmt = select(u.id).where(
        u.role.in_(roles),
        u.is_active,
        or_(
            u.scope_kind == "country",
            (u.scope_kind == "organization") & (u.scope_organization_id == cr.organization_id),
            (u.scope_kind == "region") & (u.scope_region_code == cr.region_code),
            (u.scope_kind == "founder") & (u.scope_founder_id == cr.founder_id),
        ),
    )
    return [int(i) for i in (await session.scalars(stmt)).all()]


# The e-mail outbox's INSERT head, for another domain's set-based statement to compose with
# its own ``SELECT user_id, subject, text, link …`` (the table stays this domain's).
OUTBOX_INSERT = "INSERT INTO improvement_notifications (user_id, subject, text, link)"


async def notify(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(Notification).values(rows))


async def bump(session: AsyncSession, cr: ChangeRequest, **values: Any) -> None:
    await session.execute(
        update(CR)
        .where(CR.id == cr.id)
        .values(**values, version=CR.version + 1, updated_at=func.now())
    )


async def attachments(session: AsyncSession, entity: str, entity_id: int) -> Sequence[Any]:
    a = Attachment
    stmt = (
        select(a.id, a.filename, a.content_type, a.size, a.created_at)
        .where(a.entity == entity, a.entity_id == entity_id)
        .order_by(a.id)
    )
    return (await session.execute(stmt)).all()


async def attachment(session: AsyncSession, entity: str, att_id: int) -> Attachment | None:
    return (
        await session.scalars(
            select(Attachment).where(Attachment.id == att_id, Attachment.entity == entity)
        )
    ).first()


async def check_items(session: AsyncSession, cr_id: int) -> list[ControlCheckItem]:
    """The latest round's checklist."""
    last = (
        select(func.max(ControlCheckItem.round))
        .where(ControlCheckItem.change_request_id == cr_id)
        .scalar_subquery()
    )
    stmt = (
        select(ControlCheckItem)
        .where(ControlCheckItem.change_request_id == cr_id, ControlCheckItem.round == last)
        .order_by(ControlCheckItem.position)
    )
    return list((await session.scalars(stmt)).all())


async def state_counts(session: AsyncSession, scope: Scope) -> dict[str, int]:
    stmt = apply_scope(select(CR.state, func.count()).group_by(CR.state), scope, CR_SCOPE)
    return {s: int(n) for s, n in (await session.execute(stmt)).all()}


async def sources(session: AsyncSession, scope: Scope, limit: int) -> dict[str, list[Any]]:
    """Recent evidence a request can start from, in scope: problems, rising topics, drops."""
    from otklik.indicators.models import Signal
    from otklik.insights.models import InsightSignal

    org_scope = ScopeColumns(Organization.id, Organization.region_code, Organization.founder_id)
    s = InsightSignal
    insight = apply_scope(
        select(
            s.kind,
            s.organization_id,
            s.period,
            s.payload,
            Organization.short_name,
        )
        .join(Organization, Organization.id == s.organization_id)
        .where(s.kind.in_(("problem", "rising")))
        .order_by(s.period.desc(), s.id.desc())
        .limit(limit),
        scope,
        org_scope,
    )
    g = Signal
    drops = apply_scope(
        select(g.id, g.period, g.payload, Organization.id.label("organization_id"),
               Organization.short_name)
        .join(Organization, func.concat("organization:", Organization.ogrn) == g.unit)
        .where(g.kind == "indicator_drop")
        .order_by(g.created_at.desc())
        .limit(limit),
        scope,
        org_scope,
    )  # fmt: skip
    return {
        "insight": list((await session.execute(insight)).all()),
        "drops": list((await session.execute(drops)).all()),
    }


async def subject_options(session: AsyncSession) -> list[tuple[str, str]]:
    """``(kind:code, name)`` of every service and life situation, for a form's select."""
    s = await session.execute(select(Service.code, Service.name).order_by(Service.name))
    ls = await session.execute(
        select(LifeSituation.code, LifeSituation.name).order_by(LifeSituation.name)
    )
    return [(f"service:{c}", n) for c, n in s] + [
        (f"life_situation:{c}", f"Жизненная ситуация: {n}") for c, n in ls
    ]
