"""``otklik keys rotate-pii``: every stored contact re-keyed, person keys replaced everywhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.config import Settings
from otklik.identity.models import User
from otklik.identity.roles import Role
from otklik.intake.models import Contact, ServiceRecord
from otklik.kit.pii import PiiVault
from otklik.ops.keys import rotate_pii
from otklik.outreach.models import Invitation
from tests.factories import create_organization, create_user, service_record, snils
from tests.outreach.test_planning import adult
from tests.surveys.helpers import invite

NEW = PiiVault("n" * 48)


async def test_rotation_rekeys_contacts_and_person_keys(
    session: AsyncSession, settings: Settings
) -> None:
    old = PiiVault(settings.pii_key)
    org = await create_organization(session)
    people = [snils() for _ in range(3)]
    records = [
        service_record(org.ogrn, recipient=adult(p, email=f"r{i}@example.ru"))
        for i, p in enumerate(people)
    ]
    tokens = await invite(session, settings, records, org=org)
    assert len(tokens) == 3
    citizen = await create_user(session, Role.citizen, None)
    citizen.person_key = old.person_key(people[0].replace("-", "").replace(" ", ""))
    await session.flush()
    citizen_id = citizen.id

    done = await rotate_pii(session, old, NEW)
    await session.flush()
    session.expire_all()

    assert (done.contacts, done.people, done.records, done.invitations, done.users) == (
        3,
        3,
        3,
        3,
        1,
    )
    contacts = (await session.scalars(select(Contact).order_by(Contact.id))).all()
    digits = [p.replace("-", "").replace(" ", "") for p in people]
    for contact, d, i in zip(contacts[-3:], digits, range(3), strict=True):
        assert contact.person_key == NEW.person_key(d)
        assert NEW.open(contact.sealed, contact.person_key)["email"] == f"r{i}@example.ru"
        with pytest.raises(InvalidTag):
            old.open(contact.sealed, old.person_key(d))
    keys = {NEW.person_key(d) for d in digits}
    assert set(await session.scalars(select(ServiceRecord.person_key))) >= keys
    invited = set(await session.scalars(select(Invitation.person_key)))
    assert invited == keys
    user = await session.get(User, citizen_id)
    assert user is not None
    assert user.person_key == NEW.person_key(digits[0])

    again = await rotate_pii(session, old, NEW)  # a repeated run changes nothing
    assert (again.contacts, again.already, again.people) == (0, 3, 0)


def test_the_command_reads_the_new_key_from_stdin(database_url: str, tmp_path: Path) -> None:
    def run(new_key: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "OTKLIK_ENV": "production",
            "OTKLIK_DATABASE_URL": database_url,
            "OTKLIK_DATA_DIR": str(tmp_path),
            "OTKLIK_SECRET_KEY": "s" * 40,
            "OTKLIK_PII_KEY": "p" * 40,
            "COLUMNS": "200",
        }
        return subprocess.run(  # noqa: S603
            [str(Path(sys.executable).with_name("otklik")), "keys", "rotate-pii"],
            input=new_key + "\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    short = run("short")
    assert short.returncode == 1
    assert "не короче 32" in short.stderr
    same = run("p" * 40)
    assert same.returncode == 1
    assert "совпадает с текущим" in same.stderr
    done = run("n" * 48)  # the test database holds no committed contacts: nothing to re-key
    assert done.returncode == 0, done.stderr
    assert "Контактов перешифровано: 0" in done.stdout
    assert "замените OTKLIK_PII_KEY" in done.stdout
