"""The authorization matrix's rule type and the rules of the decree-923 packages.

Role sets are written out here, not imported from the packages: the matrix states the intended
policy, so a change of a package's role tuple must show up as a failing test. Ids in ``params``
are made up, so an allowed call answers 404 (the object does not exist) and a refused one 403.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from otklik.identity.roles import Role


@dataclass(frozen=True)
class Rule:
    """Who may call a route, what its path's object is, and what an allowed call answers."""

    roles: frozenset[Role] | None
    ok: int = 200
    scoped: str | None = None  # "ogrn", "org_id": the path names an organization; "region",
    # "founder": its ``code`` names the organization's region or founder
    params: dict[str, str] = field(default_factory=dict)  # fixed values of other path params
    out: int = 404  # an organization outside the scope: as if it did not exist
    signed_in: int | None = None  # a public route answering a signed-in user differently
    json: dict[str, str] | None = None  # a valid body, so that only the credentials decide
    form: dict[str, str] = field(default_factory=dict)  # form fields besides the CSRF token
    query: str = ""  # required query parameters (made-up values)
    by_role: dict[Role, int] = field(default_factory=dict)  # an allowed role answered otherwise


R = Role
NONE = "999999999"  # an id no object has
REPORT_READERS = frozenset(
    {
        R.organization,
        R.regional_authority,
        R.federal_authority,
        R.coordinator,
        R.analyst,
        R.wg_secretary,
        R.admin,
    }
)

# improvement: change requests, passports (every 923 role reads; citizens, IS operators don't)
CR_READERS = frozenset(
    {
        R.organization,
        R.regional_authority,
        R.federal_authority,
        R.coordinator,
        R.analyst,
        R.wg_secretary,
        R.portal_operator,
        R.participant,
        R.subcommission_secretary,
        R.lab,
        R.admin,
    }
)
PROPOSERS = frozenset({R.participant, R.analyst, R.lab, R.coordinator})
SECRETARIES = frozenset({R.wg_secretary, R.subcommission_secretary})
# roadmaps, МСЗУ, priorities: the 923 readers without organizations and labs
PLAN_READERS = CR_READERS - {R.organization, R.lab}
PLANNERS = frozenset({R.participant, R.analyst})  # create, edit and re-plan roadmaps
# incidents: readers; actors are readers less the analyst and the subcommission secretary
INCIDENT_READERS = frozenset(
    {
        R.organization,
        R.regional_authority,
        R.federal_authority,
        R.coordinator,
        R.analyst,
        R.participant,
        R.subcommission_secretary,
        R.admin,
    }
)
INCIDENT_ACTORS = INCIDENT_READERS - {R.analyst, R.subcommission_secretary}
SUBCOMMISSION = frozenset({R.subcommission_secretary})
CR_FROM_EVIDENCE = frozenset({R.participant, R.coordinator})  # a change request from a finding
# effects and best practices
EFFECT_READERS = INCIDENT_READERS | {R.wg_secretary}
EFFECT_ASSESSORS = frozenset({R.analyst, R.admin})
# labs
LAB_READERS = frozenset({R.lab, R.analyst, R.coordinator, R.participant, R.admin})
LAB_STAFF = frozenset({R.lab, R.admin})
# МСЗУ statistics and measures
OPERATOR = frozenset({R.is_operator})
STAT_CLOSERS = frozenset({R.coordinator, R.analyst})
ANALYST = frozenset({R.analyst})
PORTAL = frozenset({R.portal_operator})
COORDINATOR = frozenset({R.coordinator})
MEASURE_EDITORS = frozenset({R.coordinator, R.analyst, R.regional_authority, R.admin})
EXCHANGE = frozenset({R.coordinator, R.analyst, R.admin})
# «Вы сказали — мы сделали»: the organization writes, its authority reviews
AUTHORITIES = frozenset({R.regional_authority, R.federal_authority})
YSWD_MEMBERS = AUTHORITIES | {R.organization}

