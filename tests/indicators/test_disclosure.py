"""The disclosure suite: each test plays an attacker of the audit on a seeded population.

An attack succeeds when two or more figures the same user can see differ by a set of fewer than
``min_n`` answers (more than none): the shown means times their n give the exact total of that
set (totals are exact when n < 100, means having two decimals). Every test asserts that no
combination it tries isolates such a set; each failed on the code before the disclosure module.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.cabinets import exports, service
from otklik.cabinets.repository import Filters
from otklik.identity.roles import Role
from otklik.indicators import service as ind
from otklik.indicators.periods import parse_period
from otklik.intake.models import ServiceRecord, ServiceRecordKey
from otklik.registry.models import Organization
from tests.factories import create_organization, create_user
from tests.indicators.factories import create_response, create_responses
from tests.indicators.test_api import bearer

MIN_N = 10
TODAY = date(2026, 12, 20)


def isolates(n_left: int) -> bool:
    """A difference of ``n_left`` answers singles out fewer than the threshold."""
    return 0 < n_left < MIN_N


async def api(client: AsyncClient, headers: dict[str, str], unit: str, period: str) -> Any:
    resp = await client.get(
        "/api/v1/indicators", params={"unit": unit, "period": period}, headers=headers
    )
    return resp.json() if resp.status_code == 200 else None


def overall(body: Any) -> tuple[int, float] | None:
    """(n, mean) of the overall item when shown, else None."""
    if body is None:
        return None
    item = next(i for i in body["items"] if i["code"] == "overall")
    return None if item["suppressed"] else (item["n"], item["mean"])


async def test_two_day_ranges_do_not_single_out_one_answer(
    session: AsyncSession, client: AsyncClient
) -> None:
    org = await create_organization(session, region="58")
    await create_responses(session, org, date(2026, 11, 10), [4] * 59)
    await create_response(session, org, date(2026, 11, 16), {"overall": 1})
    headers = await bearer(session, Role.organization, f"organization:{org.ogrn}")
    unit = f"organization:{org.ogrn}"
    wide = overall(await api(client, headers, unit, "2026-01-01..2026-11-16"))
    narrow = overall(await api(client, headers, unit, "2026-01-01..2026-11-15"))
    assert wide is None or narrow is None or not isolates(wide[0] - narrow[0])
    # the fixed grains still answer
    assert overall(await api(client, headers, unit, "2026-11")) == (60, 3.95)


async def _months(session: AsyncSession, org: Organization, plan: dict[int, list[int]]) -> None:
    for month, values in plan.items():
        await create_responses(session, org, date(2026, month, 10), values)


async def test_quarter_minus_its_shown_months(session: AsyncSession, client: AsyncClient) -> None:
    org = await create_organization(session, region="58")
    await _months(session, org, {10: [1], 11: [4] * 12, 12: [5] * 12})
    headers = await bearer(session, Role.organization, f"organization:{org.ogrn}")
    unit = f"organization:{org.ogrn}"
    shown = {p: overall(await api(client, headers, unit, p)) for p in ("2026-Q4", "2026-11")}
    shown["2026-12"] = overall(await api(client, headers, unit, "2026-12"))
    q4, nov, dec = shown["2026-Q4"], shown["2026-11"], shown["2026-12"]
    if q4 is not None:
        left = q4[0] - (nov[0] if nov else 0) - (dec[0] if dec else 0)
        assert not (nov and dec and isolates(left)), shown
        assert not (nov and not dec and isolates(q4[0] - nov[0]))
        assert not (dec and not nov and isolates(q4[0] - dec[0]))


async def test_year_minus_the_trend_months(session: AsyncSession) -> None:
    org = await create_organization(session, region="58")
    await _months(session, org, {m: [4] * 12 for m in range(1, 10)} | {10: [1]})
    user = await create_user(session, Role.organization, f"organization:{org.ogrn}")
    m = await ind.methodology(session, None)
    dash = await service.organization_dashboard(
        session, user, org.ogrn, parse_period("2026"), m, TODAY
    )
    year = next(i for i in dash.data.items if i.code == "overall")
    assert not year.suppressed
    shown_n = sum(t["responses"] for t in dash.trend if t["overall"] is not None)
    assert not isolates(year.n - shown_n)
    # the export carries exactly the page's trend
    _, rows = exports.trend_rows(dash.trend)
    hidden = [r[0] for r in rows if r[2] == exports.SUPPRESSED]
    assert hidden == [f"{t['month']:%Y-%m}" for t in dash.trend if t["overall"] is None]


async def _table_population(session: AsyncSession) -> dict[str, Organization]:
    """Region 58: В has 4 answers (primary), А 10 low ones (the complementary cell)."""
    orgs = {}
    plan = {"А": [2] * 10, "Б": [4] * 30, "В": [1] * 4, "Г": [5] * 40}
    for name, values in plan.items():
        org = await create_organization(session, region="58", name=name)
        await create_responses(session, org, date(2026, 11, 10), values, code="staff", overall=3)
        await create_responses(session, org, date(2025, 6, 10), [3] * 12, code="staff")
        orgs[name] = org
    return orgs


async def _table(session: AsyncSession, f: Filters, sort: str = "-shrunk") -> list[dict[str, Any]]:
    user = await create_user(session, Role.regional_authority, "region:58")
    m = await ind.methodology(session, None)
    t = await service.organization_table(
        session, user, parse_period("2026-11"), m, TODAY, f, sort, 1
    )
    return t.rows


async def test_search_and_status_filter_do_not_unhide(session: AsyncSession) -> None:
    orgs = await _table_population(session)
    full = {r["name"]: r for r in await _table(session, Filters())}
    assert (full["А"]["integral"], full["В"]["integral"]) == (None, None)
    found = await _table(session, Filters(q=orgs["А"].ogrn))
    assert [r["integral"] for r in found] == [None]
    below = await _table(session, Filters(status="below"))
    assert "А" not in {r["name"] for r in below}
    assert all(r["integral"] is not None for r in below)


async def test_sorting_does_not_bracket_a_hidden_value(session: AsyncSession) -> None:
    await _table_population(session)
    for sort in ("integral", "-integral", "shrunk", "-shrunk", "overall", "-overall"):
        names = [r["name"] for r in await _table(session, Filters(), sort)]
        shown = {r["name"] for r in await _table(session, Filters()) if r["integral"] is not None}
        # every shown row precedes every hidden one; hidden rows keep the name order
        assert set(names[: len(shown)]) == shown, (sort, names)
        assert names[len(shown) :] == sorted(names[len(shown) :]), (sort, names)


async def test_hidden_row_hides_every_derived_figure(session: AsyncSession) -> None:
    await _table_population(session)
    rows = {r["name"]: r for r in await _table(session, Filters())}
    for name in ("А", "В"):
        r = rows[name]
        assert (r["integral"], r["shrunk"], r["overall"], r["target"]) == (None,) * 4, r
        assert r["coverage"] is None
        assert r["status"] == "hidden", r
    # the export shows the page's cells
    _, out = exports.table_rows(list(rows.values()))
    by_name = {x[1]: x for x in out}
    assert by_name["А"][5] == exports.SUPPRESSED
    assert by_name["А"][-1] == exports.SUPPRESSED


async def test_complementary_region_is_hidden_in_the_api_too(
    session: AsyncSession, client: AsyncClient
) -> None:
    for region, n in (("58", 4), ("16", 10), ("77", 50)):
        org = await create_organization(session, region=region)
        await create_responses(session, org, date(2026, 11, 10), [4] * n)
    user = await create_user(session, Role.coordinator)
    m = await ind.methodology(session, None)
    rows = {
        r["code"]: r
        for r in await service.regions(session, user, parse_period("2026-11"), m, TODAY)
    }
    # 58 is small; hiding it alone would leave country minus the shown regions = its 4 answers
    assert [rows[c]["hidden"] for c in ("58", "16", "77")] == [True, True, False]
    headers = await bearer(session, Role.coordinator)
    body = await api(client, headers, "region:16", "2026-11")
    assert overall(body) is None
    assert body["integral"]["value"] is None


async def test_comparison_group_minus_own_across_months(session: AsyncSession) -> None:
    own = await create_organization(session, region="58")
    await _months(session, own, {10: [5] * 10, 11: [5] * 10, 12: [5] * 10})
    for _ in range(3):
        other = await create_organization(session, region="58")
        await _months(session, other, {10: [1], 11: [3] * 4, 12: [3] * 4})
    user = await create_user(session, Role.organization, f"organization:{own.ogrn}")
    m = await ind.methodology(session, None)

    async def seen(p: str) -> tuple[tuple[int, float] | None, tuple[int, float] | None]:
        d = await service.organization_dashboard(session, user, own.ogrn, parse_period(p), m, TODAY)
        g = next(i for i in d.group.items if i.code == "overall")
        o = next(i for i in d.data.items if i.code == "overall")
        return (
            None if g.suppressed else (g.n, g.mean or 0),
            None if o.suppressed else (o.n, o.mean or 0),
        )

    q4, nov, dec = await seen("2026-Q4"), await seen("2026-11"), await seen("2026-12")
    octo = await seen("2026-10")
    if q4[0] and nov[0] and dec[0] and octo[1]:  # group Q4 - group Nov - group Dec - own Oct
        assert not isolates(q4[0][0] - nov[0][0] - dec[0][0] - octo[1][0])
    if q4[0] and q4[1]:
        assert not isolates(q4[0][0] - q4[1][0])


async def _records(session: AsyncSession, org: Organization, people: list[int]) -> None:
    """Service records served on 10 November 2026, one per entry, keyed by person number."""
    served = datetime(2026, 11, 10, 9, tzinfo=UTC)
    keys = [
        ServiceRecordKey(source_id=1, record_id=f"r-{org.id}-{i}", received_at=served)
        for i in range(len(people))
    ]
    session.add_all(keys)
    await session.flush()
    session.add_all(
        ServiceRecord(
            id=keys[i].id,
            source_id=1,
            record_id=f"r-{org.id}-{i}",
            content_hash=b"h",
            organization_id=org.id,
            service_code="health.outpatient_visit",
            served_at=served,
            received_at=served,
            person_key=f"p-{org.id}-{person}".encode(),
            age_band="30-39",
            is_minor=False,
            channel="portal",
        )
        for i, person in enumerate(people)
    )
    await session.flush()


async def test_ratios_hide_with_their_counts(session: AsyncSession, client: AsyncClient) -> None:
    org = await create_organization(session, region="58")
    await create_responses(session, org, date(2026, 11, 10), [4] * 12)
    await _records(session, org, list(range(6)))  # 6 recipients: a ratio of a small number
    headers = await bearer(session, Role.organization, f"organization:{org.ogrn}")
    body = await api(client, headers, f"organization:{org.ogrn}", "2026-11")
    assert (body["coverage"], body["timeliness"]) == (None, None)
    assert body["counts"]["service_recipients"] is None


async def test_coverage_divides_by_distinct_recipients(
    session: AsyncSession, client: AsyncClient
) -> None:
    org = await create_organization(session, region="58")
    await create_responses(session, org, date(2026, 11, 10), [4] * 12)
    await _records(session, org, [p // 2 for p in range(40)])  # 40 records of 20 people
    headers = await bearer(session, Role.organization, f"organization:{org.ogrn}")
    body = await api(client, headers, f"organization:{org.ogrn}", "2026-11")
    assert body["counts"]["service_recipients"] == 20
    assert body["coverage"] == 60.0
