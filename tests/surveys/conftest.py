"""Each test starts with empty per-process caches of questionnaire versions: a version
published inside a rolled-back test must not outlive it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from otklik.surveys import service


@pytest.fixture(autouse=True)
def fresh_version_caches() -> Iterator[None]:
    yield
    service.forget_cached_versions()
