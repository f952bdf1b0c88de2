from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from otklik.registry.validators import (
    inn_is_valid,
    inn_with_checksum,
    ogrn_is_valid,
    ogrn_with_checksum,
)

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


def test_known_real_numbers() -> None:
    assert ogrn_is_valid("1027700132195")  # Сбербанк
    assert inn_is_valid("7707083893")
    assert not ogrn_is_valid("1027700132194")
    assert not inn_is_valid("7707083894")
    assert not ogrn_is_valid("102770013219")  # 12 digits
    assert not ogrn_is_valid("10277001321９5")  # a non-ASCII digit


@given(st.text(alphabet="0123456789", min_size=12, max_size=12), st.integers(0, 11), digits)
def test_ogrn_any_changed_digit_is_caught_or_same(first12: str, pos: int, d: str) -> None:
    good = ogrn_with_checksum(first12)
    assert ogrn_is_valid(good)
    bad = good[:12] + str((int(good[12]) + 1) % 10)
    assert not ogrn_is_valid(bad)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_inn_checksum_roundtrip(first9: str) -> None:
    good = inn_with_checksum(first9)
    assert inn_is_valid(good)
    assert not inn_is_valid(good[:9] + str((int(good[9]) + 1) % 10))