CR = {"cr_id": NONE}
MEETING = {"meeting_id": NONE}
PASSPORT = {"pid": NONE}
ROADMAP = {"roadmap_id": NONE}
MEASURE = {"roadmap_id": NONE, "measure_id": NONE}
INCIDENT = {"incident_id": NONE}
ASSESSMENT = {"assessment_id": NONE}
STUDY = {"study_id": NONE}
LIST = {"number": NONE}
NO_EFFECT = {"reason": "нет данных для оценки"}
KPI_CODE = {"code": "region:77"}
# region 77 lies outside a founder's or an organization's scope: 404, as a missing participant
KPI_REFUSED = {R.federal_authority: 404, R.participant: 404}

DECREE_923: dict[tuple[str, str], Rule] = {
    # improvement: change requests (JSON)
    ("GET", "/api/v1/change-requests"): Rule(CR_READERS),
    ("GET", "/api/v1/change-requests/{cr_id}"): Rule(CR_READERS, ok=404, params=CR),
    ("POST", "/api/v1/change-requests"): Rule(PROPOSERS, ok=422, json={}),
    ("POST", "/api/v1/change-requests/{cr_id}/transitions"): Rule(
        CR_READERS, ok=404, params=CR, json={"to": "submitted"}
    ),
    # improvement: change request pages
    ("GET", "/improvement"): Rule(CR_READERS),
    ("GET", "/improvement/changes"): Rule(CR_READERS),
    ("GET", "/improvement/sources"): Rule(CR_READERS),
    ("GET", "/improvement/changes/new"): Rule(PROPOSERS),
    ("POST", "/improvement/changes/new"): Rule(PROPOSERS, ok=400),
    ("GET", "/improvement/changes/{cr_id}"): Rule(CR_READERS, ok=404, params=CR),
    ("POST", "/improvement/changes/{cr_id}/edit"): Rule(PROPOSERS, ok=400, params=CR),
    ("POST", "/improvement/changes/{cr_id}/transition"): Rule(CR_READERS, ok=400, params=CR),
    ("POST", "/improvement/changes/{cr_id}/comment"): Rule(CR_READERS, ok=400, params=CR),
    ("POST", "/improvement/changes/{cr_id}/attachments"): Rule(CR_READERS, ok=400, params=CR),
    ("GET", "/improvement/changes/{cr_id}/attachments/{att_id}"): Rule(
        CR_READERS, ok=404, params={**CR, "att_id": NONE}
    ),
    # the control check is the Analytical Centre's (checked before the request is looked up)
    ("POST", "/improvement/changes/{cr_id}/check"): Rule(ANALYST, ok=404, params=CR),
    # improvement: meetings of the working group and the subcommission
    ("GET", "/improvement/meetings"): Rule(SECRETARIES),
    ("POST", "/improvement/meetings"): Rule(SECRETARIES, ok=400),
    ("GET", "/improvement/meetings/{meeting_id}"): Rule(SECRETARIES, ok=404, params=MEETING),
    ("POST", "/improvement/meetings/{meeting_id}/items"): Rule(
        SECRETARIES, ok=404, params=MEETING, form={"pick": f"change_request:{NONE}"}
    ),
    ("POST", "/improvement/meetings/{meeting_id}/protocol"): Rule(
        SECRETARIES, ok=400, params=MEETING
    ),
    ("POST", "/improvement/meetings/{meeting_id}/items/{item_id}"): Rule(
        SECRETARIES, ok=400, params={**MEETING, "item_id": NONE}
    ),
    ("GET", "/improvement/meetings/{meeting_id}/{kind}.docx"): Rule(
        SECRETARIES, ok=404, params={**MEETING, "kind": "agenda"}
    ),
    # improvement: service passports
    ("GET", "/improvement/passports"): Rule(CR_READERS),
    ("GET", "/improvement/passports/diff"): Rule(CR_READERS, ok=404, query=f"?a={NONE}&b={NONE}"),
    ("GET", "/improvement/passports/{pid}"): Rule(CR_READERS, ok=404, params=PASSPORT),
    ("POST", "/improvement/passports/{pid}/transition"): Rule(CR_READERS, ok=400, params=PASSPORT),
    ("POST", "/improvement/passports/{pid}/new-version"): Rule(CR_READERS, ok=404, params=PASSPORT),
    ("POST", "/improvement/passports/{pid}/edit"): Rule(CR_READERS, ok=400, params=PASSPORT),
    ("GET", "/improvement/passports/{pid}/export.{fmt}"): Rule(
        CR_READERS, ok=404, params={**PASSPORT, "fmt": "json"}
    ),
    ("POST", "/improvement/passports/import"): Rule(PROPOSERS, ok=400),
    # improvement: service passports (JSON)
    ("GET", "/api/v1/passports"): Rule(CR_READERS),
    ("GET", "/api/v1/passports/{pid}"): Rule(CR_READERS, ok=404, params=PASSPORT),
    ("GET", "/api/v1/passports/{pid}/export"): Rule(CR_READERS, ok=404, params=PASSPORT),
    ("POST", "/api/v1/passports"): Rule(PROPOSERS, ok=422, json={}),
    # roadmaps
    ("GET", "/api/v1/roadmaps"): Rule(PLAN_READERS),
    ("GET", "/api/v1/roadmaps/{roadmap_id}"): Rule(PLAN_READERS, ok=404, params=ROADMAP),
    ("POST", "/api/v1/roadmaps"): Rule(PLAN_READERS, ok=422, json={}),
    ("POST", "/api/v1/roadmaps/{roadmap_id}/transitions"): Rule(
        PLAN_READERS, ok=404, params=ROADMAP, json={"to": "submitted"}
    ),
    ("POST", "/api/v1/roadmaps/{roadmap_id}/measures/{measure_id}/reports"): Rule(
        PLAN_READERS, ok=422, params=MEASURE, json={}
    ),
    ("POST", "/api/v1/roadmaps/{roadmap_id}/measures/{measure_id}/plan"): Rule(
        PLAN_READERS, ok=422, params=MEASURE, json={}
    ),
    ("GET", "/roadmaps"): Rule(PLAN_READERS),
    ("GET", "/roadmaps/{roadmap_id}"): Rule(PLAN_READERS, ok=404, params=ROADMAP),
    ("POST", "/roadmaps/{roadmap_id}/transitions"): Rule(PLAN_READERS, ok=400, params=ROADMAP),
    ("GET", "/roadmaps/{roadmap_id}/measures/{measure_id}/report"): Rule(
        PLAN_READERS, ok=404, params=MEASURE
    ),
    ("POST", "/roadmaps/{roadmap_id}/measures/{measure_id}/report"): Rule(
        PLAN_READERS, ok=404, params=MEASURE
    ),
    # roadmap planning pages: create and edit a draft, re-plan a measure
    ("GET", "/roadmaps/new"): Rule(PLANNERS),
    ("POST", "/roadmaps/new"): Rule(PLANNERS, ok=422),
    ("GET", "/roadmaps/{roadmap_id}/edit"): Rule(PLANNERS, ok=404, params=ROADMAP),
    ("POST", "/roadmaps/{roadmap_id}/edit"): Rule(PLANNERS, ok=404, params=ROADMAP),
    ("GET", "/roadmaps/{roadmap_id}/measures/{measure_id}/plan"): Rule(
        PLANNERS, ok=404, params=MEASURE
    ),
    ("POST", "/roadmaps/{roadmap_id}/measures/{measure_id}/plan"): Rule(
        PLANNERS, ok=404, params=MEASURE
    ),
    # incidents
    ("GET", "/api/v1/incidents"): Rule(INCIDENT_READERS),
    ("GET", "/api/v1/incidents/{incident_id}"): Rule(INCIDENT_READERS, ok=404, params=INCIDENT),
    ("POST", "/api/v1/incidents"): Rule(INCIDENT_ACTORS, ok=422, json={}),
    ("POST", "/api/v1/incidents/{incident_id}/transitions"): Rule(
        INCIDENT_ACTORS, ok=404, params=INCIDENT, json={"action": "acknowledge"}
    ),
    ("POST", "/api/v1/incidents/{incident_id}/decision"): Rule(
        SUBCOMMISSION, ok=422, params=INCIDENT, json={}
    ),
    ("POST", "/api/v1/incidents/{incident_id}/owner"): Rule(
        INCIDENT_ACTORS, ok=422, params=INCIDENT, json={}
    ),
    ("POST", "/api/v1/incidents/{incident_id}/review"): Rule(
        INCIDENT_ACTORS, ok=422, params=INCIDENT, json={}
    ),
    ("GET", "/incidents"): Rule(INCIDENT_READERS),
    ("GET", "/incidents/board"): Rule(INCIDENT_READERS),
    ("GET", "/incidents/new"): Rule(INCIDENT_ACTORS),
    ("POST", "/incidents/new"): Rule(INCIDENT_ACTORS, ok=400),
    ("GET", "/incidents/{incident_id}"): Rule(INCIDENT_READERS, ok=404, params=INCIDENT),
    ("POST", "/incidents/{incident_id}/transitions"): Rule(
        INCIDENT_ACTORS, ok=400, params=INCIDENT
    ),
    ("POST", "/incidents/{incident_id}/owner"): Rule(INCIDENT_ACTORS, ok=400, params=INCIDENT),
    ("POST", "/incidents/{incident_id}/change-request"): Rule(
        CR_FROM_EVIDENCE, ok=400, params=INCIDENT
    ),
    ("POST", "/incidents/{incident_id}/decision"): Rule(SUBCOMMISSION, ok=400, params=INCIDENT),
    ("POST", "/incidents/{incident_id}/review"): Rule(INCIDENT_ACTORS, ok=400, params=INCIDENT),
    # effects of changes and best practices
    ("GET", "/api/v1/effects/{assessment_id}"): Rule(EFFECT_READERS, ok=404, params=ASSESSMENT),
    ("POST", "/api/v1/effects/{assessment_id}/compute"): Rule(
        EFFECT_ASSESSORS, ok=404, params=ASSESSMENT
    ),
    ("GET", "/api/v1/change-requests/{cr_id}/effect"): Rule(EFFECT_READERS, ok=404, params=CR),
    ("POST", "/api/v1/change-requests/{cr_id}/effect"): Rule(
        EFFECT_ASSESSORS, ok=404, params=CR, json={}
    ),
    ("POST", "/api/v1/change-requests/{cr_id}/close-with-effect"): Rule(
        EFFECT_ASSESSORS, ok=404, params=CR, json=NO_EFFECT
    ),
    ("GET", "/effects"): Rule(EFFECT_READERS),
    ("POST", "/effects/change-requests/{cr_id}/assess"): Rule(EFFECT_ASSESSORS, ok=404, params=CR),
    ("POST", "/effects/change-requests/{cr_id}/close"): Rule(
        EFFECT_ASSESSORS, ok=404, params=CR, form=NO_EFFECT
    ),
    ("GET", "/practices"): Rule(EFFECT_READERS),
    ("POST", "/practices/{assessment_id}/adopt"): Rule(CR_FROM_EVIDENCE, ok=400, params=ASSESSMENT),
    # «Вы сказали — мы сделали» (the public page is in the matrix's own public rules)
    ("GET", "/yswd"): Rule(YSWD_MEMBERS),
    ("POST", "/yswd/entries"): Rule(
        frozenset({R.organization}),
        ok=422,
        form={"topic": "нет", "said": "очереди", "done": "сделали", "done_on": "2026-01-01"},
    ),
    ("POST", "/yswd/entries/{entry_id}/review"): Rule(
        AUTHORITIES, ok=404, params={"entry_id": NONE}, form={"decision": "approve"}
    ),
    # user-testing labs
    ("GET", "/api/v1/labs/studies/{study_id}"): Rule(LAB_READERS, ok=404, params=STUDY),
    ("GET", "/labs"): Rule(LAB_READERS),
    ("POST", "/labs"): Rule(LAB_STAFF, ok=400),
    ("GET", "/labs/{study_id}"): Rule(LAB_READERS, ok=404, params=STUDY),
    ("POST", "/labs/{study_id}/upload"): Rule(LAB_STAFF, ok=400, params=STUDY),
    ("POST", "/labs/{study_id}/findings"): Rule(LAB_STAFF, ok=400, params=STUDY),
    ("POST", "/labs/{study_id}/findings/{finding_id}/change-request"): Rule(
        LAB_STAFF, ok=404, params={**STUDY, "finding_id": NONE}
    ),
    # МСЗУ: the list, shares, statistics (the statistics feed takes an information system's key)
    ("POST", "/api/v1/service-statistics"): Rule(frozenset(), ok=401, json={}),
    ("GET", "/api/v1/mszu/shares"): Rule(PLAN_READERS),
    ("GET", "/api/v1/mszu/list/{number}"): Rule(PLAN_READERS, ok=404, params=LIST),
    ("GET", "/mszu"): Rule(PLAN_READERS),
    # each step of the list belongs to one role, checked before the version is looked up
    ("POST", "/mszu/list"): Rule(ANALYST, ok=303),
    ("GET", "/mszu/list/{number}"): Rule(PLAN_READERS, ok=404, params=LIST),
    ("POST", "/mszu/list/{number}/items"): Rule(ANALYST, ok=404, params=LIST),
    ("POST", "/mszu/list/{number}/agree"): Rule(PORTAL, ok=404, params=LIST),
    ("POST", "/mszu/list/{number}/approve"): Rule(SUBCOMMISSION, ok=404, params=LIST),
    ("POST", "/mszu/list/{number}/return"): Rule(PLAN_READERS, ok=404, params=LIST),
    ("GET", "/mszu/diff"): Rule(PLAN_READERS, ok=404, query=f"?old={NONE}&new=1"),
    ("GET", "/mszu/shares"): Rule(PLAN_READERS),
    ("POST", "/mszu/trajectory"): Rule(COORDINATOR, ok=303),
    ("GET", "/mszu/statistics"): Rule(PLAN_READERS),
    ("POST", "/mszu/statistics/close"): Rule(STAT_CLOSERS, ok=400),
    ("GET", "/mszu/statistics/upload"): Rule(OPERATOR),
    ("POST", "/mszu/statistics/upload"): Rule(OPERATOR, ok=400),
    # priorities, participants' indicators, measures
    ("GET", "/api/v1/priorities"): Rule(PLAN_READERS, ok=404),  # no weights version yet
    ("POST", "/api/v1/priorities/criteria"): Rule(ANALYST, ok=422, json={}),
    # a participant's figures through the one scope filter: region 77 for the country and
    # region 77 scopes; 404 (as if missing) for a founder- or organization-scoped user, who
    # sees its own founder or organization (see tests/priorities/test_kpis.py)
    ("GET", "/api/v1/participants/{code}/kpis"): Rule(
        PLAN_READERS, params=KPI_CODE, by_role=KPI_REFUSED
    ),
    ("GET", "/priorities"): Rule(PLAN_READERS),
    ("POST", "/priorities/criteria"): Rule(ANALYST, ok=422),
    ("GET", "/participants"): Rule(PLAN_READERS),
    ("GET", "/participants/{code}"): Rule(PLAN_READERS, params=KPI_CODE, by_role=KPI_REFUSED),
    ("GET", "/measures"): Rule(MEASURE_EDITORS),
    ("POST", "/measures"): Rule(MEASURE_EDITORS, ok=422),
    # exchange with ИАС МКГУ
    ("GET", "/exchange/iasmkgu"): Rule(EXCHANGE),
    # quarterly reports: the readers of decree 882's figures, each within their scope
    ("GET", "/reports"): Rule(REPORT_READERS),
    # an empty form: a precise Russian error on the page
    ("POST", "/reports"): Rule(REPORT_READERS, ok=400),
    ("GET", "/reports/{report_id}/download"): Rule(
        REPORT_READERS, ok=404, params={"report_id": "00000000-0000-0000-0000-000000000000"}
    ),
}

# open data and public pages (issue 15): anyone, signed in or not; the period defaults to the
# last published quarter, so every call answers 200 even with no data
OPEN_DATA: dict[tuple[str, str], Rule] = {
    **{
        ("GET", f"/api/open/v1/{name}.{fmt}"): Rule(None)
        for name in ("organizations", "regions", "types", "founders")
        for fmt in ("csv", "json")
    },
    ("GET", "/api/open/v1/dictionary"): Rule(None),
    ("GET", "/api/open/v1/quarters"): Rule(None),
    ("GET", "/api/open/v1/organizations/{ogrn}"): Rule(None, params={"ogrn": "HOME"}),
    ("GET", "/opendata"): Rule(None),
    ("GET", "/o/{ogrn}"): Rule(None, params={"ogrn": "HOME"}),
    ("GET", "/r"): Rule(None),
    ("GET", "/r/{code}"): Rule(None, params={"code": "77"}),
    ("GET", "/search"): Rule(None, query="?q=Тест"),
    ("GET", "/sitemap.xml"): Rule(None),
    ("GET", "/robots.txt"): Rule(None),
}
DECREE_923.update(OPEN_DATA)
