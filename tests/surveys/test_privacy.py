"""What organizations can read holds no identity beside an answer (scanned after real use)."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.intake.models import ServiceRecord
from otklik.outreach.models import Invitation
from otklik.surveys.service import draft_key
from tests.factories import create_organization, service_record, snils
from tests.outreach.test_planning import adult
from tests.surveys.helpers import child, form, invite

TABLES = ("responses", "response_items", "response_comments", "sealed_comments", "survey_drafts")
FORBIDDEN_COLUMNS = ("person", "snils", "contact", "token", "invitation", "email", "phone")


async def test_answers_tables_hold_no_identity(
    session: AsyncSession, settings: Settings, client: AsyncClient
) -> None:
    org = await create_organization(session)
    people = [snils() for _ in range(3)]
    records: list[dict[str, Any]] = [
        service_record(
            org.ogrn,
            recipient=adult(people[n], email=f"ivanov{n}@mail.example", phone=f"+7911222334{n}"),
        )
        for n in range(3)
    ]
    records.append(child(org.ogrn))
    tokens = await invite(session, settings, records, org=org)
    await session.commit()
    assert len(tokens) == 5
    for n, token in enumerate(tokens[:3]):
        comment = f"Звоните мне: +7 911 222-33-4{n}, пишите ivanov{n}@mail.example"
        assert (await client.post(f"/s/{token}", data=form(comment=comment))).status_code == 200
    incomplete = await client.post(
        f"/s/{tokens[4]}", data={"overall": "2", "comment": "мой e-mail ivanov0@mail.example"}
    )
    assert incomplete.status_code == 422  # required answers missing: nothing stored
    await client.post(
        f"/s/{tokens[4]}",
        data={"overall": "2", "comment": "пишите ivanov0@mail.example", "action": "save"},
    )

    secrets: list[str] = list(tokens)
    secrets += people + [p.replace("-", "").replace(" ", "") for p in people]
    secrets += [f"ivanov{n}@mail.example" for n in range(3)] + ["parent0@example.ru"]
    secrets += [f"7911222334{n}" for n in range(3)] + ["+79005550000"]
    for inv in (await session.scalars(select(Invitation))).all():
        secrets += [inv.person_key.hex(), inv.token_hash.hex(), str(inv.public_id)]
    for key in (await session.scalars(select(ServiceRecord.person_key))).all():
        secrets.append(key.hex())

    scanned = 0
    for table in TABLES:
        columns = (
            await session.execute(
                text("SELECT column_name FROM information_schema.columns WHERE table_name = :t"),
                {"t": table},
            )
        ).scalars()
        for column in columns:
            assert not any(word in column for word in FORBIDDEN_COLUMNS), (table, column)
        rows = await session.execute(text(f"SELECT row_to_json(t)::text FROM {table} t"))  # noqa: S608
        for (row,) in rows:
            scanned += 1
            flat = row.replace("\\\\x", "").replace("-", "").replace(" ", "")
            for secret in secrets:
                plain = secret.replace("-", "").replace(" ", "")
                assert plain not in flat, (table, secret)
    assert scanned > 3 * 9  # responses, items, comments and the draft were all there
    # the draft is keyed by neither the token nor its hash
    keys = (await session.execute(text("SELECT key FROM survey_drafts"))).scalars().all()
    assert keys == [draft_key(settings.secret_key, tokens[4])]
