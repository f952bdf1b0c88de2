"""The authorities' landing reads the summary (issue 19, item 4): the same figures as the rollup
and the answers gave; its at-risk block, read from the lean rows, is the table's first page.

Random answers for organizations of two regions and several founders (some with no answers in
some months, some under the ``min_n`` threshold), some of them deleted again; then, for the
country, a region, a founder and one organization: the months read from the summary equal the
months read from the rollup, the topics' base read from the summary equals the answers' own
sums, and every figure of the landing is the same before and after a full recompute.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Date, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.cabinets import repository as cab_repo
from otklik.cabinets import service as cab
from otklik.identity.models import User
from otklik.indicators import protection, repository, tables
from otklik.indicators import service as ind
from otklik.indicators import table_queries as q
from otklik.indicators.periods import parse_period, year_of
from otklik.indicators.table_queries import Filters
from otklik.indicators.tasks import rebuild
from otklik.kit.scope import Scope, ScopeKind, apply_scope
from otklik.registry.models import Founder, Organization
from otklik.surveys.models import Response, ResponseItem
from tests.factories import create_organization
from tests.indicators.factories import create_response, forget_some

TODAY = date(2026, 12, 7)
ITEMS = ("overall", "organization", "comfort", "staff", "information", "accessibility")


async def _answers(session: AsyncSession) -> list[Organization]:
    rnd = random.Random(1904)
    orgs = []
    for region, founder in (("58", None), ("58", "minzdrav"), ("77", None), ("77", "minzdrav")):
        for _ in range(3):
            orgs.append(await create_organization(session, region=region, founder=founder))
    weights = [rnd.choice((1, 4, 15)) for _ in orgs]  # under, around and over min_n a month
    weights[0] = 0  # an organization with no answers at all
    for _ in range(900):
        org = rnd.choices(orgs, weights)[0]
        month = rnd.choice((1, 2, 3, 5, 7, 8, 9, 10, 11))  # no answers in April and June
        day = date(rnd.choice((2025, 2026, 2026)), month, rnd.randint(1, 28))
        scores = {c: rnd.choice((1, 2, 3, 4, 5, 5, 5)) for c in ITEMS if rnd.random() < 0.85}
        if rnd.random() < 0.5:
            scores["recommend"] = rnd.randint(0, 1)
        await create_response(session, org, day, scores)
    await forget_some(session, rnd, items=30, whole=25, code="overall")
    return orgs


async def _units(session: AsyncSession, org: Organization) -> list[tuple[Scope, ind.Unit]]:
    founder = await session.scalar(select(Founder.code).where(Founder.code == "minzdrav"))
    assert founder is not None
    fid = int(await session.scalar(select(Founder.id).where(Founder.code == founder)) or 0)
    return [
        (Scope.country(), await ind.resolve_unit(session, "country:RU")),
        (Scope(ScopeKind.region, region_code="58"), await ind.resolve_unit(session, "region:58")),
        (
            Scope(ScopeKind.founder, founder_id=fid),
            await ind.resolve_unit(session, f"founder:{founder}"),
        ),
        (
            Scope(ScopeKind.organization, organization_id=org.id),
            await ind.resolve_unit(session, f"organization:{org.ogrn}"),
        ),
    ]


def _months(rows: list[Any]) -> dict[tuple[date, str], tuple[int, int]]:
    # a code with no answers in a month carries nothing (the rollup may lack its row)
    return {(r.month, r.code): (int(r.n), int(r.total)) for r in rows if r.n or r.total}


async def test_months_and_topic_base_from_the_summary(session: AsyncSession) -> None:
    orgs = await _answers(session)
    m = await ind.methodology(session, None)
    codes = protection.codes_of(m)
    checked = 0
    for scope, unit in await _units(session, orgs[3]):
        for lo, hi in (
            (date(2025, 1, 1), date(2025, 12, 31)),
            (date(2026, 3, 1), date(2026, 11, 30)),
        ):
            args = (session, scope, unit.filter, lo, hi, codes)
            from_summary = await repository.monthly_counts(*args)
            from_rollup = await repository.monthly_counts(*args, summary=False)
            assert _months(from_summary) == _months(from_rollup), (unit, lo)
            # every month with answers is there, and no other (April and June had none)
            months = {r.month for r in from_rollup}
            assert {r.month for r in from_summary} == months
            assert all(mo.month not in (4, 6) for mo in months)
            checked += len(from_rollup)
        for p in ("2026", "2026-Q3", "2026-06", "2026-01-01..2026-11-30", "2025-02-03..2025-05-09"):
            period = parse_period(p)
            args2 = (session, scope, unit.filter, period.start, period.end)
            counts = await repository.item_counts(*args2)
            means = await repository.item_means(*args2, codes)
            assert means == {
                c: {"n": v["n"], "total": v["total"]}
                for c, v in counts.items()
                if c in codes and (v["n"] or c in means)
            }, (unit, p)
        own = int(unit.target_id) if unit.kind == "organization" else None
        for p in ("2026", "2026-Q3", "2026-11", "2026-06", "2026-01-10..2026-03-05"):
            period = parse_period(p)
            whole, _ = await cab_repo.topic_moments(session, scope, period.start, period.end, own)
            i = ResponseItem
            raw = (
                select(func.count(), func.sum(i.value), func.sum(i.value * i.value))
                .join(Organization, Organization.id == i.organization_id)
                .where(i.code == "overall", i.answered_on.between(period.start, period.end))
            )
            if own is not None:
                raw = raw.where(i.organization_id == own)
            n, s, ss = (await session.execute(apply_scope(raw, scope, repository.ORG_SCOPE))).one()
            assert whole == (int(n or 0), float(s or 0), float(ss or 0)), (unit, p)
    assert checked > 50


def _user(role: str, **scope: Any) -> User:
    return User(id=0, email="x@test", role=role, **scope)


def _figures(landing: cab.Landing | None) -> Any:
    assert landing is not None
    fix = landing.fix
    return (
        landing.window.period.text,
        landing.data.model_dump(),
        landing.trend,
        fix.window.period.text,
        None if fix.data is None else fix.data.model_dump(),
        [(f.code, round(f.gain, 9)) for f in fix.fixes],
        fix.topics_total,
        landing.coverage_ci,
        None if landing.orgs is None else {k: v for k, v in landing.orgs.items() if k != "period"},
    )


async def test_every_landing_equals_the_recompute(session: AsyncSession) -> None:
    orgs = await _answers(session)
    m = await ind.methodology(session, None)
    fid = await session.scalar(select(Founder.id).where(Founder.code == "minzdrav"))
    users = [
        _user("regional_authority", scope_kind="region", scope_region_code="58"),
        _user("federal_authority", scope_kind="founder", scope_founder_id=fid),
        _user("coordinator", scope_kind="country"),
        _user("organization", scope_kind="organization", scope_organization_id=orgs[3].id),
    ]
    kept = [_figures(await cab.landing(session, u, m, TODAY)) for u in users]
    # the region's trend (its months read from the summary) counts its questionnaires
    r = Response
    month = func.date_trunc("month", r.answered_on).cast(Date)
    raw = await session.execute(
        select(month, func.count())
        .where(r.region_code == "58", r.answered_on.between(date(2025, 12, 1), date(2026, 11, 30)))
        .group_by(month)
        .order_by(month)
    )
    assert [(t["month"], t["responses"]) for t in kept[0][2]] == [tuple(x) for x in raw]
    for year in ("2025", "2026"):
        await rebuild(session, parse_period(year))
    assert [_figures(await cab.landing(session, u, m, TODAY)) for u in users] == kept
    # the figures are not empty: the region shows an index; some cell is hidden somewhere
    assert kept[0][1]["integral"]["value"] is not None
    assert any(i["suppressed"] for k in kept for i in k[1]["items"]) or any(
        t["integral"] is None for k in kept for t in k[2]
    )


SHOWN = ("oid", "ogrn", "name", "region_name", "integral", "shrunk", "resp", "status")
SHOWN += ("status_label", "baseline", "target", "ytd", "hidden")


async def test_at_risk_block_equals_the_table(session: AsyncSession) -> None:
    """``tables.at_risk`` (lean rows: no address, type names or overall score, the region names
    read for the shown rows) gives the table's own first rows in its default order, its
    distribution and its count behind target, for every authority's scope and period."""
    orgs = await _answers(session)
    m = await ind.methodology(session, None)
    fid = await session.scalar(select(Founder.id).where(Founder.code == "minzdrav"))
    scopes = [
        Scope.country(),
        Scope(ScopeKind.region, region_code="58"),
        Scope(ScopeKind.founder, founder_id=fid),
    ]
    statuses: set[str] = set()
    for period in ("2026", "2026-08", "2026-Q3"):
        p = parse_period(period)
        for scope in scopes:
            for n in (5, len(orgs)):  # the landing's five, and every row
                lean = await tables.at_risk(session, scope, p, m, TODAY, n)
                full = await tables.organization_table(
                    session, scope, p, m, TODAY, Filters(), "shrunk", 1, n, ("behind",)
                )
                assert [{k: r[k] for k in SHOWN} for r in lean.rows] == [
                    {k: r[k] for k in SHOWN} for r in full.rows
                ], (period, scope)
                assert (lean.total, lean.bands, lean.statuses) == (
                    full.total,
                    full.bands,
                    full.statuses,
                ), (period, scope)
                statuses |= {r["status"] for r in full.rows}
                assert lean.rows
                assert all(r["region_name"] for r in lean.rows)
    # the comparison covers shown, hidden and target rows (met, on track or behind)
    assert {"hidden", "no_baseline"} <= statuses
    assert statuses & {"met", "on_track", "behind"}


