"""Cabinet pages and exports: figures match the API; golden shrinkage, pooling, suppression."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from httpx import AsyncClient
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.cabinets import repository as cabinet_repository
from otklik.identity.roles import Role
from tests.factories import create_organization, create_user, login
from tests.indicators.factories import create_response, create_responses

DAY = date(2026, 11, 10)
OTHER_TYPE = "edu_general"
P = {"period": "2026-11"}


async def signed_in(
    session: AsyncSession, client: AsyncClient, role: Role, scope: str | None = None
) -> None:
    user = await create_user(session, role, scope)
    assert await login(client, user.email) == 303


def csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


async def test_pages_work_on_empty_data(session: AsyncSession, client: AsyncClient) -> None:
    org = await create_organization(session, region="16")
    await signed_in(session, client, Role.coordinator)
    for url in (
        "/cabinet/indicators/regions",
        "/cabinet/indicators/organizations",
        f"/cabinet/indicators/organization/{org.ogrn}",
    ):
        resp = await client.get(url)
        assert resp.status_code == 200, (url, resp.text[:500])
        assert (
            "недостаточно данных" in resp.text
            or "Нет данных" in resp.text
            or url.endswith("organizations")
        )
    assert (await client.get("/cabinet/indicators")).headers[
        "location"
    ] == "/cabinet/indicators/regions"


async def test_api_page_and_exports_agree(session: AsyncSession, client: AsyncClient) -> None:
    org = await create_organization(session, region="16")
    for v in [5, 5, 5, 4, 4, 4, 3, 3, 2, 1]:
        await create_response(session, org, DAY, {"overall": v, "staff": 4}, comment="Всё хорошо")
    await signed_in(session, client, Role.organization, f"organization:{org.ogrn}")
    api = (
        await client.get("/api/v1/indicators", params={"unit": f"organization:{org.ogrn}", **P})
    ).json()
    overall = next(i for i in api["items"] if i["code"] == "overall")
    page = await client.get(f"/cabinet/indicators/organization/{org.ogrn}", params=P)
    assert page.status_code == 200
    assert "3,60" in page.text
    assert "2,76–4,26" in page.text
    assert "60,0\u00a0%" in page.text
    assert "Всё хорошо" in page.text  # 10 responses: comments are shown
    xlsx = await client.get(
        f"/cabinet/indicators/organization/{org.ogrn}",
        params={**P, "export": "items", "fmt": "xlsx"},
    )
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    assert ws is not None
    rows = [[v for v in r if v is not None] for r in ws.iter_rows(values_only=True)]
    assert rows[1] == ["Методика: 2025.1"]
    assert rows[2] == ["Период: 2026-11"]
    x_overall = next(r for r in rows if r and r[0] == overall["label"])
    assert x_overall[1:6] == [
        overall["n"],
        overall["mean"],
        overall["ci_low"],
        overall["ci_high"],
        overall["csat"],
    ]
    c = csv_rows(
        (
            await client.get(
                f"/cabinet/indicators/organization/{org.ogrn}", params={**P, "export": "items"}
            )
        ).content
    )
    assert next(r for r in c if r and r[0] == overall["label"])[2] == "3.6"


async def test_comments_hidden_below_threshold(session: AsyncSession, client: AsyncClient) -> None:
    org = await create_organization(session)
    for _ in range(9):
        await create_response(session, org, DAY, {"overall": 5}, comment="Секретный текст")
    await signed_in(session, client, Role.organization, f"organization:{org.ogrn}")
    page = await client.get(f"/cabinet/indicators/organization/{org.ogrn}", params=P)
    assert "Секретный текст" not in page.text
    assert "недостаточно данных" in page.text.lower()


@pytest.mark.parametrize("role", [Role.analyst, Role.wg_secretary])
async def test_figures_only_roles_never_read_comment_text(
    session: AsyncSession, client: AsyncClient, role: Role
) -> None:
    org = await create_organization(session)
    for _ in range(10):
        await create_response(session, org, DAY, {"overall": 5}, comment="Текст для организации")
    await signed_in(session, client, role)
    for params in (P, {**P, "q": "Текст"}):
        page = await client.get(f"/cabinet/indicators/organization/{org.ogrn}", params=params)
        assert page.status_code == 200
        assert "5,00" in page.text  # the figures are there
        assert "Текст для организации" not in page.text
        assert "только показатели" in page.text


async def test_drill_down_is_scoped(session: AsyncSession, client: AsyncClient) -> None:
    other = await create_organization(session, region="77")
    await signed_in(session, client, Role.regional_authority, "region:16")
    # another organization's OGRN answers exactly like a missing one (issue 21)
    away = await client.get(f"/cabinet/indicators/organization/{other.ogrn}")
    missing = await client.get("/cabinet/indicators/organization/1111111111111")
    assert away.status_code == missing.status_code == 404
    assert away.text.replace(other.ogrn, "OGRN") == missing.text.replace("1111111111111", "OGRN")
    # the regions list leads a regional authority to its own region (issue 16); another
    # region's page answers exactly like a missing one
    own = await client.get("/cabinet/indicators/regions")
    assert own.status_code == 303
    assert own.headers["location"] == "/cabinet/indicators/region/16"
    outside = await client.get("/cabinet/indicators/region/77")
    unknown = await client.get("/cabinet/indicators/region/00")
    assert outside.status_code == unknown.status_code == 404
    assert outside.text.replace("«77»", "«XX»") == unknown.text.replace("«00»", "«XX»")
    assert (
        await client.get("/cabinet/indicators/organizations", params={"period": "2026-13"})
    ).status_code == 400


async def _table(client: AsyncClient) -> dict[str, list[str]]:
    body = (
        await client.get("/cabinet/indicators/organizations", params={**P, "export": "table"})
    ).content
    return {r[1]: r for r in csv_rows(body) if len(r) > 5}


async def test_shrunken_ranking(session: AsyncSession, client: AsyncClient) -> None:
    # One type and region (58); only "staff" is answered, so integral = staff mean.
    # A: 10 × 5 -> 5.0; B: 3,3,3,3,3,4,4,4,4,4 -> 3.5
    a = await create_organization(session, region="58", founder="r58-health", name="А-клиника")
    b = await create_organization(session, region="58", founder="r58-health", name="Б-клиника")
    await create_responses(session, a, DAY, [5] * 10, code="staff")
    await create_responses(session, b, DAY, [3] * 5 + [4] * 5, code="staff")
    await signed_in(session, client, Role.regional_authority, "region:58")
    rows = await _table(client)
    # By hand: mu = (5 + 3.5)/2 = 4.25; within SS: A 0, B 10 × 0.25 = 2.5, df 9 + 9
    # -> sigma^2 = 2.5/18 = 0.138889; sampling variance sigma^2/10 = 0.0138889;
    # between: var_samp(5, 3.5) = 1.125; tau^2 = 1.125 - 0.138889 × mean(1/n = 0.1) = 1.111111;
    # weight = 1.111111 / (1.111111 + 0.0138889) = 0.987654;
    # A: 4.25 + 0.987654 × 0.75 = 4.99074 -> 4.99; B: 4.25 - 0.740741 = 3.50926 -> 3.51
    assert rows["А-клиника"][5:7] == ["5.0", "4.99"]
    assert rows["Б-клиника"][5:7] == ["3.5", "3.51"]
    # a name search narrows the table, not the group the ranking shrinks towards
    body = (
        await client.get(
            "/cabinet/indicators/organizations", params={**P, "export": "table", "q": "А-клин"}
        )
    ).content
    assert [r[5:7] for r in csv_rows(body) if len(r) > 5][1:] == [["5.0", "4.99"]]


async def test_complementary_suppression_in_the_table(
    session: AsyncSession, client: AsyncClient
) -> None:
    orgs = {}
    for name, values in (("А", [5] * 10), ("Б", [4] * 10), ("В", [1] * 4), ("Г", [4] * 12)):
        orgs[name] = await create_organization(
            session, region="58", founder="r58-health", name=f"{name}-клиника"
        )
        await create_responses(session, orgs[name], DAY, values, code="staff")
    await signed_in(session, client, Role.regional_authority, "region:58")
    rows = await _table(client)
    hidden = {k[0] for k, r in rows.items() if r[5] == "недостаточно данных"}
    # В has 4 answers (primary); the smallest other cell (А or Б, 10 each; А has the lower id)
    # is hidden too, so В cannot be recovered from the region's total
    assert hidden == {"В", "А"}
    assert rows["Г-клиника"][5] == "4.0"


async def test_regions_pooled_and_unweighted(session: AsyncSession, client: AsyncClient) -> None:
    a = await create_organization(session, region="58", founder="r58-health")
    b = await create_organization(session, region="58", founder="r58-health")
    await create_responses(session, a, DAY, [5] * 10, code="staff")
    await create_responses(session, b, DAY, [3] * 30, code="staff")
    await signed_in(session, client, Role.coordinator)
    body = (
        await client.get("/cabinet/indicators/regions", params={**P, "export": "table"})
    ).content
    row = next(r for r in csv_rows(body) if r and r[0] == "58")
    # pooled: (50 + 90) / 40 = 3.5; unweighted (344н): (5 + 3) / 2 = 4.0
    assert row[3:6] == ["40", "3.5", "4.0"]
    page = await client.get("/cabinet/indicators/regions", params=P)
    assert page.status_code == 200
    assert "band1" in page.text  # 3.5 lies in the band 3.5–4.0


@pytest.mark.parametrize("role", [Role.regional_authority, Role.coordinator])
async def test_filters_and_search(session: AsyncSession, client: AsyncClient, role: Role) -> None:
    a = await create_organization(session, region="16", name="Поликлиника Рассвет")
    await create_organization(session, region="16", name="Больница Закат")
    await create_responses(session, a, DAY, [3] * 10, code="staff")
    await signed_in(session, client, role, "region:16" if role is Role.regional_authority else None)
    page = await client.get("/cabinet/indicators/organizations", params={**P, "q": "Рассвет"})
    assert "Поликлиника Рассвет" in page.text
    assert "Больница Закат" not in page.text
    below = await client.get(
        "/cabinet/indicators/organizations", params={**P, "status": "below", "region": "16"}
    )
    assert "Поликлиника Рассвет" in below.text
    assert "Больница Закат" not in below.text


def overall_row(page: str) -> str:
    start = page.index("Удовлетворённость в целом</th>")
    return page[start : page.index("</tr>", start)]


async def test_comparison_group_never_singles_out_another_organization(
    session: AsyncSession, client: AsyncClient
) -> None:
    """With one other clinic in the type and region, the group minus the viewer's own answers
    would be that clinic's scores: the group is withheld until three others answered."""
    own = await create_organization(session, region="16")
    neighbours = [await create_organization(session, region="16") for _ in range(3)]
    await create_responses(session, own, DAY, [5] * 10)
    await create_responses(session, neighbours[0], DAY, [2] * 10)
    await signed_in(session, client, Role.organization, f"organization:{own.ogrn}")
    url = f"/cabinet/indicators/organization/{own.ogrn}"
    row = overall_row((await client.get(url, params=P)).text)
    assert "5,00" in row  # its own score
    assert "недостаточно данных" in row  # the group's
    assert "3,50" not in row  # (10·5 + 10·2) / 20 would reveal the neighbour's 2,00
    for other in neighbours[1:]:
        await create_responses(session, other, DAY, [4] * 10)
    row = overall_row((await client.get(url, params=P)).text)
    assert "недостаточно данных" not in row
    assert "3,75" in row  # (50 + 20 + 40 + 40) / 40


