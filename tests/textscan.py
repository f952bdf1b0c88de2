"""Detectors for text a person must never read on a page: raw codes, decimal points and
percent signs that a line break can part from their number.

Used by the page scan (tests/e2e/test_presentation.py) on each page's visible text, and proved
able to fail by tests/test_textscan.py.

The rules, precisely:

* **Raw code** — a lower-case Latin word with an underscore (``no_confirmed_account``,
  ``sampled_out``, ``source_id``): the shape of an enum value or a column name. E-mail
  addresses, web addresses and file names are removed first (``demo_user@…``,
  ``https://…/a_b``, ``report_2026.xlsx`` are legitimate).
* **JSON** — an object literal as a program prints it: ``{"key": …}`` or ``{'key': …}``.
* **Decimal point** — two groups of digits joined by one point, standing alone
  (``82.1``, ``4.50``, ``0.3``): Russian text wants a decimal comma. Not flagged: longer dotted
  runs such as dates (``07.12.2026``), addresses or three-part versions (``1.2.3``), which are
  not numbers; ranges written with two points (``2026-11-01..2026-11-30``); a number right
  after the word "версия" in any case form, after "v" or after a licence name (``версия 1.0``,
  ``CC BY 4.0``); and a year-point-number ``20YY.N`` (``2025.1``), the form in which the project
  names questionnaire and methodology versions (a quantity between 2000 and 2099 with one or
  two decimals would be missed: an accepted gap).

* **Loose percent sign** — a number followed by an ordinary space and "%" (``41,9 %``): the
  line may break between them; the formatter writes a non-breaking space (``41,9\u00a0%``).
  "%" glued to the number (``95%``) is not flagged by this rule.

The page scan leaves out text inside ``<code>``, ``<kbd>`` and ``<samp>``: a code a person is
meant to read or type (a file's column name, a catalogue code) is marked up as code; everything
else must be words.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"\S+@\S+")
_URL = re.compile(r"(?:https?://|/)\S+")
_FILE = re.compile(r"\S+\.(?:xlsx|csv|docx|pdf|json|zip|xml|txt|svg|png)\b", re.IGNORECASE)
_CODE = re.compile(r"(?<![\w-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w-])")
_JSON = re.compile(r"\{\s*[\"'][^\"'\n]{0,60}[\"']\s*:")
_DECIMAL = re.compile(r"(?<![\d.,])(\d+)\.(\d+)(?![\d]|\.\d)")
_VERSION = re.compile(r"(?:верси[яиюей]\w*|v|CC BY|Attribution)\s*(?:№\s*)?$", re.IGNORECASE)
_YEAR_VERSION = re.compile(r"20\d\d\.\d\d?")
_LOOSE_PERCENT = re.compile(r"\d[ \t\n]+%")


def raw_codes(text: str) -> list[str]:
    """Snake_case codes and JSON objects in ``text`` (after removing addresses and files)."""
    found = _JSON.findall(text)
    cleaned = _FILE.sub(" ", _URL.sub(" ", _EMAIL.sub(" ", text)))
    return found + _CODE.findall(cleaned)


def decimal_points(text: str) -> list[str]:
    """Numbers written with a decimal point where a comma is due, with a little context."""
    found = []
    for m in _DECIMAL.finditer(text):
        before = text[max(0, m.start() - 20) : m.start()]
        if _VERSION.search(before) or _YEAR_VERSION.fullmatch(m.group(0)):
            continue
        found.append(text[max(0, m.start() - 15) : m.end() + 5].replace("\n", " "))
    return found


def loose_percents(text: str) -> list[str]:
    """Percent signs separated from their number by a breakable space, with a little context."""
    return [
        text[max(0, m.start() - 15) : m.end() + 5].replace("\n", " ")
        for m in _LOOSE_PERCENT.finditer(text)
    ]
