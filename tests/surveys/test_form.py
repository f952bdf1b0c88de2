"""The respondent form over HTTP: states, validation, storage, drafts, abuse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.outreach.models import Delivery, Invitation
from otklik.surveys.models import Response, ResponseComment, ResponseItem, SurveyDraft
from otklik.surveys.tasks import mask_comments
from tests.factories import create_organization
from tests.surveys.helpers import child, form, invite


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_form_shows_the_service_and_the_sector_module(
    session: AsyncSession, settings: Settings, client: AsyncClient
) -> None:
    [token] = await invite(session, settings)
    await session.commit()
    page = await client.get(f"/s/{token}")
    assert page.status_code == 200
    html = page.text
    assert "Оценка качества услуги" in html
    assert "Приём врача" in html
    assert 'name="overall"' in html
    assert 'name="health_waiting"' in html
    assert 'name="edu_teachers"' not in html  # another sector's module
    assert html.count('type="radio" name="overall"') == 5
    assert "<legend>" in html
    assert 'for="comment"' in html
    assert "<script>" not in html  # no inline script (CSP)
    inv = (await session.scalars(select(Invitation))).one()
    await session.refresh(inv)
    assert inv.opened_at is not None
    assert inv.started_at is None


async def test_submit_stores_an_anonymous_response(
    session: AsyncSession, settings: Settings, client: AsyncClient
) -> None:
    [token] = await invite(session, settings)
    await session.commit()
    done = await client.post(f"/s/{token}", data=form())
    assert done.status_code == 200, done.text
    assert "Спасибо" in done.text
    assert "you-said-we-did" in done.text
    response = (await session.scalars(select(Response))).one()
    assert response.questionnaire_version == "2025.1"
    assert response.channel == "log"
    assert response.respondent == "recipient"
    assert response.answers["overall"] == 5
    assert response.answers["information"] == "na"
    items = dict((await session.execute(select(ResponseItem.code, ResponseItem.value))).all())
    # "не пользовался" is absent; yes is 1, "no" to disability is 0
    assert items == {
        "overall": 5,
        "organization": 4,
        "comfort": 3,
        "staff": 5,
        "disability": 0,
        "health_waiting": 2,
        "health_explained": 1,
        "recommend": 1,
    }
    # the questionnaire's own integral, written with it: the mean of its integral items under
    # the default methodology's weights (organization, comfort, staff; information not used)
    assert response.integral == 4.0
    # the comment is sealed for the masking worker: stored once the worker has masked it
    assert await count(session, ResponseComment) == 0
    assert await mask_comments(session, settings) == 1
    assert (await session.scalars(select(ResponseComment.text))).one() == "Всё хорошо"
    inv = (await session.scalars(select(Invitation))).one()
    await session.refresh(inv)
    assert inv.status == "completed"
    assert inv.completed_at is not None
    assert inv.started_at is not None
    again = await client.get(f"/s/{token}")
    assert again.status_code == 200
    assert "Спасибо" in again.text
    second = await client.post(f"/s/{token}", data=form(overall="1"))
    assert second.status_code == 200
    assert "Спасибо" in second.text
    assert await count(session, Response) == 1


async def test_unknown_and_expired_links(
    session: AsyncSession, settings: Settings, client: AsyncClient
) -> None:
    unknown = await client.get("/s/" + "A" * 32)
    assert unknown.status_code == 404
    assert "Ссылка не найдена" in unknown.text
    assert (await client.post("/s/" + "A" * 32, data=form())).status_code == 404
    [token] = await invite(session, settings)
    inv = (await session.scalars(select(Invitation))).one()
    inv.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    await session.commit()
    gone = await client.get(f"/s/{token}")
    assert gone.status_code == 410
    assert "истёк" in gone.text
    assert (await client.post(f"/s/{token}", data=form())).status_code == 410
    assert await count(session, Response) == 0


async def test_one_answer_per_record_other_representative_gets_410(
    session: AsyncSession, settings: Settings, client: AsyncClient
) -> None:
    org = await create_organization(session)
    first, second = await invite(session, settings, [child(org.ogrn)], org=org)
    reminder = Delivery(
        invitation_id=(await session.scalars(select(Invitation.id).order_by(Invitation.id))).all()[
            1
        ],
        kind="reminder",
        channel="log",
        next_attempt_at=datetime.now(UTC) + timedelta(days=1),
    )
    session.add(reminder)
    await session.commit()
    await client.post(f"/s/{second}", data={"overall": "4", "action": "save"})
    assert await count(session, SurveyDraft) == 1
    done = await client.post(f"/s/{first}", data=form())
    assert done.status_code == 200
    response = (await session.scalars(select(Response))).one()
    assert response.respondent == "representative"
    other = await client.get(f"/s/{second}")
    assert other.status_code == 410
    assert "другой член семьи" in other.text
    assert (await client.post(f"/s/{second}", data=form())).status_code == 410
    assert await count(session, Response) == 1
    assert await count(session, SurveyDraft) == 0  # the record's drafts are gone
    await session.refresh(reminder)
    assert reminder.status == "cancelled"
    statuses = (await session.scalars(select(Invitation.status).order_by(Invitation.id))).all()
    assert statuses == ["completed", "used"]


async def test_missing_and_invalid_answers_are_named_and_the_rest_kept(
    session: AsyncSession, settings: Settings, client: AsyncClient
) -> None:
    [token] = await invite(session, settings)
    await session.commit()
    page = await client.post(
        f"/s/{token}", data=form(overall="", staff="7", comfort="4", comment="Чисто")
    )
    assert page.status_code == 422
    html = page.text
    assert "Проверьте ответы" in html
    assert 'href="#overall-1"' in html
    assert 'href="#staff-1"' in html
    assert "Ответьте на этот вопрос." in html
    assert "Оценка должна быть числом от 1 до 5." in html
    assert 'id="comfort-4" value="4" checked' in html  # kept
    assert ">Чисто</textarea>" in html
    assert await count(session, Response) == 0


async def test_forged_codes_and_oversized_comment(
    session: AsyncSession, settings: Settings, client: AsyncClient
) -> None:
    [token] = await invite(session, settings)
    await session.commit()
    forged = await client.post(f"/s/{token}", data=form(admin_flag="1"))
    assert forged.status_code == 422
    assert "неизвестные поля (admin_flag)" in forged.text
    other_sector = await client.post(f"/s/{token}", data=form(edu_teachers="5"))
    assert other_sector.status_code == 422
    big = await client.post(f"/s/{token}", data=form(comment="ы" * 100_000, overall="2"))
    assert big.status_code == 422
    assert "Текст длиннее 1000 символов (сейчас 100000)" in big.text
    assert 'id="overall-2" value="2" checked' in big.text
    assert await count(session, Response) == 0
    huge = await client.post(f"/s/{token}", data=form(comment="ы" * 300_000))
    assert huge.status_code == 413
    assert await count(session, Response) == 0


async def test_markup_in_a_comment_is_stored_masked_and_shown_escaped(
    session: AsyncSession, settings: Settings, client: AsyncClient
) -> None:
    [token] = await invite(session, settings)
    await session.commit()
    text = "<script>alert(1)</script><b>Грубо</b>, звоните +7 900 123-45-67 или a@b.ru"
    draft = await client.post(f"/s/{token}", data=form(comment=text, action="save"))
    assert draft.status_code == 200
    assert "<script>alert" not in draft.text
    assert "&lt;script&gt;" in draft.text
    done = await client.post(f"/s/{token}", data=form(comment=text))
    assert done.status_code == 200
    assert await mask_comments(session, settings) == 1
    stored = (await session.scalars(select(ResponseComment.text))).one()
    assert "<" not in stored
    assert "+7 900" not in stored
    assert "a@b.ru" not in stored
    assert "Грубо" in stored


async def test_draft_survives_a_reload_and_autosave(
    session: AsyncSession, settings: Settings, client: AsyncClient
) -> None:
    [token] = await invite(session, settings)
    await session.commit()
    saved = await client.post(f"/s/{token}", data={"overall": "4", "staff": "9", "action": "save"})
    assert saved.status_code == 200
    assert "Оценка должна быть" in saved.text
    page = await client.get(f"/s/{token}")
    assert 'id="overall-4" value="4" checked' in page.text
    assert 'value="9"' not in page.text
    auto = await client.post(
        f"/s/{token}", data={"overall": "3", "comment": "черновик"}, headers={"X-Autosave": "1"}
    )
    assert auto.status_code == 204
    page = await client.get(f"/s/{token}")
    assert 'id="overall-3" value="3" checked' in page.text
    assert "черновик" in page.text
    inv = (await session.scalars(select(Invitation))).one()
    await session.refresh(inv)
    assert inv.started_at is not None
    assert inv.completed_at is None
    await client.post(f"/s/{token}", data=form())
    assert await count(session, SurveyDraft) == 0


async def test_conditional_question_only_counts_when_shown(
    session: AsyncSession, settings: Settings, client: AsyncClient
) -> None:
    [token] = await invite(session, settings)
    await session.commit()
    await client.post(f"/s/{token}", data=form(disability="no", accessibility="1"))
    codes = set((await session.scalars(select(ResponseItem.code))).all())
    assert "accessibility" not in codes
    [token2] = await invite(session, settings)
    await session.commit()
    await client.post(f"/s/{token2}", data=form(disability="yes", accessibility="2"))
    values = (
        await session.scalars(
            select(ResponseItem.value).where(ResponseItem.code == "accessibility")
        )
    ).all()
    assert values == [2]


async def test_honeypot_and_rate_limits(
    session: AsyncSession, settings: Settings, client: AsyncClient
) -> None:
    [token] = await invite(session, settings)
    await session.commit()
    spam = await client.post(f"/s/{token}", data=form(website="http://spam.example"))
    assert spam.status_code == 200
    assert "Спасибо" in spam.text
    assert await count(session, Response) == 0
    inv = (await session.scalars(select(Invitation))).one()
    await session.refresh(inv)
    assert inv.completed_at is None
    statuses = []
    for _ in range(settings.survey_token_per_minute + 2):
        r = await client.post(f"/s/{token}", data={"action": "save"})
        statuses.append(r.status_code)
    assert statuses[-1] == 429
    assert statuses.count(429) == 3  # the spam post above used one token
    limited = await client.post(f"/s/{token}", data={"action": "save"})
    assert "Слишком много запросов" in limited.text
    assert limited.headers["Retry-After"]


async def test_rate_limit_per_address(
    session: AsyncSession, settings: Settings, client: AsyncClient
) -> None:
    client._transport.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"survey_ip_per_minute": 3}
    )
    codes = [(await client.get("/s/" + "B" * 32)).status_code for _ in range(5)]
    assert codes == [404, 404, 404, 429, 429]


async def test_larger_text_mode_without_javascript(
    session: AsyncSession, settings: Settings, client: AsyncClient
) -> None:
    [token] = await invite(session, settings)
    await session.commit()
    normal = await client.get(f"/s/{token}")
    assert 'href="?text=large"' in normal.text
    assert 'class="survey"' in normal.text
    large = await client.get(f"/s/{token}?text=large")
    assert 'class="survey large"' in large.text
    assert f'action="/s/{token}?text=large"' in large.text
