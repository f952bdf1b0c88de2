"""Cabinet data: what each role's pages show, assembled from the indicator engine only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.cabinets import repository
from otklik.cabinets.repository import Filters, Moments
from otklik.errors import NotFound
from otklik.identity.models import User
from otklik.identity.roles import COMMENT_TEXT_ROLES, Role
from otklik.identity.service import scope_of
from otklik.indicators import fixfirst, series, tables
from otklik.indicators import repository as ind_repo
from otklik.indicators import service as ind
from otklik.indicators.disclosure import shown
from otklik.indicators.methodology import Methodology
from otklik.indicators.periods import (
    Period,
    headline_windows,
    last_complete_month,
    ranking_windows,
    year_of,
)
from otklik.indicators.repository import UnitFilter
from otklik.indicators.schemas import IndicatorsOut
from otklik.indicators.stats import wilson
from otklik.indicators.tables import BIN_LABELS, OrgTable, band
from otklik.insights import taxonomy
from otklik.insights.stats import Group, complement, welch
from otklik.kit.scope import Scope
from otklik.registry.models import Founder, Organization

__all__ = ["BIN_LABELS", "OrgTable", "band"]
PER_PAGE = 25
COMMENTS_PER_PAGE = 20
MIN_OTHERS = 3  # other organizations answered about, for a comparison group to be shown


@dataclass
class Dashboard:
    data: IndicatorsOut
    trend: list[dict[str, Any]]
    group: IndicatorsOut
    organization_id: int
    comments: list[Any] = field(default_factory=list)
    comments_total: int = 0
    comments_shown: bool = False
    comments_allowed: bool = True  # False: the viewer's role sees figures only


def withheld(out: IndicatorsOut) -> IndicatorsOut:
    """``out`` with every score hidden ("недостаточно данных")."""
    gone = {
        "mean": None,
        "ci_low": None,
        "ci_high": None,
        "csat": None,
        "csat_ci_low": None,
        "csat_ci_high": None,
        "suppressed": True,
    }
    return out.model_copy(
        update={
            "items": [i.model_copy(update=gone) for i in out.items],
            "integral": out.integral.model_copy(
                update={"value": None, "ci_low": None, "ci_high": None, "suppressed": True}
            ),
        }
    )


async def organization_dashboard(
    session: AsyncSession,
    user: User,
    ogrn: str,
    period: Period,
    m: Methodology,
    today: date,
    *,
    q: str = "",
    score: int | None = None,
    page: int = 1,
) -> Dashboard:
    """Headline indicators, trend, comparison group and masked comments of one organization."""
    scope = scope_of(user)
    unit = await ind.resolve_unit(session, f"organization:{ogrn}")
    await ind.check_scope(session, scope, unit)
    data = await ind.compute(session, scope, unit, period, m, today)
    org = await session.get(Organization, int(unit.target_id))
    if org is None:
        raise NotFound()
    # The comparison group is an aggregate of the whole type and region, read country-wide on
    # purpose (it shows no organization's own figures). Its cells are protected as the group
    # minus the viewer's own organization, and it is withheld unless at least three other
    # organizations were answered about: otherwise a member could subtract its own answers.
    group_filter = UnitFilter(
        and_(Organization.type_code == org.type_code, Organization.region_code == org.region_code)
    )
    group_unit = ind.Unit("group", f"{org.type_code}:{org.region_code}", "", group_filter)
    group = await ind.compute(session, Scope.country(), group_unit, period, m, today, minus=unit)
    others = await repository.other_responding(session, org, period.start, period.end)
    if others < MIN_OTHERS or group.counts.responses - data.counts.responses < m.min_n:
        group = withheld(group)
    dash = Dashboard(data, await series.trend(session, scope, unit, period, m), group, org.id)
    dash.comments_allowed = user.role in COMMENT_TEXT_ROLES
    shown_any = not data.integral.suppressed or any(not i.suppressed for i in data.items)
    if dash.comments_allowed and shown_any:
        dash.comments_shown = data.counts.responses >= m.min_n
    if dash.comments_shown:
        dash.comments, dash.comments_total = await ind_repo.comments(
            session,
            scope,
            org.id,
            period.start,
            period.end,
            q=q,
            score=score,
            limit=COMMENTS_PER_PAGE,
            offset=(page - 1) * COMMENTS_PER_PAGE,
        )
    return dash


async def organization_table(
    session: AsyncSession,
    user: User,
    period: Period,
    m: Methodology,
    today: date,
    f: Filters,
    sort: str,
    page: int,
    per_page: int = PER_PAGE,
) -> OrgTable:
    """One page of the organizations in scope with their shown figures."""
    return await tables.organization_table(
        session, scope_of(user), period, m, today, f, sort, page, per_page
    )


async def distribution(
    session: AsyncSession, user: User, period: Period, m: Methodology, today: date
) -> list[tuple[str, int]]:
    return await tables.distribution(session, scope_of(user), period, m, today)


async def regions(
    session: AsyncSession, user: User, period: Period, m: Methodology, today: date
) -> list[dict[str, Any]]:
    return await tables.regions(session, scope_of(user), period, m, today)


async def filter_options(session: AsyncSession, user: User) -> tuple[list[Any], list[Any]]:
    return await repository.filter_options(session, scope_of(user))


# --- The landing cabinet and "fix first" (issue 16) -------------------------------------


@dataclass
class Window:
    """The period a figure is shown for, and why that one."""

    period: Period
    widened: bool  # a longer window than the first candidate, for want of answers
    first: Period  # the first candidate (what "widened" is measured against)
    enough: bool  # the chosen window has enough answers to show figures


async def landing_unit(session: AsyncSession, user: User) -> ind.Unit | None:
    """The unit a role's landing is about: its organization, region, founder or the country."""
    scope = scope_of(user)
    if scope.kind.value == "organization" and user.scope_organization_id:
        org = await session.get(Organization, user.scope_organization_id)
        return await ind.resolve_unit(session, f"organization:{org.ogrn}") if org else None
    if scope.kind.value == "region" and user.scope_region_code:
        return await ind.resolve_unit(session, f"region:{user.scope_region_code}")
    if scope.kind.value == "founder" and user.scope_founder_id:
        founder = await session.get(Founder, user.scope_founder_id)
        return await ind.resolve_unit(session, f"founder:{founder.code}") if founder else None
    if scope.kind.value == "country":
        return await ind.resolve_unit(session, "country:RU")
    return None


