"""Roles, their Russian names and the scope kind each role takes."""

from __future__ import annotations

from enum import StrEnum

from otklik.kit.scope import ScopeKind  # re-exported: identity's scope kinds live in kit


class Role(StrEnum):
    citizen = "citizen"
    organization = "organization"
    regional_authority = "regional_authority"
    federal_authority = "federal_authority"
    coordinator = "coordinator"
    analyst = "analyst"
    wg_secretary = "wg_secretary"
    portal_operator = "portal_operator"
    participant = "participant"
    subcommission_secretary = "subcommission_secretary"
    lab = "lab"
    is_operator = "is_operator"
    admin = "admin"


ROLE_LABELS: dict[Role, str] = {
    Role.citizen: "Гражданин",
    Role.organization: "Организация социальной сферы",
    Role.regional_authority: "Орган власти субъекта РФ",
    Role.federal_authority: "Федеральный орган власти",
    Role.coordinator: "Координатор (Минтруд России)",
    Role.analyst: "Аналитик (Аналитический центр)",
    Role.wg_secretary: "Секретарь рабочей группы",
    Role.portal_operator: "Оператор портала (Минцифры России)",
    Role.participant: "Участник эксперимента",
    Role.subcommission_secretary: "Секретарь подкомиссии",
    Role.lab: "Лаборатория пользовательского тестирования",
    Role.is_operator: "Оператор информационной системы",
    Role.admin: "Администратор",
}

# Which scope kinds a role may hold; the first is the default.
ROLE_SCOPES: dict[Role, tuple[ScopeKind, ...]] = {
    Role.citizen: (ScopeKind.self_,),
    Role.organization: (ScopeKind.organization,),
    Role.regional_authority: (ScopeKind.region,),
    Role.federal_authority: (ScopeKind.founder,),
    Role.coordinator: (ScopeKind.country,),
    Role.analyst: (ScopeKind.country, ScopeKind.region),
    Role.wg_secretary: (ScopeKind.country,),
    Role.portal_operator: (ScopeKind.country,),
    Role.participant: (ScopeKind.founder, ScopeKind.region, ScopeKind.organization),
    Role.subcommission_secretary: (ScopeKind.country,),
    Role.lab: (ScopeKind.country, ScopeKind.region),
    Role.is_operator: (ScopeKind.country, ScopeKind.region, ScopeKind.founder),
    Role.admin: (ScopeKind.country,),
}

# Who reads the figures of decree 882 (indicators, funnels), each within their scope; comment
# text is narrower (insights). The roles of decree 923 are not readers of these figures.
INDICATOR_READERS: tuple[Role, ...] = (
    Role.organization,
    Role.regional_authority,
    Role.federal_authority,
    Role.coordinator,
    Role.analyst,
    Role.wg_secretary,
    Role.admin,
)

# Who may read citizens' (masked) comment text; every other role sees figures and flags only
# (docs/insights.md).
COMMENT_TEXT_ROLES: frozenset[Role] = frozenset(
    {
        Role.organization,
        Role.regional_authority,
        Role.federal_authority,
        Role.coordinator,
        Role.admin,
    }
)

SCOPE_LABELS: dict[ScopeKind, str] = {
    ScopeKind.self_: "личные данные",
    ScopeKind.organization: "организация",
    ScopeKind.region: "субъект РФ",
    ScopeKind.founder: "учредитель",
    ScopeKind.country: "вся страна",
}
