"""Raw comments are sealed for the masking worker: nothing unmasked is readable anywhere, before
or after the worker runs, and the sealed text goes once it is masked."""

from __future__ import annotations

from datetime import date

import pytest
from cryptography.exceptions import InvalidTag
from httpx import AsyncClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.exchange import repository as exchange_repository
from otklik.identity.roles import Role
from otklik.insights.service import analyse_pending
from otklik.kit.pii import encode_key
from otklik.surveys import sealing
from otklik.surveys.models import ResponseComment, SealedComment
from otklik.surveys.tasks import mask_comments
from tests.factories import create_organization, create_user, login
from tests.surveys.helpers import form, invite

RAW = "Грубили в регистратуре, перезвоните мне +7 911 222-33-44 или пишите petrov77@mail.example"
PRIVATE = ("911 222-33-44", "9112223344", "petrov77@mail.example", "petrov77")


async def everything_stored(session: AsyncSession) -> str:
    """Every row of every table of the schema, as text."""
    tables = (
        await session.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        )
    ).scalars()
    out = []
    for table in tables:
        rows = await session.execute(text(f'SELECT row_to_json(t)::text FROM "{table}" t'))  # noqa: S608
        out += [row for (row,) in rows]
    return "\n".join(out)


async def count(session: AsyncSession, model: type) -> int:
    return await session.scalar(select(func.count()).select_from(model)) or 0


def readable_everywhere_except(stored: str, *also: str) -> None:
    digits = stored.replace(" ", "").replace("-", "")
    for secret in (*PRIVATE, *also):
        assert secret not in stored
        assert secret.replace(" ", "").replace("-", "") not in digits


async def test_a_raw_comment_is_never_readable_before_or_after_masking(
    session: AsyncSession, settings: Settings, client: AsyncClient
) -> None:
    org = await create_organization(session)
    [token] = await invite(session, settings, org=org)
    user = await create_user(session, Role.organization, scope=f"organization:{org.ogrn}")
    await session.commit()
    assert (await client.post(f"/s/{token}", data=form(comment=RAW))).status_code == 200

    # before the worker: sealed, nowhere in the clear, on no page and in no export
    assert await count(session, SealedComment) == 1
    assert await count(session, ResponseComment) == 0
    readable_everywhere_except(await everything_stored(session), "Грубили в регистратуре")
    await analyse_pending(session)
    assert await login(client, user.email) == 303
    page = await client.get(f"/insights/organizations/{org.id}")
    assert page.status_code == 200
    assert "Грубили" not in page.text
    since = date(2000, 1, 1)
    queued = await exchange_repository.take_queued(session, since=since, size=10, methodology="m")
    assert queued == []

    # the worker masks it, stores it and deletes the sealed text
    assert await mask_comments(session, settings) == 1
    assert await count(session, SealedComment) == 0
    stored = (await session.scalars(select(ResponseComment.text))).one()
    assert stored.startswith("Грубили в регистратуре")
    assert "[телефон]" in stored
    assert "[e-mail]" in stored
    readable_everywhere_except(await everything_stored(session))
    await analyse_pending(session)
    await session.commit()
    page = await client.get(f"/insights/organizations/{org.id}")
    assert page.status_code == 200
    readable_everywhere_except(page.text)
    [(_, _, line)] = await exchange_repository.take_queued(
        session, since=since, size=10, methodology="m"
    )
    assert "[e-mail]" in line
    readable_everywhere_except(line)
    assert await mask_comments(session, settings) == 0


async def test_the_web_key_seals_but_cannot_open(settings: Settings) -> None:
    worker = settings.model_copy(update={"comment_key": encode_key(sealing.private_key(settings))})
    pair = sealing.private_key(worker)
    web = settings.model_copy(
        update={"comment_key": None, "comment_public_key": encode_key(pair.public_key())}
    )
    web = web.model_copy(update={"pii_key": "another-pii-key-of-the-web-process-000"})
    sealed = sealing.seal(web, RAW)
    assert RAW.encode() not in sealed
    assert sealing.seal(web, RAW) != sealed  # a fresh key and nonce every time
    with pytest.raises(InvalidTag):
        sealing.unseal(web, sealed)  # what the web process could derive does not open it
    assert sealing.unseal(worker, sealed) == RAW