async def choose_window(
    session: AsyncSession, scope: Scope, unit: ind.Unit, m: Methodology, candidates: list[Period]
) -> Window:
    """The first candidate whose answers reach the small-number threshold (one count query
    per candidate tried); the last candidate when none does."""
    for p in candidates:
        counts = await ind_repo.item_means(session, scope, unit.filter, p.start, p.end, ["*"])
        if counts.get("*", ind.EMPTY)["n"] >= m.min_n:
            return Window(p, p != candidates[0], candidates[0], True)
    return Window(candidates[-1], len(candidates) > 1, candidates[0], False)


@dataclass
class FixFirst:
    window: Window
    fixes: list[fixfirst.Fix]
    data: IndicatorsOut | None  # the unit's figures over the window
    topics_total: int = 0  # answers with an overall score in the window (topics' base)


def _item_figures(data: IndicatorsOut) -> list[fixfirst.ItemFigure]:
    return [
        fixfirst.ItemFigure(i.code, i.label, i.mean, i.ci_low, i.ci_high, i.n)
        for i in data.items
        if i.mean is not None
    ]


def _topic_figures(
    total: Moments, topics: dict[str, Moments], names: dict[str, str]
) -> list[fixfirst.TopicFigure]:
    n, s, ss = total
    if n < 2:
        return []
    whole = Group(n, s / n, max(0.0, (ss - s * s / n) / (n - 1)))
    out = []
    for code, (k, ts, tss) in topics.items():
        if code not in names or k < 2:
            continue
        part = Group(k, ts / k, max(0.0, (tss - ts * ts / k) / (k - 1)))
        rest = complement(whole, part)
        w = welch(part, rest) if rest else None
        if w is None:
            continue
        out.append(fixfirst.TopicFigure(code, names[code], k, n, w.diff, w.low, w.high))
    return out


async def fix_first(
    session: AsyncSession,
    scope: Scope,
    unit: ind.Unit,
    m: Methodology,
    today: date,
    period: Period | None = None,
) -> FixFirst:
    """Items and topics ranked by the expected gain if fixed, over ``period`` or the first
    ranking window with enough answers (``indicators.fixfirst``)."""
    win = (
        Window(period, False, period, True)
        if period
        else await choose_window(session, scope, unit, m, ranking_windows(today))
    )
    if not win.enough:
        return FixFirst(win, [], None)
    data = await ind.compute(session, scope, unit, win.period, m, today)
    targets = {t.code: t.target for t in data.targets}
    weights = {q: float(w) for q, w in m.integral_weights.items()}
    items = fixfirst.item_fixes(_item_figures(data), weights, m.improvement_threshold, targets)
    org_id = int(unit.target_id) if unit.kind == "organization" else None
    topics: list[fixfirst.Fix] = []
    total = 0
    if not data.integral.suppressed or any(not i.suppressed for i in data.items):
        whole, by_topic = await repository.topic_moments(
            session, scope, win.period.start, win.period.end, org_id
        )
        total = whole[0]
        figures = _topic_figures(whole, by_topic, taxonomy.load().names)
        topics = fixfirst.topic_fixes(figures, m.min_n)
    return FixFirst(win, fixfirst.rank([*items, *topics]), data, total)


