"""Quarterly reports: the PDF's text and the XLSX's figures come from the indicators service,
bad requests are refused in Russian, and nobody downloads a report outside their scope."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from httpx import AsyncClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.errors import NotFound
from otklik.identity.roles import Role
from otklik.indicators import service as indicators
from otklik.indicators.periods import parse_period
from otklik.insights.models import CommentAnalysis, InsightSignal
from otklik.kit.clock import moscow_date
from otklik.kit.pagination import PageParams
from otklik.kit.scope import Scope, ScopeKind
from otklik.registry.models import LifeSituation
from otklik.reports import document, repository, service, tasks
from otklik.reports.models import Report
from tests.factories import create_organization, create_user, csrf_from, login
from tests.indicators.factories import create_response

SCORES = {"overall": 4, "organization": 5, "comfort": 4, "staff": 5, "information": 3}


def quarter() -> str:
    return service.last_complete_quarter(moscow_date())


async def answers(session: AsyncSession, region: str = "77", n: int = 24, **kw: str):  # type: ignore[no-untyped-def]
    org = await create_organization(session, region=region, **kw)
    start = parse_period(quarter()).start
    for i in range(n):
        scores = {**SCORES, "overall": 3 + i % 3}
        await create_response(session, org, start + timedelta(days=i % 60), scores)
    await session.flush()
    return org


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


async def test_pdf_has_russian_headings_and_the_indicators_figure(session: AsyncSession) -> None:
    org = await answers(session, name='Поликлиника № 1 #"*_[x]')
    await answers(session)
    content, data = await service.make(session, "region:77", quarter(), "pdf")
    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    for heading in ("Квартальный отчёт", "Показатели с интервалами", "Воронка приглашений",
                    "Методика и правила скрытия", "Цели на год"):  # fmt: skip
        assert heading in text, heading
    shown = await indicators.indicators(
        session, Scope.country(), "region:77", quarter(), None, moscow_date()
    )
    assert shown.integral.value is not None
    assert document.num(shown.integral.value) in text  # e.g. 4,31: the service's figure
    assert data.figures.integral.value == shown.integral.value
    assert "1 из" in text  # page numbers
    # an organization's name full of typst markup is printed as text
    org_report, _ = await service.make(session, f"organization:{org.ogrn}", quarter(), "pdf")
    assert 'Поликлиника № 1 #"*_[x]' in pdf_text(org_report)


async def test_xlsx_opens_and_has_the_figures(session: AsyncSession) -> None:
    await answers(session)
    content, data = await service.make(session, "country", quarter(), "xlsx")
    wb = load_workbook(io.BytesIO(content))
    assert {"Отчёт", "Показатели", "Цели", "Воронка", "Методика"} <= set(wb.sheetnames)
    rows = list(wb["Показатели"].iter_rows(values_only=True))
    integral = next(r for r in rows if r[0] == "Интегральный индекс")
    assert integral[2] == data.figures.integral.value is not None
    overall = next(r for r in rows if r[0] == data.figures.items[0].label)
    assert overall[2] == data.figures.items[0].mean


async def test_small_numbers_stay_hidden(session: AsyncSession) -> None:
    org = await answers(session, n=4)  # below min_n
    content, data = await service.make(session, f"organization:{org.ogrn}", quarter(), "pdf")
    assert data.figures.integral.value is None
    assert "недостаточно данных" in pdf_text(content)


async def test_a_scope_without_data_gives_a_report_saying_so(session: AsyncSession) -> None:
    org = await create_organization(session, region="50", founder="r50-health")
    content, data = await service.make(session, f"organization:{org.ogrn}", quarter(), "pdf")
    assert data.no_data
    assert "нет ни одной заполненной анкеты" in pdf_text(content).replace("\n", " ")


@pytest.mark.parametrize(
    ("period", "spec", "error", "words"),
    [
        ("2026-13", "country", service.BadReportPeriod, "ГГГГ-QN"),
        ("2026-Q5", "country", service.BadReportPeriod, "не распознан"),
        ("2100-Q1", "country", service.FuturePeriod, "ещё не начался"),
        ("NEXT", "planet:3", service.BadReportPeriod, "квартал"),
        ("LAST", "planet:3", service.BadScope, "Неизвестная область"),
        ("LAST", "region:", service.BadScope, "region:16"),
        ("LAST", "region:00", NotFound, "Нет такой области отчёта"),
        ("LAST", "organization:1234567890123", NotFound, "организация"),
    ],
)
async def test_bad_requests_are_refused_in_russian(
    session: AsyncSession, period: str, spec: str, error: type[Exception], words: str
) -> None:
    today = moscow_date()
    if period == "LAST":
        period = quarter()
    elif period == "NEXT":
        period = "2026-Q"
    with pytest.raises(error) as caught:
        await service.make(session, spec, period, "pdf")
    assert words in caught.value.message  # type: ignore[attr-defined]
    assert today == moscow_date()


async def test_the_running_quarter_is_refused_with_its_last_day(session: AsyncSession) -> None:
    today = moscow_date()
    current = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    with pytest.raises(service.FuturePeriod) as caught:
        await service.make(session, "country", current, "pdf")
    end = parse_period(current).end
    assert f"{end:%d.%m.%Y}" in caught.value.message
    assert "ещё не закончился" in caught.value.message
    with pytest.raises(service.BadFormat):
        await service.make(session, "country", quarter(), "docx")


async def test_requests_outside_the_scope_are_refused(session: AsyncSession) -> None:
    mine = await answers(session)
    other = await answers(session, region="50", founder="r50-health")
    scope = Scope(ScopeKind.organization, organization_id=mine.id)
    # another organization is answered like a missing one (issue 21: OGRNs are not probed)
    with pytest.raises(NotFound) as hidden:
        await service.request(session, scope, f"organization:{other.ogrn}", quarter(), "pdf", None)
    with pytest.raises(NotFound) as missing:
        await service.request(session, scope, "organization:1000000000000", quarter(), "pdf", None)
    assert hidden.value.code == missing.value.code
    assert hidden.value.message.replace(other.ogrn, "X") == missing.value.message.replace(
        "1000000000000", "X"
    )
    report = await service.request(
        session, scope, f"organization:{mine.ogrn}", quarter(), "pdf", None
    )
    assert (report.organization_id, report.region_code) == (mine.id, "77")


async def test_job_queues_the_quarter_once_and_builds_with_progress(
    session: AsyncSession, settings: Settings
) -> None:
    org = await answers(session)
    queued = await tasks.queue_quarterly(session, settings)
    # country, the region, the founder: PDF and XLSX each; the organization: PDF
    assert queued == 7
    assert await tasks.queue_quarterly(session, settings) == 0
    reports, _ = await repository.listing(
        session, Scope(ScopeKind.organization, organization_id=org.id),
        PageParams.parse(1, 50, "", ""), None,
    )  # fmt: skip
    assert {(r.unit_kind, r.format) for r in reports} == {("organization", "pdf")}
    # a person's order made after the sweep is built first
    mine = await service.request(
        session, Scope.country(), "region:77", quarter(), "xlsx", None, "user"
    )
    assert await tasks.build_reports(session, settings) == 1
    await session.refresh(mine)
    assert mine.status == "done"
    built = 0
    while await tasks.build_reports(session, settings):
        built += 1
        if built > 20:
            break
    assert built >= 7
    for r in reports:
        await session.refresh(r)
        assert (r.status, r.progress, r.error) == ("done", 100, None), r.error
        assert r.size
        assert r.sha256


async def test_reports_page_lists_within_scope_and_refuses_another_organizations_file(
    session: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    mine = await answers(session)
    other = await answers(session, region="50", founder="r50-health")
    me = await create_user(session, Role.organization, f"organization:{mine.ogrn}")
    them = await create_user(session, Role.organization, f"organization:{other.ogrn}")
    await session.commit()
    assert await login(client, them.email) == 303
    page = await client.get("/reports")
    assert page.status_code == 200
    assert f"organization:{other.ogrn}" in page.text  # the form's default: the own scope
    csrf = csrf_from(page.text)
    resp = await client.post(
        "/reports",
        data={"csrf_token": csrf, "scope": f"organization:{other.ogrn}", "period": quarter(),
              "format": "pdf"},
    )  # fmt: skip
    assert resp.status_code == 303
    refused = await client.post(
        "/reports",
        data={"csrf_token": csrf, "scope": f"organization:{mine.ogrn}", "period": quarter(),
              "format": "pdf"},
    )  # fmt: skip
    assert refused.status_code == 404  # like a missing organization (issue 21)
    assert "Нет такой области отчёта: организация" in refused.text
    future = await client.post(
        "/reports", data={"csrf_token": csrf, "scope": "country", "period": "2100-Q1"}
    )
    assert future.status_code == 400
    assert "ещё не начался" in future.text
    queued = await client.get("/reports")
    assert "в очереди" in queued.text
    assert 'hx-trigger="every 2s"' in queued.text
    assert 'http-equiv="refresh"' in queued.text
    while await tasks.build_reports(session, settings):
        pass
    done = await client.get("/reports")
    assert "Скачать PDF" in done.text
    theirs = (await session.scalars(
        select(Report).where(Report.organization_id == other.id)
    )).one()  # fmt: skip
    file = await client.get(f"/reports/{theirs.id}/download")
    assert file.status_code == 200
    assert file.headers["content-type"] == "application/pdf"
    assert file.content.startswith(b"%PDF")
    # my organization's user: the other's report does not exist for me
    client.cookies.clear()
    assert await login(client, me.email) == 303
    assert (await client.get(f"/reports/{theirs.id}/download")).status_code == 404
    assert other.short_name not in (await client.get("/reports")).text
    assert (await client.get("/reports/not-a-uuid/download")).status_code == 400


def test_numbers_use_a_decimal_comma() -> None:
    assert document.num(4.5) == "4,50"
    assert (
        document.num(41.25, 1, "%") == "41,2\u00a0%" or document.num(41.25, 1, "%") == "41,3\u00a0%"
    )
    assert document.num(1234567) == "1\u00a0234\u00a0567"
    assert document.num(None) == "недостаточно данных"
    assert service.last_complete_quarter(date(2027, 2, 1)) == "2026-Q4"
    assert service.last_complete_quarter(date(2026, 12, 7)) == "2026-Q3"


async def test_problems_by_topic_and_life_situation(session: AsyncSession) -> None:
    situation = (await session.scalars(select(LifeSituation).limit(1))).one()
    org = await create_organization(session, region="77")
    start = parse_period(quarter()).start
    for i in range(14):
        r = await create_response(
            session, org, start + timedelta(days=i), SCORES, comment="Долго ждали приёма",
            life_situation_code=situation.code,
        )  # fmt: skip
        session.add(
            CommentAnalysis(
                response_id=r.id, code="comment", organization_id=org.id,
                answered_on=r.answered_on, topics=["waiting"], sentiment="negative",
                urgent=False, taxonomy_version="2026.1", model_version="rules",
            )
        )  # fmt: skip
    session.add(
        InsightSignal(
            kind="problem", organization_id=org.id, period=f"{start:%Y-%m}",
            payload={"topic": "waiting", "name": "Ожидание", "n_with": 14, "diff": -0.8},
        )
    )  # fmt: skip
    await session.flush()
    content, data = await service.make(session, "region:77", quarter(), "pdf")
    assert data.situations == [{"name": situation.name, "topics": [("Ожидание и очереди", 14)]}]
    assert data.problems[0]["name"] == "Ожидание"
    text = pdf_text(content)
    assert "По жизненным ситуациям" in text
    assert situation.name.split()[0] in text
    # another region sees neither
    _, other = await service.make(session, "region:50", quarter(), "pdf")
    assert other.situations == []
    assert other.problems == []
