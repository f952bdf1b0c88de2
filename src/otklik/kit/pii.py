"""Personal data at rest: pseudonymous keys (keyed hashes) and sealed contacts (AES-GCM).

Both keys are derived from ``OTKLIK_PII_KEY``; losing it makes sealed contacts unreadable and
person keys incomparable with new ones, which is the point.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


def _derive(secret: str, label: bytes) -> bytes:
    return hmac.new(secret.encode(), b"otklik/" + label, hashlib.sha256).digest()


class PiiVault:
    """Keyed hashing and authenticated encryption for personal data."""

    def __init__(self, secret: str) -> None:
        self._person = _derive(secret, b"person-key")
        self._content = _derive(secret, b"content-hash")
        self._aead = AESGCM(_derive(secret, b"contacts"))

    def person_key(self, snils_digits: str) -> bytes:
        """A stable pseudonym for a person: HMAC-SHA256 of the 11 SNILS digits."""
        return hmac.digest(self._person, snils_digits.encode(), "sha256")

    def content_hash(self, canonical: bytes) -> bytes:
        """A keyed fingerprint of a record's content (it contains personal data)."""
        return hmac.digest(self._content, canonical, "sha256")

    def seal(self, payload: dict[str, Any], bound_to: bytes) -> bytes:
        """Encrypt ``payload``; ``bound_to`` (the person key) must match when opening."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, orjson.dumps(payload), bound_to)

    def open(self, sealed: bytes, bound_to: bytes) -> dict[str, Any]:
        data = self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], bound_to)
        result: dict[str, Any] = orjson.loads(data)
        return result
