"""Personal questionnaire links: a token derived from the invitation's id with the secret key.

The token (192 bits, URL-safe) is never stored, only its SHA-256; deriving it lets a retry or a
reminder carry exactly the link that was sent before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

LINK = b"otklik/invitation/"


def link_token(secret: str, public_id: uuid.UUID) -> str:
    mac = hmac.digest(secret.encode(), LINK + public_id.bytes, "sha256")
    return base64.urlsafe_b64encode(mac[:24]).decode()


def hmac_pads(secret: str) -> tuple[bytes, bytes]:
    """The inner and outer HMAC-SHA256 keys (RFC 2104): ``sha256(outer || sha256(inner || m))``
    is ``hmac.digest(secret, m, "sha256")``, so PostgreSQL can derive link tokens with its
    built-in ``sha256()`` (the planner hashes them in SQL, ``repository.PLAN_BATCH``)."""
    key = secret.encode()
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def link_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/s/{token}"


# The opt-out link (List-Unsubscribe): the invitation's public id and a MAC over it, so the
# URL names no person, contact or SNILS and cannot be forged or guessed; the person key it
# leads to is looked up from the invitation.
_OPTOUT = b"otklik/optout/"


def optout_token(secret: str, public_id: uuid.UUID) -> str:
    mac = hmac.digest(secret.encode(), _OPTOUT + public_id.bytes, "sha256")[:16]
    return base64.urlsafe_b64encode(public_id.bytes + mac).decode().rstrip("=")


def optout_public_id(secret: str, token: str) -> uuid.UUID | None:
    """The invitation's public id of a genuine opt-out token; None for anything else."""
    if len(token) != 43:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=")
    except ValueError:
        return None
    if len(raw) != 32:
        return None
    public_id = uuid.UUID(bytes=raw[:16])
    mac = hmac.digest(secret.encode(), _OPTOUT + raw[:16], "sha256")[:16]
    return public_id if hmac.compare_digest(mac, raw[16:]) else None


def optout_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/unsubscribe/{token}"
