"""Rotating ``OTKLIK_PII_KEY``: re-key every stored contact and the person keys derived from it.

Each sealed contact holds the SNILS it was made from, so under the new key its person key is
recomputed, the contact sealed again, and every row carrying the old person key (service
records, invitations, users) of that person changed to the new one, in one transaction.
Records whose contacts were already deleted (after ``OTKLIK_RETENTION_DAYS``) keep their old
person key when nobody else's contact names that person: their SNILS is gone, which is the point
of deleting it; such a person counts as a new one in the "distinct respondents" figures that
span the rotation. Content fingerprints of stored records (duplicate detection of a re-sent
``record_id``) are keyed too and cannot be recomputed: a record re-sent after the rotation with
the same content is reported as a conflict, not a duplicate (see docs/deployment.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from sqlalchemy.ext.asyncio import AsyncSession

from otklik.intake import repository as intake_repository
from otklik.kit.pii import PiiVault
from otklik.ops import repository

BATCH = 2000


@dataclass
class Rotation:
    contacts: int = 0  # re-sealed under the new key
    already: int = 0  # sealed under the new key already (a repeated run)
    unreadable: int = 0  # under neither key: left as they are (they could not be sent anyway)
    people: int = 0  # distinct person keys replaced
    records: int = 0
    invitations: int = 0
    users: int = 0


async def rotate_pii(session: AsyncSession, old: PiiVault, new: PiiVault) -> Rotation:
    """Re-key everything in the caller's transaction (the caller commits, or nothing changed)."""
    done = Rotation()
    mapping: dict[bytes, bytes] = {}
    after = 0
    while True:
        rows = await repository.contacts_after(session, after, BATCH)
        if not rows:
            break
        changed: list[tuple[int, bytes, bytes]] = []
        for contact_id, person_key, sealed in rows:
            try:
                payload = old.open(sealed, person_key)
            except InvalidTag:
                try:
                    new.open(sealed, person_key)
                    done.already += 1
                except InvalidTag:
                    done.unreadable += 1
                continue
            key = new.person_key(str(payload["snils"]))
            mapping[person_key] = key
            changed.append((contact_id, key, new.seal(payload, key)))
        await intake_repository.reseal_contacts(session, changed)
        done.contacts += len(changed)
        after = rows[-1][0]
    done.people = len(mapping)
    done.records, done.invitations, done.users = await repository.replace_person_keys(
        session, mapping
    )
    return done
