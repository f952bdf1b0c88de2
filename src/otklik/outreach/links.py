"""Personal questionnaire links: a token derived from the invitation's id with the secret key.

The token (192 bits, URL-safe) is never stored, only its SHA-256; deriving it lets a retry or a
reminder carry exactly the link that was sent before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid


def link_token(secret: str, public_id: uuid.UUID) -> str:
    mac = hmac.digest(secret.encode(), b"otklik/invitation/" + public_id.bytes, "sha256")
    return base64.urlsafe_b64encode(mac[:24]).decode()


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def link_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/s/{token}"
