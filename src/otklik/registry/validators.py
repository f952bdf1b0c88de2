"""Checksums of Russian registration numbers."""

from __future__ import annotations

import re
from operator import mul

_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)


def ogrn_is_valid(value: str) -> bool:
    """OGRN of a legal entity: 13 digits, the last is (first 12 mod 11) mod 10."""
    if len(value) != 13 or not value.isascii() or not value.isdigit():
        return False
    return int(value[:12]) % 11 % 10 == int(value[12])


def inn_is_valid(value: str) -> bool:
    """INN of a legal entity: 10 digits with a weighted checksum."""
    if len(value) != 10 or not value.isascii() or not value.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value, _INN10_WEIGHTS, strict=False))
    return total % 11 % 10 == int(value[9])


def ogrn_with_checksum(first12: str) -> str:
    return first12 + str(int(first12) % 11 % 10)


def inn_with_checksum(first9: str) -> str:
    total = sum(int(d) * w for d, w in zip(first9, _INN10_WEIGHTS, strict=True))
    return first9 + str(total % 11 % 10)


_SNILS_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, 1)


def _snils_checksum(first9: str) -> int:
    total: int = sum(map(mul, map(int, first9), _SNILS_WEIGHTS))
    return total % 101 % 100


SNILS_RE = re.compile(r"^[0-9]{3}-?[0-9]{3}-?[0-9]{3}[ -]?[0-9]{2}$", re.ASCII)


def snils_digits(value: str) -> str | None:
    """The 11 digits of a SNILS written as ``112-233-445 95`` or ``11223344595``; else None."""
    if not SNILS_RE.match(value):
        return None
    return value.replace("-", "").replace(" ", "")


def snils_is_valid(digits: str) -> bool:
    """SNILS checksum: weighted sum of the first 9 digits (weights 9..1), mod 101, 100 -> 00.

    Numbers up to 001-001-998 were issued before checksums existed and are not checked;
    a number of one repeated digit (000-000-000 00 …) is never valid.
    """
    if len(digits) != 11 or not digits.isdigit():
        return False
    if len(set(digits[:9])) == 1:  # 000-000-000, 111-111-111 …: never issued
        return False
    if int(digits[:9]) <= 1001998:
        return True
    return _snils_checksum(digits[:9]) == int(digits[9:])


def snils_with_checksum(first9: str) -> str:
    return f"{first9}{_snils_checksum(first9):02d}"
