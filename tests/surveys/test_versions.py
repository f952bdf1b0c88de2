"""Questionnaire versions: the default file, upload (YAML/JSON), preview, publish, immutability."""

from __future__ import annotations

import json

import pytest
from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.errors import ValidationFailed
from otklik.identity.roles import Role
from otklik.outreach.models import Invitation
from otklik.surveys import repository
from otklik.surveys.definitions import default_definition, parse_definition
from otklik.surveys.models import QuestionnaireVersion, Response
from otklik.surveys.repository import PublishedImmutable
from tests.factories import create_user, csrf_from, login
from tests.surveys.helpers import form, invite

NEW = """
version: "2026.1"
title: "Анкета 2026"
questions:
  - {code: overall, type: rating, text: "Общая оценка", required: true}
  - {code: queue_online, type: yesno, text: "Записывались ли вы онлайн?", required: true}
  - code: sport_facilities
    type: rating
    sectors: [sport]
    text: "Состояние объектов"
"""


def test_default_version_matches_the_methodology() -> None:
    d = default_definition()
    core = [q.code for q in d.questions if not q.sectors]
    assert core == [
        "overall",
        "organization",
        "comfort",
        "staff",
        "information",
        "disability",
        "accessibility",
        "recommend",
        "comment",
    ]
    by = {q.code: q for q in d.questions}
    assert [c for c in core if by[c].required] == [
        "overall",
        "organization",
        "comfort",
        "staff",
        "recommend",
    ]
    assert by["information"].not_used
    assert by["disability"].prefer_not
    assert by["accessibility"].show_if is not None
    assert by["comment"].type == "text"
    assert by["comment"].max_length == 1000
    for sector in ("healthcare", "education", "sport", "social"):
        module = [q for q in d.for_sector(sector) if q.sectors]
        assert 1 <= len(module) <= 3, sector
    assert {q.type for q in d.questions} == {"rating", "yesno", "choice", "text"}


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"version: [", "a.yaml", "не читается как YAML или JSON (строка"),
        (b'{"version": "x"', "a.json", "не читается как YAML или JSON"),
        (b"- 1\n- 2\n", "a.yaml", "version, title, questions"),
        (
            b'version: "9"\ntitle: t\nquestions:\n  - {code: a, type: stars, text: q}\n',
            "a.yaml",
            "вопрос № 1 (a), поле type: тип вопроса должен быть",
        ),
        (
            b'version: "9"\ntitle: t\nquestions:\n  - {code: a, type: choice, text: q}\n',
            "a.yaml",
            "не меньше двух вариантов",
        ),
        (
            b'version: "9"\ntitle: t\nquestions:\n'
            b"  - {code: a, type: rating, text: q, show_if: {code: b, equals: 'yes'}}\n",
            "a.yaml",
            "которого нет выше в анкете",
        ),
        (
            b'version: "9"\ntitle: t\nquestions:\n  - {code: a, type: text, text: q}\n'
            b"  - {code: a, type: text, text: q}\n",
            "a.yaml",
            "«a» повторяется",
        ),
        (b"\xff\xfe", "a.yaml", "UTF-8"),
    ],
)
def test_bad_files_get_clear_errors(content: bytes, name: str, expected: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        parse_definition(content, name)
    assert expected in exc.value.message


async def test_published_versions_are_immutable_in_the_database(session: AsyncSession) -> None:
    row = await session.get(QuestionnaireVersion, "2025.1")
    assert row is not None
    assert row.status == "published"
    with pytest.raises(PublishedImmutable):
        await repository.save_version(session, "2025.1", "другое", {"questions": []})
    with pytest.raises(IntegrityError, match="is immutable"):
        async with session.begin_nested():
            await session.execute(text("DELETE FROM questionnaire_versions"))


async def test_upload_preview_publish_and_use(
    session: AsyncSession, settings: Settings, client: AsyncClient
) -> None:
    user = await create_user(session, Role.coordinator)
    await session.commit()
    await login(client, user.email)
    listing = await client.get("/surveys/versions")
    assert listing.status_code == 200
    assert "2025.1" in listing.text
    token = csrf_from(listing.text)
    up = await client.post(
        "/surveys/versions",
        data={"csrf_token": token},
        files={"file": ("v.yaml", NEW.encode(), "application/yaml")},
    )
    assert up.status_code == 303
    assert up.headers["location"] == "/surveys/versions/2026.1"
    preview = await client.get("/surveys/versions/2026.1?sector=sport")
    assert preview.status_code == 200
    assert "черновик" in preview.text
    assert "Состояние объектов" in preview.text
    assert "queue_online" in preview.text
    health = await client.get("/surveys/versions/2026.1?sector=healthcare")
    assert "Состояние объектов" not in health.text
    # a draft is not used by new links yet
    [before] = await invite(session, settings)
    await session.commit()
    assert "queue_online" not in (await client.get(f"/s/{before}")).text
    published = await client.post(
        "/surveys/versions/2026.1/publish", data={"csrf_token": csrf_from(preview.text)}
    )
    assert published.status_code == 303
    again = await client.post(
        "/surveys/versions",
        data={"csrf_token": token},
        files={"file": ("v.yaml", NEW.replace("Общая", "Иная").encode(), "application/yaml")},
    )
    assert again.status_code == 422
    assert "Версия 2026.1 уже опубликована и не может быть изменена" in again.text
    # a pinned invitation keeps its version; an unpinned one gets the newest
    invs = (await session.scalars(select(Invitation))).all()
    invs[0].questionnaire_version = "2025.1"
    [after] = await invite(session, settings)
    await session.commit()
    assert "queue_online" not in (await client.get(f"/s/{before}")).text
    page = await client.get(f"/s/{after}")
    assert "queue_online" in page.text
    assert 'name="staff"' not in page.text
    done = await client.post(f"/s/{after}", data={"overall": "4", "queue_online": "yes"})
    assert done.status_code == 200
    response = (await session.scalars(select(Response))).one()
    assert response.questionnaire_version == "2026.1"
    assert (await client.post(f"/s/{before}", data=form())).status_code == 200


async def test_a_code_may_not_change_type_and_json_works(
    session: AsyncSession, client: AsyncClient
) -> None:
    user = await create_user(session, Role.coordinator)
    await session.commit()
    await login(client, user.email)
    token = csrf_from((await client.get("/surveys/versions")).text)
    body = {
        "version": "2026.2",
        "title": "JSON",
        "questions": [{"code": "overall", "type": "yesno", "text": "Довольны?"}],
    }
    bad = await client.post(
        "/surveys/versions",
        data={"csrf_token": token},
        files={"file": ("v.json", json.dumps(body).encode(), "application/json")},
    )
    assert bad.status_code == 422
    assert "«overall» был «оценка от 1 до 5» в версии 2025.1" in bad.text
    body["questions"][0]["type"] = "rating"  # type: ignore[index]
    ok = await client.post(
        "/surveys/versions",
        data={"csrf_token": token},
        files={"file": ("v.json", json.dumps(body).encode(), "application/json")},
    )
    assert ok.status_code == 303


async def test_only_coordinators_manage_versions(
    session: AsyncSession, client: AsyncClient
) -> None:
    user = await create_user(session, Role.analyst)
    await session.commit()
    await login(client, user.email)
    assert (await client.get("/surveys/versions")).status_code == 403