async def test_other_responding_counts_the_answered_peers_of_the_period(
    session: AsyncSession,
) -> None:
    """The comparison group's size: other organizations of the same type and region with
    questionnaires in the period. Whole months, quarters and years read the summary, other
    ranges the answers: each equals the count of the answers created here."""
    own = await create_organization(session, region="16")
    peers = [await create_organization(session, region="16") for _ in range(4)]
    elsewhere = await create_organization(session, region="77")
    other_type = await create_organization(session, region="16", type_code=OTHER_TYPE)
    answered = {  # organization: days answered
        own: [date(2026, 8, 3)],
        peers[0]: [date(2026, 8, 3)],
        peers[1]: [date(2026, 8, 31), date(2026, 9, 1)],
        peers[2]: [date(2026, 2, 14)],
        peers[3]: [date(2025, 12, 31)],
        elsewhere: [date(2026, 8, 3)],
        other_type: [date(2026, 8, 3)],
    }
    for org, days in answered.items():
        for day in days:
            await create_response(session, org, day, {"overall": 4})
    await session.commit()
    for start, end in [
        (date(2026, 1, 1), date(2026, 12, 31)),  # a year
        (date(2026, 7, 1), date(2026, 9, 30)),  # a quarter
        (date(2026, 8, 1), date(2026, 8, 31)),  # a month
        (date(2026, 9, 1), date(2026, 9, 30)),
        (date(2025, 12, 1), date(2025, 12, 31)),
        (date(2026, 8, 4), date(2026, 8, 31)),  # days: read from the answers
        (date(2026, 10, 1), date(2026, 10, 31)),  # nobody
        (date(2026, 1, 1), date(2026, 1, 31)),  # nobody (the year's rows start that day)
    ]:
        expected = sum(1 for org in peers if any(start <= day <= end for day in answered[org]))
        assert await cabinet_repository.other_responding(session, own, start, end) == expected


async def test_trend_covers_the_twelve_months_to_the_period_end(
    session: AsyncSession, client: AsyncClient
) -> None:
    org = await create_organization(session, region="16")
    await create_responses(session, org, date(2025, 11, 10), [4] * 10)  # 13 months back
    await create_responses(session, org, date(2025, 12, 10), [4] * 10)
    await create_responses(session, org, DAY, [5] * 10)
    await signed_in(session, client, Role.organization, f"organization:{org.ogrn}")
    page = (await client.get(f"/cabinet/indicators/organization/{org.ogrn}", params=P)).text
    # the trend's month rows, written by the formatter (fmt.month)
    assert '<th scope="row">декабрь 2025</th>' in page
    assert '<th scope="row">ноябрь 2026</th>' in page
    assert '<th scope="row">ноябрь 2025</th>' not in page
