"""Masking personal data in free text before it is stored.

A minimal version (markup stripped, e-mails and phones masked); the full one (names, SNILS,
cards, addresses) replaces this file with the same signature.
"""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<[^>]{0,2000}>")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\d)(?:\+7|8)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d)")


def mask_personal_data(text: str) -> str:
    """``text`` without markup, with e-mails and phone numbers replaced by placeholders."""
    plain = html.unescape(_TAG.sub(" ", text))
    plain = _TAG.sub(" ", plain)
    plain = _EMAIL.sub("[e-mail]", plain)
    plain = _PHONE.sub("[телефон]", plain)
    return re.sub(r"[ \t]{2,}", " ", plain).strip()
