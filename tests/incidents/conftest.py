"""Fixtures of the incident tests: the local SMTP server of the outreach tests."""

from __future__ import annotations

from tests.outreach.conftest import smtp  # noqa: F401 - the local SMTP server fixture
