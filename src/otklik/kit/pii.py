"""Personal data at rest: pseudonymous keys (keyed hashes), sealed contacts (AES-GCM) and
sealed boxes (X25519 + AES-GCM: the web seals raw comments that only the masking worker opens).

Both keys are derived from ``OTKLIK_PII_KEY``; losing it makes sealed contacts unreadable and
person keys incomparable with new ones, which is the point.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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


# --- sealed boxes: anyone with the public key seals, only the private key's holder opens ---

_BOX_INFO = b"otklik/sealed-box/v1"
_X25519_BYTES = 32


def _box_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> AESGCM:
    material = HKDF(hashes.SHA256(), 32, salt=ephemeral + recipient, info=_BOX_INFO)
    return AESGCM(material.derive(shared))


def box_private_key(encoded: str) -> X25519PrivateKey:
    """An X25519 private key from 32 bytes in URL-safe base64 (``encode_key``)."""
    return X25519PrivateKey.from_private_bytes(_decode(encoded))


def derived_box_key(secret: str) -> X25519PrivateKey:
    """A private key derived from a secret (development, or one host holding every key)."""
    return X25519PrivateKey.from_private_bytes(_derive(secret, b"sealed-box"))


def _decode(encoded: str) -> bytes:
    raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    if len(raw) != _X25519_BYTES:
        raise ValueError("an X25519 key is 32 bytes")
    return raw


def encode_key(key: X25519PrivateKey | X25519PublicKey) -> str:
    if isinstance(key, X25519PrivateKey):
        raw = key.private_bytes_raw()
    else:
        raw = key.public_bytes_raw()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def box_public_key(encoded: str) -> X25519PublicKey:
    """A public key from its URL-safe base64 form (``encode_key``)."""
    return X25519PublicKey.from_public_bytes(_decode(encoded))


def seal_box(recipient: X25519PublicKey, plaintext: bytes) -> bytes:
    """Encrypt for the holder of the private key: a fresh X25519 key per message (so the sealer
    keeps nothing that opens it), HKDF-SHA256, AES-256-GCM. Layout: ephemeral public key (32),
    nonce (12), ciphertext with its tag."""
    ephemeral = X25519PrivateKey.generate()
    epub = ephemeral.public_key().public_bytes_raw()
    aead = _box_key(ephemeral.exchange(recipient), epub, recipient.public_bytes_raw())
    nonce = os.urandom(NONCE_BYTES)
    return epub + nonce + aead.encrypt(nonce, plaintext, None)


def open_box(key: X25519PrivateKey, sealed: bytes) -> bytes:
    """The plaintext of ``seal_box``; ``cryptography.exceptions.InvalidTag`` for another key."""
    epub, rest = sealed[:_X25519_BYTES], sealed[_X25519_BYTES:]
    shared = key.exchange(X25519PublicKey.from_public_bytes(epub))
    aead = _box_key(shared, epub, key.public_key().public_bytes_raw())
    return aead.decrypt(rest[:NONCE_BYTES], rest[NONCE_BYTES:], None)
