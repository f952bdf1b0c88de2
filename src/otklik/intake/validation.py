"""Checks of one service record that need no database, and its privacy-safe form.

The result of a good record carries no SNILS, name or birth date: a person key, an age band
and sealed contacts. Checks that need the registry (organization, service) run in SQL on the
whole batch (see ``repository.check_staged``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from otklik.intake.messages import message
from otklik.kit.pii import PiiVault
from otklik.registry.validators import ogrn_is_valid, snils_digits, snils_is_valid

RECORD_FIELDS = frozenset(
    {
        "record_id",
        "organization_ogrn",
        "service_code",
        "served_at",
        "recipient",
        "representatives",
        "life_situation_code",
    }
)
PERSON_FIELDS = frozenset({"snils", "birth_date", "portal_account_confirmed", "email", "phone"})
REPRESENTATIVE_FIELDS = frozenset(
    {"snils", "relation", "portal_account_confirmed", "email", "phone"}
)
RELATIONS = frozenset({"parent", "adoptive_parent", "guardian", "trustee", "other"})
MAX_REPRESENTATIVES = 5
CLOCK_SKEW = timedelta(minutes=5)
RECORD_ID_RE = re.compile(r"^[\x21-\x7e]{1,100}$")
CODE_RE = re.compile(r"^[a-z0-9_.\-]{1,100}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", re.ASCII)
AGE_BANDS = ((7, "0-6"), (14, "7-13"), (18, "14-17"), (30, "18-29"), (45, "30-44"))
AGE_BANDS_OLDER = ((60, "45-59"), (75, "60-74"))


@dataclass(slots=True)
class Problem:
    field: str
    code: str
    message: str


@dataclass(slots=True)
class Person:
    """A recipient or representative: pseudonymous key and sealed contacts."""

    position: int  # 0 recipient, 1.. representatives
    relation: str | None
    person_key: bytes
    portal_account_confirmed: bool
    has_email: bool
    has_phone: bool
    sealed: bytes


@dataclass(slots=True)
class CleanRecord:
    record_id: str
    ogrn: str
    service_code: str
    served_at: datetime
    served_date: date
    life_situation_code: str | None
    content_hash: bytes
    age_band: str
    is_minor: bool
    people: list[Person] = field(default_factory=list)


def age_band(birth: date, on: date) -> str:
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    for limit, band in AGE_BANDS + AGE_BANDS_OLDER:
        if years < limit:
            return band
    return "75+"


def has_hidden_characters(text: str) -> bool:
    """NUL and other control characters, bidi overrides, zero-width and other format marks."""
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)


PHONE_RE = re.compile(r"^[0-9+\-() ]{1,30}$")
PHONE_PUNCTUATION = str.maketrans("", "", "+-() ")


def normalise_phone(value: str) -> str | None:
    """Russian mobile/landline numbers as +7XXXXXXXXXX; None when it is not one."""
    if not PHONE_RE.match(value):
        return None
    digits = value.translate(PHONE_PUNCTUATION)
    if len(digits) == 11 and digits[0] in "78":
        return "+7" + digits[1:]
    if len(digits) == 10 and not value.startswith("+"):
        return "+7" + digits
    return None


class _Checker:
    """Collects problems for one record; each check returns a cleaned value or None."""

    __slots__ = ("problems",)

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, code: str, **args: Any) -> None:
        self.problems.append(Problem(path, code, message(code, **args)))

    def unknown(self, obj: dict[str, Any], allowed: frozenset[str], prefix: str) -> None:
        for key in obj.keys() - allowed:
            self.add(f"{prefix}{key}"[:100], "unknown_field")

    def string(self, obj: dict[str, Any], key: str, path: str, *, required: bool) -> str | None:
        value = obj.get(key)
        if value is None or value == "":
            if required:
                self.add(path, "required")
            return None
        if not isinstance(value, str):
            self.add(path, "invalid_type", expected="строка")
            return None
        return value

    def flag(self, obj: dict[str, Any], key: str, path: str) -> bool:
        value = obj.get(key, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.add(path, "invalid_type", expected="true или false")
            return False
        return value

    def person(
        self, obj: Any, path: str, position: int, served: date, vault: PiiVault
    ) -> tuple[Person | None, str, date | None]:
        """Check a person object; returns it sealed, its canonical text and birth date."""
        if not isinstance(obj, dict):
            self.add(path, "invalid_type" if obj is not None else "required", expected="объект")
            return None, "", None
        before = len(self.problems)
        allowed = PERSON_FIELDS if position == 0 else REPRESENTATIVE_FIELDS
        self.unknown(obj, allowed, path + ".")
        snils = None
        raw_snils = self.string(obj, "snils", path + ".snils", required=True)
        if raw_snils is not None:
            snils = snils_digits(raw_snils)
            if snils is None or not snils_is_valid(snils):
                self.add(path + ".snils", "invalid_snils")
                snils = None
        birth = relation = None
        if position == 0:
            raw_birth = self.string(obj, "birth_date", path + ".birth_date", required=True)
            if raw_birth is not None:
                try:
                    if not DATE_RE.match(raw_birth):  # fromisoformat also takes 19800501
                        raise ValueError(raw_birth)
                    birth = date.fromisoformat(raw_birth)
                except ValueError:
                    self.add(path + ".birth_date", "invalid_date")
                else:
                    if birth > served or served.year - birth.year > 125:
                        self.add(path + ".birth_date", "implausible_birth_date")
                        birth = None
        else:
            relation = self.string(obj, "relation", path + ".relation", required=True)
            if relation is not None and relation not in RELATIONS:
                self.add(
                    path + ".relation", "invalid_relation", allowed=", ".join(sorted(RELATIONS))
                )
        portal = self.flag(obj, "portal_account_confirmed", path + ".portal_account_confirmed")
        email = self.string(obj, "email", path + ".email", required=False)
        if email is not None:
            if len(email) > 254 or not EMAIL_RE.match(email) or has_hidden_characters(email):
                self.add(path + ".email", "invalid_email")
            email = email.lower()
        phone = self.string(obj, "phone", path + ".phone", required=False)
        if phone is not None:
            phone = normalise_phone(phone)
            if phone is None:
                self.add(path + ".phone", "invalid_phone")
        if len(self.problems) > before or snils is None:
            return None, "", birth
        key = vault.person_key(snils)
        contacts = {"snils": snils, "email": email, "phone": phone}
        person = Person(
            position,
            relation,
            key,
            portal,
            email is not None,
            phone is not None,
            vault.seal(contacts, key),
        )
        canonical = f"{snils}|{birth}|{relation}|{portal}|{email}|{phone}"
        return person, canonical, birth


def parse_served_at(value: str) -> datetime | None:
    try:
        served = datetime.fromisoformat(value)
    except ValueError:
        return None
    if served.tzinfo is None:
        return None
    return served


def validate(
    obj: Any, *, now: datetime, retention: timedelta, vault: PiiVault
) -> CleanRecord | list[Problem]:
    """Check one record as received; return its privacy-safe form or its problems."""
    c = _Checker()
    if not isinstance(obj, dict):
        c.add("", "not_an_object")
        return c.problems
    c.unknown(obj, RECORD_FIELDS, "")
    record_id = c.string(obj, "record_id", "record_id", required=True)
    if record_id is not None and not RECORD_ID_RE.match(record_id):
        c.add("record_id", "invalid_record_id")
    ogrn = c.string(obj, "organization_ogrn", "organization_ogrn", required=True)
    if ogrn is not None and not ogrn_is_valid(ogrn):
        c.add("organization_ogrn", "invalid_ogrn")
    service = c.string(obj, "service_code", "service_code", required=True)
    if service is not None and not CODE_RE.match(service):
        c.add("service_code", "unknown_service")
    situation = c.string(obj, "life_situation_code", "life_situation_code", required=False)
    if situation is not None and not CODE_RE.match(situation):
        c.add("life_situation_code", "unknown_life_situation")
    served_at = None
    raw_served = c.string(obj, "served_at", "served_at", required=True)
    if raw_served is not None:
        served_at = parse_served_at(raw_served)
        if served_at is None:
            c.add("served_at", "invalid_datetime")
        elif served_at > now + CLOCK_SKEW:
            c.add("served_at", "served_in_future")
            served_at = None
        elif served_at < now - retention:
            c.add("served_at", "too_old", days=retention.days)
            served_at = None
    served_date = served_at.date() if served_at else now.date()
    recipient, canonical, birth = c.person(obj.get("recipient"), "recipient", 0, served_date, vault)
    people = [recipient] if recipient else []
    reps = obj.get("representatives") or []
    if not isinstance(reps, list):
        c.add("representatives", "invalid_type", expected="массив")
        reps = []
    elif len(reps) > MAX_REPRESENTATIVES:
        c.add("representatives", "too_many_representatives", limit=MAX_REPRESENTATIVES)
        reps = []
    parts = [canonical]
    for i, rep in enumerate(reps, start=1):
        person, text, _ = c.person(rep, f"representatives[{i - 1}]", i, served_date, vault)
        if person:
            people.append(person)
            parts.append(text)
    band = age_band(birth, served_date) if birth else ""
    minor = band in ("0-6", "7-13", "14-17")
    if minor and not obj.get("representatives"):  # not when they were given but refused
        c.add("representatives", "representative_required")
    if c.problems:
        return c.problems
    # no problems means every required value is present
    assert record_id is not None  # noqa: S101
    assert ogrn is not None  # noqa: S101
    assert service is not None  # noqa: S101
    assert served_at is not None  # noqa: S101
    utc = served_at.astimezone(UTC)
    canonical_record = orjson.dumps([ogrn, service, utc.isoformat(), situation, parts])
    return CleanRecord(
        record_id=record_id,
        ogrn=ogrn,
        service_code=service,
        served_at=utc,
        served_date=served_date,
        life_situation_code=situation,
        content_hash=vault.content_hash(canonical_record),
        age_band=band,
        is_minor=minor,
        people=people,
    )