@dataclass
class Landing:
    unit: ind.Unit
    window: Window
    data: IndicatorsOut
    trend: list[dict[str, Any]]
    fix: FixFirst
    coverage_ci: tuple[float, float] | None = None
    orgs: dict[str, Any] | None = None  # authorities: organizations below 4.5 and behind
    incidents: list[Any] = field(default_factory=list)
    incidents_total: int = 0
    incidents_mine: int = 0
    changes_open: int | None = None
    changes_due: int | None = None


OPEN_CR = ("draft", "submitted", "expertise", "wg_review", "subcommission_decision",
           "approved", "returned", "implementation", "control_check", "released",
           "effect_assessment")  # fmt: skip


async def landing(session: AsyncSession, user: User, m: Methodology, today: date) -> Landing | None:
    """The few figures a role's landing shows, for its scope as a whole (None: no unit)."""
    unit = await landing_unit(session, user)
    if unit is None:
        return None
    with ind_repo.memo(session):  # its windows, figures, protection and trend share reads
        return await _landing(session, user, unit, m, today)


async def _landing(
    session: AsyncSession, user: User, unit: ind.Unit, m: Methodology, today: date
) -> Landing:
    from otklik.improvement import repository as cr_repo
    from otklik.improvement.api import READERS as CR_READERS
    from otklik.improvement.workflow import OWNER_STATES, states_for
    from otklik.incidents.api import READERS as INCIDENT_READERS
    from otklik.kit.pagination import PageParams

    scope = scope_of(user)
    win = await choose_window(session, scope, unit, m, headline_windows(today))
    data = await ind.compute(session, scope, unit, win.period, m, today)
    trend = await series.trend(session, scope, unit, last_complete_month(today), m)
    out = Landing(unit, win, data, trend, await fix_first(session, scope, unit, m, today))
    k, n = data.counts.responses_by_service_date, data.counts.service_recipients
    if data.coverage is not None and k is not None and n:
        w = wilson(k, n, m.confidence)
        out.coverage_ci = (
            (float(shown(100 * w.low, 1) or 0), float(shown(100 * w.high, 1) or 0)) if w else None
        )
    if unit.kind != "organization":
        out.orgs = await _organizations_at_risk(session, scope, m, today)
    role = Role(user.role)
    if role in INCIDENT_READERS:
        out.incidents, out.incidents_total, out.incidents_mine = await repository.open_incidents(
            session, scope, user.id
        )
    if role in CR_READERS:
        counts = await cr_repo.state_counts(session, scope)
        out.changes_open = sum(counts.get(s, 0) for s in OPEN_CR)
        mine = states_for(role)
        queue = (
            [s for s in mine if s not in OWNER_STATES],
            [s for s in mine if s in OWNER_STATES],
            user.id,
        )
        _, out.changes_due = await cr_repo.listing(
            session, scope, PageParams(per_page=1), queue=queue
        )
    return out


async def _organizations_at_risk(
    session: AsyncSession, scope: Scope, m: Methodology, today: date
) -> dict[str, Any]:
    """How many organizations of the scope have a shown index, how many are below 4.5 and
    behind their target (the worst five of each by the ranking value), from the table, over
    the year of the last complete quarter (the year so far; in the first quarter the previous
    year): a month or a quarter shows few, most organizations have fewer answers than the
    threshold there."""
    period = year_of(ranking_windows(today)[0].year)
    # one query: the five worst by the ranking value and, alongside, the distribution (shown
    # organizations; the bands under 4.5 are the organizations below it) and the count of
    # those behind their target (what the table filtered by "behind" totals)
    worst = await tables.at_risk(session, scope, period, m, today, 5)
    bands = worst.bands or await tables.distribution(session, scope, period, m, today)
    shown_n = sum(k for _, k in bands)
    if m.improvement_threshold in tables.EDGES:
        below = sum(
            k
            for (_, k), (_, hi) in zip(bands, tables.BINS, strict=True)
            if hi <= m.improvement_threshold
        )
    else:  # a methodology whose threshold is not a band edge: count with the table's filter
        below = (
            await tables.organization_table(
                session, scope, period, m, today, Filters(status="below"), "shrunk", 1, 1
            )
        ).total
    rows = [r for r in worst.rows if r["integral"] is not None]
    return {
        "shown": shown_n,
        "below": below,
        "behind": (worst.statuses or {}).get("behind", 0),
        "worst": rows,
        "period": period,
    }


def fixed_period(period: Period) -> Period:
    """A period asked for on "fix first": whole months, quarters and years only."""
    from otklik.indicators.periods import fixed_grain

    return fixed_grain(period)
