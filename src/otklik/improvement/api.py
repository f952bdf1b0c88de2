"""Change-request API: list, detail with timeline, create, transitions."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from otklik.errors import NotFound
from otklik.identity.deps import require_roles
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.identity.service import scope_of
from otklik.improvement import repository, service
from otklik.improvement.models import ChangeRequest, ChangeRequestEvidence
from otklik.improvement.schemas import (
    ChangeRequestDetail,
    ChangeRequestIn,
    ChangeRequestList,
    ChangeRequestOut,
    EventOut,
    EvidenceOut,
    HypothesisIO,
    SubjectOut,
    TransitionIn,
)
from otklik.improvement.workflow import PROPOSERS
from otklik.intake.schemas import ErrorOut
from otklik.kit.pagination import PageParams
from otklik.kit.web import DB

router = APIRouter(prefix="/api/v1", tags=["change-requests"])
READERS = (
    *PROPOSERS,
    Role.organization,
    Role.regional_authority,
    Role.federal_authority,
    Role.wg_secretary,
    Role.subcommission_secretary,
    Role.portal_operator,
    Role.admin,
)
Reader = Annotated[User, Depends(require_roles(*READERS, api=True))]
# checked before the body, so a citizen is refused (403), not told how to fill the form (422)
Proposer = Annotated[User, Depends(require_roles(*PROPOSERS, api=True))]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "unauthorized, invalid_token"},
    403: {"model": ErrorOut, "description": "forbidden, role_not_allowed, out_of_scope"},
    404: {"model": ErrorOut, "description": "not_found"},
    422: {"model": ErrorOut, "description": "validation_failed, unknown_subject, ..."},
}


def out(cr: ChangeRequest, evidence: list[ChangeRequestEvidence]) -> dict[str, Any]:
    hyp = None
    if cr.hyp_indicator is not None and cr.hyp_from is not None and cr.hyp_to is not None:
        hyp = HypothesisIO.model_validate(
            {
                "indicator": cr.hyp_indicator,
                "unit": cr.hyp_unit or "",
                "from": float(cr.hyp_from),
                "to": float(cr.hyp_to),
                "by": cr.hyp_by,
            }
        )
    return {
        "id": cr.id,
        "title": cr.title,
        "state": cr.state,
        "outcome": cr.outcome,
        "subject": SubjectOut(kind=cr.subject_kind, code=cr.subject_code),
        "owner": cr.owner_label,
        "hypothesis": hyp,
        "evidence": [EvidenceOut(kind=e.kind, ref=e.ref, snapshot=e.snapshot) for e in evidence],
        "planned_release": cr.planned_release,
        "version": cr.version,
    }


@router.get(
    "/change-requests",
    response_model=ChangeRequestList,
    responses=ERRORS,
    summary="Запросы на изменение в вашей области доступа",
)
async def list_change_requests(
    session: DB,
    user: Reader,
    state: Annotated[str, Query(max_length=40, description="состояние")] = "",
    subject: Annotated[str, Query(max_length=120, description="код или вид:код")] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ChangeRequestList:
    params = PageParams.parse(page, per_page, "", q)
    states = [state] if state else []
    items, total = await repository.listing(
        session, scope_of(user), params, states=states, subject=subject
    )
    ev = await repository.evidence_of(session, [c.id for c in items])
    return ChangeRequestList(
        items=[ChangeRequestOut(**out(c, ev[c.id])) for c in items], total=total
    )


async def _detail(
    session: DB, user: User, cr_id: int, cr: ChangeRequest | None = None
) -> ChangeRequestDetail:
    """The detail; ``cr`` when the caller already holds the row (no second read)."""
    if cr is None:
        cr = await repository.get(session, scope_of(user), cr_id)
    if cr is None:
        raise NotFound("Запрос на изменение не найден или вне вашей области доступа.")
    ev = await repository.evidence_of(session, [cr.id])
    timeline = [
        EventOut(
            at=e.at,
            actor=e.actor_label,
            action=e.action,
            from_state=e.from_state,
            to_state=e.to_state,
            comment=e.comment,
        )
        for e, _email in await repository.timeline(session, "change_request", cr.id)
    ]
    return ChangeRequestDetail(
        **out(cr, ev[cr.id]), problem=cr.problem, change=cr.change, timeline=timeline
    )


@router.get(
    "/change-requests/{cr_id}",
    response_model=ChangeRequestDetail,
    responses=ERRORS,
    summary="Запрос на изменение с историей (timeline)",
)
async def get_change_request(session: DB, user: Reader, cr_id: int) -> ChangeRequestDetail:
    return await _detail(session, user, cr_id)


@router.post(
    "/change-requests",
    response_model=ChangeRequestDetail,
    status_code=201,
    responses=ERRORS,
    summary="Создать запрос на изменение (черновик)",
)
async def create(session: DB, user: Proposer, body: ChangeRequestIn) -> ChangeRequestDetail:
    hyp = None
    if body.hypothesis is not None:
        h = body.hypothesis
        hyp = service.Hypothesis(
            h.indicator, h.unit, Decimal(str(h.from_)), Decimal(str(h.to)), h.by
        )
    cr = await service.create_change_request(
        session,
        user,
        subject_kind=body.subject_kind,
        subject_code=body.subject_code,
        title=body.title,
        problem=body.problem,
        evidence=[(e.kind, e.ref) for e in body.evidence],
        hypothesis=hyp,
        change=body.change,
        planned_release=body.planned_release,
        organization_id=body.organization_id,
        region_code=body.region_code,
    )
    return await _detail(session, user, cr.id)


@router.post(
    "/change-requests/{cr_id}/transitions",
    response_model=ChangeRequestDetail,
    responses={
        **ERRORS,
        409: {"model": ErrorOut, "description": "transition_not_allowed, stale_version, ..."},
    },
    summary="Перевести запрос в другое состояние",
)
async def post_transition(
    session: DB, user: Reader, cr_id: int, body: TransitionIn
) -> ChangeRequestDetail:
    cr = await service.transition(
        session, user, cr_id, body.to, body.comment, body.outcome, body.version
    )
    return await _detail(session, user, cr_id, cr)
