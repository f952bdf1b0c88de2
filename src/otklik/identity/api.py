"""JSON: who am I."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from otklik.identity.deps import ApiUser

router = APIRouter(prefix="/api/v1", tags=["identity"])


class Me(BaseModel):
    email: str
    role: str
    scope_kind: str
    scope_organization_id: int | None
    scope_region_code: str | None
    scope_founder_id: int | None


@router.get("/me", response_model=Me)
async def me(user: ApiUser) -> Me:
    return Me.model_validate(user, from_attributes=True)