PAGE_SHOWN = (*SHOWN, "address", "type_name", "overall")
SORTS = ("shrunk", "-shrunk", "name", "-name", "responses", "-integral", "overall", "-overall")
SORTS += ("region", "-region")


def _page_rows(rows: list[Any]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        row = {k: r._mapping[k] for k in PAGE_SHOWN if k != "status_label"}
        for k in ("integral", "overall", "shrunk", "ytd", "baseline", "target"):
            row[k] = None if row[k] is None else float(row[k])
        out.append(row)
    return out


def _status(row: dict[str, Any], m: Any, elapsed: float) -> str:
    """The annual-target status by its rules, in Python, from the row's shown figures."""
    if row["hidden"]:
        return "hidden"
    if row["baseline"] is None:
        return "no_baseline"
    baseline = Decimal(str(row["baseline"]))
    if baseline >= Decimal(str(m.improvement_threshold)):
        return "not_applicable"
    if row["ytd"] is None:
        return "insufficient"
    ytd, step = Decimal(str(row["ytd"])), Decimal(str(m.annual_step))
    if ytd >= min(baseline + step, Decimal(5)):
        return "met"
    level = float(baseline) + m.annual_step * elapsed  # float8 in SQL, as numeric to 15 digits
    on_track = Decimal(f"{level:.15g}").quantize(Decimal("0.01"), ROUND_HALF_UP)
    return "on_track" if ytd >= on_track else "behind"


async def _page_pair(
    session: AsyncSession,
    scope: Scope,
    period: str,
    m: Any,
    f: Filters,
    sort: str,
    page: int,
    n: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One page of ``tables.organization_table`` (lean rows, late columns) and the same page of
    the full rows read from the rollup (``summary=False``: the recompute's figures)."""
    p = parse_period(period)
    params = {
        "hidden_ids": sorted(await tables.hidden_organizations(session, p, m)),
        "prev_hidden_ids": sorted(await tables.hidden_organizations(session, year_of(2025), m)),
    }
    table = await tables.organization_table(
        session, scope, p, m, TODAY, f, sort, page, n, ("behind",)
    )
    full_stmt = q.organization_rows(m, tables.window(p, TODAY), scope, f, summary=False)
    edges = tables.EDGES if f == Filters() else None
    rows, total, bands, counts = await q.organization_page(
        session, full_stmt, params, sort, n, (page - 1) * n, edges, ("behind",)
    )
    assert table.total == total, (period, sort, page)
    if rows:
        assert table.statuses == counts, (period, sort, page)
        assert table.bands == (None if bands is None else tables._bands(bands)), (period, sort)
    return _page_rows([_Row(r) for r in table.rows]), _page_rows(rows)


async def test_organization_pages_equal_the_full_rows(session: AsyncSession) -> None:
    """The organizations pages (lean rows ranked, the page's address, names, overall score and
    year to date computed after the ``LIMIT``) show, for every sort, page and filter, the rows
    of the full table read from the rollup (the recompute's figures); every status follows its
    rules from the shown baseline, target and year to date, for several annual steps and
    thresholds (rows on track, behind, met and above the threshold)."""
    orgs = await _answers(session)
    m = await ind.methodology(session, None)
    periods = ("2026", "2026-Q3", "2026-08", "2026-11")
    for period in periods:
        for scope in (Scope.country(), Scope(ScopeKind.region, region_code="58")):
            cases = [(Filters(), s) for s in SORTS]
            cases += [(Filters(status="behind"), "name"), (Filters(q="Тестовая 1"), "-shrunk")]
            cases += [(Filters(region_code="77", type_code=orgs[6].type_code), "overall")]
            for f, sort in cases:
                for page in (1, 3):
                    lean, full = await _page_pair(session, scope, period, m, f, sort, page, 4)
                    assert lean == full, (period, scope, f, sort, page)
    statuses: set[str] = set()
    ytds = 0
    variants = [(step, 4.5) for step in (0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 1.0)]
    for step, threshold in [*variants, (1.5, 4.9), (0.4, 3.0)]:
        mx = dataclasses.replace(m, annual_step=step, improvement_threshold=threshold)
        for period in periods:
            w = tables.window(parse_period(period), TODAY)
            lean, full = await _page_pair(
                session, Scope.country(), period, mx, Filters(), "", 1, len(orgs)
            )
            assert lean == full, (period, step, threshold)
            for row in full:
                assert row["status"] == _status(row, mx, w.elapsed), (row, step, threshold)
                statuses.add(row["status"])
                ytds += row["ytd"] is not None and row["ytd"] != row["integral"]
    # the comparison covers every status and years to date other than the period's own value
    assert {"hidden", "no_baseline", "met", "on_track", "behind", "not_applicable"} <= statuses
    assert ytds


class _Row:
    """A table's row (a dict) read like a result row."""

    def __init__(self, row: dict[str, Any]) -> None:
        self._mapping = row
