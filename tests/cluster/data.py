"""The topology test's input stream and what it must lead to, computed from the inputs alone.

People come back (a quarter of the records are a person seen before, half of those at an
organization that served them before), some have no confirmed portal account, some records are
a child's with a parent as representative, some messages are published twice and some are
invalid. ``expect`` applies the rules of docs/outreach.md to these inputs by hand: one
invitation per person and organization in 30 days, at most two per person in 7 days, none
without a confirmed account; the portal refuses the people ``sinks.rejects`` names, who then
get an e-mail.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from otklik.registry.validators import snils_with_checksum
from tests.cluster.sinks import rejects

FATIGUE_ORGANIZATION_MAX = 1
FATIGUE_WEEK_MAX = 2


@dataclass(frozen=True)
class Person:
    index: int
    digits: str
    confirmed: bool

    @property
    def snils(self) -> str:
        d = self.digits
        return f"{d[:3]}-{d[3:6]}-{d[6:9]} {d[9:]}"

    @property
    def email(self) -> str:
        return f"p{self.index}@cluster.example"


@dataclass
class Inputs:
    messages: list[bytes] = field(default_factory=list)  # in publishing order
    records: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> (invitee, org)
    people: list[Person] = field(default_factory=list)
    duplicates: int = 0
    invalid: int = 0


@dataclass(frozen=True)
class Expected:
    stored: int
    invitations: int
    no_account: int  # records skipped: the invitee has no confirmed account
    fatigued: int  # records skipped by either fatigue rule
    portal_refused: int  # invitations the portal refuses: each goes out by e-mail


def _person(i: int, rng: random.Random) -> Person:
    return Person(i, snils_with_checksum(f"{i + 200_000_000:09d}"), rng.random() < 0.9)


def make_inputs(n: int, ogrns: list[str], seed: int = 19) -> Inputs:
    """``n`` distinct valid records, plus 2 % of them published again and 1 % invalid."""
    rng = random.Random(seed)
    out = Inputs()
    seen_orgs: dict[int, list[int]] = defaultdict(list)
    now = datetime.now(UTC)
    valid: list[bytes] = []
    for i in range(n):
        if out.people and rng.random() < 0.25:
            p = out.people[rng.randrange(len(out.people))]
            org = (
                rng.choice(seen_orgs[p.index]) if rng.random() < 0.5 else rng.randrange(len(ogrns))
            )
        else:
            p = _person(len(out.people), rng)
            out.people.append(p)
            org = rng.randrange(len(ogrns))
        seen_orgs[p.index].append(org)
        contact = {"snils": p.snils, "portal_account_confirmed": p.confirmed, "email": p.email}
        record: dict[str, Any] = {
            "record_id": f"C-{i}",
            "organization_ogrn": ogrns[org],
            "service_code": "health.outpatient_visit",
            "served_at": (now - timedelta(minutes=rng.randint(10, 600))).isoformat(),
        }
        if rng.random() < 0.03:  # a child's record: the parent is invited
            child = snils_with_checksum(f"{i + 700_000_000:09d}")
            record["recipient"] = {"snils": child, "birth_date": "2016-01-01"}
            record["representatives"] = [{**contact, "relation": "parent"}]
        else:
            record["recipient"] = {**contact, "birth_date": "1980-05-01"}
        out.records[record["record_id"]] = (p.index, org)
        valid.append(orjson.dumps(record))
    again = [valid[rng.randrange(n)] for _ in range(n // 50)]
    broken = [_invalid(k, ogrns[0], now) for k in range(n // 100)]
    out.duplicates, out.invalid = len(again), len(broken)
    out.messages = valid + again + broken
    rng.shuffle(out.messages)
    return out


def _invalid(k: int, ogrn: str, now: datetime) -> bytes:
    """One error each: a truncated message, a SNILS with a wrong checksum, an unknown field."""
    good = {
        "record_id": f"BAD-{k}",
        "organization_ogrn": ogrn,
        "service_code": "health.outpatient_visit",
        "served_at": (now - timedelta(hours=1)).isoformat(),
        "recipient": {"snils": "112-233-445 95", "birth_date": "1980-05-01"},
    }
    kind = k % 3
    if kind == 0:
        return orjson.dumps(good)[:-7]
    if kind == 1:
        good["recipient"] = {"snils": "112-233-445 96", "birth_date": "1980-05-01"}
        return orjson.dumps(good)
    return orjson.dumps({**good, "e_mail": "x@example.ru"})


def expect(inputs: Inputs) -> Expected:
    orgs: dict[int, set[int]] = defaultdict(set)
    no_account = confirmed = 0
    for person, org in inputs.records.values():
        if inputs.people[person].confirmed:
            confirmed += 1
            orgs[person].add(org)
        else:
            no_account += 1
    # Whatever the order the planners see them in, a person gets one invitation per
    # organization (FATIGUE_ORGANIZATION_MAX = 1) until the weekly budget (FATIGUE_WEEK_MAX)
    # is spent.
    per_person = {p: min(FATIGUE_WEEK_MAX, len(s)) for p, s in orgs.items()}
    invitations = sum(per_person.values())
    refused = sum(k for p, k in per_person.items() if rejects(inputs.people[p].digits))
    return Expected(
        stored=len(inputs.records),
        invitations=invitations,
        no_account=no_account,
        fatigued=confirmed - invitations,
        portal_refused=refused,
    )
