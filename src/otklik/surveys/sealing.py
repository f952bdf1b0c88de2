"""Raw comments sealed for the masking worker: the web process holds only the public key.

``OTKLIK_COMMENT_KEY`` (the worker's private key, 32 bytes in URL-safe base64; ``otklik
keys comment-pair`` makes a pair) and ``OTKLIK_COMMENT_PUBLIC_KEY`` (web processes). When
the public key is unset it is computed from the private key, and when both are unset the
private key derives from ``OTKLIK_PII_KEY`` (development, or web and worker on one host).
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from otklik.config import Settings
from otklik.kit.pii import box_private_key, box_public_key, derived_box_key, open_box, seal_box


@lru_cache(maxsize=4)
def _private(encoded: str | None, pii_key: str) -> X25519PrivateKey:
    return box_private_key(encoded) if encoded else derived_box_key("comments/" + pii_key)


@lru_cache(maxsize=4)
def _public(encoded: str | None, private: str | None, pii_key: str) -> X25519PublicKey:
    return box_public_key(encoded) if encoded else _private(private, pii_key).public_key()


def private_key(settings: Settings) -> X25519PrivateKey:
    """The worker's key (never needed by a web process)."""
    return _private(settings.comment_key, settings.pii_key)


def public_key(settings: Settings) -> X25519PublicKey:
    """The key web processes seal with (computed once per process)."""
    return _public(settings.comment_public_key, settings.comment_key, settings.pii_key)


def seal(settings: Settings, text: str) -> bytes:
    return seal_box(public_key(settings), text.encode())


def unseal(settings: Settings, sealed: bytes) -> str:
    return open_box(private_key(settings), sealed).decode()
